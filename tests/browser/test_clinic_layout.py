"""The staff pages on a phone, on a desktop, with the keyboard only, and on paper.

A clinic with a full list (more submissions than one page holds), an urgent submission with
long answers, a long review note and earlier reviews, and a colleague with a long address.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from support.answer_sets import LONGEST

from questionnaire.clinic import store

from .conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    Session,
    axe_violations,
    printed_pages,
    wait_for_path,
)
from .test_clinic_pages import helpers, sign_in

pytestmark = pytest.mark.browser

# The narrowest screen the pages are made for (WCAG reflow: 320 CSS pixels wide).
NARROW = 320
URGENT_PATIENT = "Wilhelmina Alexandra Constantinopoulou-Vanderbilt"
FIRST_NOTE = "First look: called the patient.\nAsked about the fever."
LONG_NOTE = (
    "Spoke to the GP about the blood thinner plan. " * 30
    + "\nhttps://records.example.org/patients/123456789/notes/a/long/address/with/no/spaces"
)
# More than one page of the list (50 a page).
CALM_SUBMISSIONS = 55


@dataclass(frozen=True)
class BusyClinic:
    admin_email: str
    password: str
    colleague_id: int
    urgent_id: int


@pytest.fixture(scope="module")
def busy(live_server: LiveServer) -> BusyClinic:
    app = live_server.app
    clinic_id = helpers.make_clinic(app, "east", "East Spine Clinic")
    admin = helpers.make_staff(
        app, clinic_id, "ward.admin@east.example", role="admin", name="Margaret Okonkwo-Fitzgerald"
    )
    colleague = helpers.make_staff(
        app,
        clinic_id,
        "bartholomew.featherstonehaugh.physician@eastspineclinic.example",
        name="Dr Bartholomew Featherstonehaugh",
    )
    now = datetime.now(UTC)
    for number in range(CALM_SUBMISSIONS):
        helpers.make_submission(
            app,
            clinic_id,
            {"blood_thinners": "yes"} if number % 3 == 0 else None,
            name=f"Calm Patient {number:02d}",
            created_at=now - timedelta(hours=number + 1),
        )
    urgent_id = helpers.make_submission(
        app,
        clinic_id,
        {
            **LONGEST,
            "allergy_other": ("penicillin, codeine, sticking plasters, iodine, " * 5)[:200],
            "diagnosis_details": ("Sciatica from a slipped disc, seen on a scan in 2025. " * 4)[
                :200
            ],
        },
        name=URGENT_PATIENT,
    )
    with app.app_context():
        store.mark_reviewed(clinic_id, urgent_id, colleague.id, FIRST_NOTE)
        store.mark_reviewed(clinic_id, urgent_id, admin.id, None)
        store.mark_reviewed(clinic_id, urgent_id, admin.id, LONG_NOTE)
    return BusyClinic(admin.email, admin.password, colleague.id, urgent_id)


@pytest.fixture
def staff_page(
    new_session: Callable[..., Session], live_server: LiveServer, busy: BusyClinic
) -> Page:
    """The administrator, signed in, on the list of submissions."""
    page = new_session().page
    sign_in(page, live_server.app, busy.admin_email, busy.password)
    return page


def staff_paths(busy: BusyClinic) -> list[str]:
    return [
        "/clinic/",
        f"/clinic/submissions/{busy.urgent_id}",
        "/clinic/account",
        "/clinic/staff",
        "/clinic/staff/new",
        f"/clinic/staff/{busy.colleague_id}/reset",
        f"/clinic/staff/{busy.colleague_id}/disable",
        "/clinic/audit",
        "/clinic/submissions/999999",
    ]


def page_width(page: Page) -> tuple[int, int]:
    width, screen = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    return width, screen


@pytest.mark.parametrize("width", [NARROW, PHONE])
def test_no_staff_page_is_wider_than_a_phone_and_axe_finds_nothing(
    staff_page: Page, busy: BusyClinic, width: int
) -> None:
    # A table wider than the screen scrolls on its own; the page around it stays put.
    staff_page.set_viewport_size({"width": width, "height": 800})
    problems = []
    for path in staff_paths(busy):
        staff_page.goto(path)
        scrolled, screen = page_width(staff_page)
        if scrolled > screen:
            problems.append(f"{path} is {scrolled}px wide")
        problems += [f"{path}: {line}" for line in axe_violations(staff_page)]
    assert not problems, f"on a {width}px screen: {problems}"


def assert_across_the_screen(page: Page, elements: list[Locator], width: int) -> None:
    """Each element is within the screen's width, and the table around it does not scroll
    sideways: on a phone, one record's details stand one under another."""
    for element in elements:
        box = element.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, (
            f"{element.inner_text()!r} ends at {box} on a {width}px screen"
        )
    wrapper = page.locator(".table-wrapper")
    scrolled, visible = wrapper.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert scrolled <= visible, f"the table is {scrolled}px wide in {visible}px"


@pytest.mark.parametrize("width", [NARROW, PHONE])
def test_on_a_phone_the_list_shows_each_submissions_flags_without_scrolling_sideways(
    staff_page: Page, width: int
) -> None:
    page = staff_page
    page.set_viewport_size({"width": width, "height": 800})
    row = page.locator("tbody tr", has_text=URGENT_PATIENT)
    badges = row.locator(".badge")
    expect(badges).to_have_count(5)
    assert_across_the_screen(page, [*badges.all(), row.get_by_text("Reviewed", exact=True)], width)
    # The dates say what they are; the column names stay the table's for screen readers.
    expect(row.get_by_text("Appointment", exact=True)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Flags")).to_have_count(1)
    assert not axe_violations(page)

    page.set_viewport_size({"width": DESKTOP, "height": 800})
    expect(page.locator("thead")).to_be_visible()
    expect(row.get_by_text("Appointment", exact=True)).to_be_hidden()


@pytest.mark.parametrize("width", [NARROW, PHONE])
def test_on_a_phone_the_staff_list_shows_each_colleagues_status_and_actions(
    staff_page: Page, width: int
) -> None:
    page = staff_page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/clinic/staff")
    row = page.locator("tbody tr", has_text="Dr Bartholomew Featherstonehaugh")
    shown = [
        row.get_by_text("bartholomew.featherstonehaugh.physician@eastspineclinic.example"),
        row.get_by_text("Active", exact=True),
        row.get_by_role("link", name="Reset sign-in for Dr Bartholomew Featherstonehaugh"),
        row.get_by_role("link", name="Turn off the account of Dr Bartholomew Featherstonehaugh"),
    ]
    assert_across_the_screen(page, shown, width)
    assert not axe_violations(page)


def contrast_with_white(colour: str) -> float:
    """The contrast ratio (WCAG) of a computed ``rgb()``/``rgba()`` colour against white; a
    colour that is mostly see-through counts as white."""
    parts = [float(value) for value in re.findall(r"[\d.]+", colour)]
    if len(parts) == 4 and parts[3] < 0.5:
        return 1.0

    def linear(channel: float) -> float:
        channel /= 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(value) for value in parts[:3])
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)


# The colours a focused element is ringed with: its outline, and each box shadow at least
# 2px wide.
FOCUS_RING = r"""
(e) => {
  const style = getComputedStyle(e);
  const colours = [];
  if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) {
    colours.push(style.outlineColor);
  }
  const shadow = /(rgba?\([^)]*\)) (-?[\d.]+)px (-?[\d.]+)px ([\d.]+)px (-?[\d.]+)px/g;
  for (const m of style.boxShadow.matchAll(shadow)) {
    const reach = Math.max(Math.abs(+m[2]), Math.abs(+m[3]), +m[5]);
    if (reach >= 2) colours.push(m[1]);
  }
  return colours;
}
"""


def test_a_table_that_scrolls_shows_clearly_when_the_keyboard_is_on_it(
    staff_page: Page,
) -> None:
    page = staff_page
    page.set_viewport_size({"width": PHONE, "height": 800})
    page.goto("/clinic/staff")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('table-wrapper')"):
            break
    else:
        raise AssertionError("Tab never reached the table of staff accounts")
    colours = page.evaluate(f"({FOCUS_RING})(document.activeElement)")
    best = max((contrast_with_white(colour) for colour in colours), default=1.0)
    # WCAG 1.4.11: what shows focus has a contrast of at least 3:1 with the page.
    assert best >= 3, f"the focused table is ringed with {colours} (best contrast {best:.2f}:1)"


@pytest.mark.parametrize("width", [NARROW, DESKTOP])
def test_with_the_keyboard_only_and_no_javascript_a_submission_is_found_and_reviewed(
    new_session: Callable[..., Session], live_server: LiveServer, busy: BusyClinic, width: int
) -> None:
    page = new_session(javascript=False, width=width).page
    sign_in(page, live_server.app, busy.admin_email, busy.password)

    def tab_to(selector: str) -> None:
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("(s) => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector} on {page.url}")

    tab_to("#urgent")
    page.keyboard.press("Space")
    tab_to("button[type='submit'].button:not(.clinic-nav__button)")
    page.keyboard.press("Enter")
    expect(page.locator(".clinic-count")).to_have_text(re.compile(r"^1 submission matches\."))
    tab_to(f"a[href='/clinic/submissions/{busy.urgent_id}']")
    page.keyboard.press("Enter")
    wait_for_path(page, f"/clinic/submissions/{busy.urgent_id}")

    tab_to("#note")
    page.keyboard.press("Control+A")
    page.keyboard.type("Checked again.")
    tab_to("button[type='submit'].button:not(.clinic-nav__button)")
    page.keyboard.press("Enter")
    wait_for_path(page, f"/clinic/submissions/{busy.urgent_id}")
    # The confirmation is the first thing in the page's main part, where the skip link
    # leads; the clinic's navigation is the header's, not inside another navigation.
    status = page.locator("main").get_by_role("status")
    expect(status).to_have_text("Marked as reviewed.")
    expect(page.locator("nav nav")).to_have_count(0)
    expect(page.get_by_role("banner").get_by_role("navigation", name="Clinic")).to_be_visible()
    expect(page.locator(".summary-list__value.review-note").first).to_have_text("Checked again.")
    scrolled, screen = page_width(page)
    assert scrolled <= screen


def line_count(element: Locator) -> int:
    """The lines an element's text takes on the screen."""
    count: int = element.evaluate(
        """(e) => {
          const range = document.createRange();
          range.selectNodeContents(e);
          return new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top))).size;
        }"""
    )
    return count


# Paper is narrower than a desktop screen: A4 less the margins of static/css/print.css
# (13 mm each side) is 184 mm, about 695 CSS pixels.
PAPER_WIDTH = 695


def print_layout(page: Page) -> None:
    """The page laid out as the browser prints it on A4."""
    page.set_viewport_size({"width": PAPER_WIDTH, "height": 1000})
    page.emulate_media(media="print")


def sticking_out(page: Page) -> list[str]:
    """What in the page's main part reaches past its right edge (and is lost on paper)."""
    found: list[str] = page.evaluate(
        """() => {
          const edge = document.querySelector("main").getBoundingClientRect().right + 1;
          return Array.from(document.querySelectorAll("main *"))
            .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > edge)
            .map((e) => `${e.tagName.toLowerCase()}: ${e.textContent.trim().slice(0, 60)}`);
        }"""
    )
    return found


def test_the_audit_log_shows_and_prints_each_detail_in_full(
    staff_page: Page, require: Callable[[bool, str], None]
) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    page = staff_page
    # Opening the list wrote an audit row naming the 50 submissions it showed, in one run of
    # ids with no space in it.
    page.goto("/clinic/audit")
    detail = page.locator("td", has_text=re.compile(r"ids=(\d+,){49}\d+")).first
    text = detail.inner_text()
    wrapper = page.locator(".table-wrapper")
    scrolled, visible = wrapper.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert scrolled <= visible, f"the audit log is {scrolled}px wide in {visible}px"
    # Each time reads as one, on one line.
    when = page.locator("tbody tr").first.locator("td").first
    assert line_count(when) == 1, f"{when.inner_text()!r} takes {line_count(when)} lines"

    print_layout(page)
    assert not sticking_out(page)
    printed = printed_pages(page, "A4", "clinic-audit-print-a4")[0]
    assert "".join(text.split()) in "".join(printed.split()), (
        f"the first page of the printed audit log does not hold all of {text!r}"
    )


def test_a_printed_submission_holds_what_the_paper_file_needs(
    staff_page: Page, busy: BusyClinic
) -> None:
    page = staff_page
    page.goto(f"/clinic/submissions/{busy.urgent_id}")
    # Printed just after a review, as staff do: the page then says "Marked as reviewed.".
    page.get_by_role("button", name="Mark as reviewed").click()
    expect(page.get_by_role("status")).to_have_text("Marked as reviewed.")
    print_layout(page)
    expect(page.get_by_role("status")).to_be_hidden()
    main = page.locator("main")
    expect(main.locator("h1")).to_have_text(URGENT_PATIENT)
    for text in ("Date of birth", "Appointment", "Urgent", "Allergies", "Earlier reviews"):
        expect(main.get_by_text(text, exact=True).first).to_be_visible()
    expect(page.locator(".urgent-box")).to_be_visible()
    expect(main.get_by_text("Asked about the fever.")).to_be_visible()
    expect(main.locator(".review-note", has_text=LONG_NOTE.split()[-1]).first).to_be_visible()
    expect(page.get_by_role("heading", name="Why: the rules that applied")).to_be_visible()
    for hidden in ("header.header", "footer.footer", ".back-link", "form"):
        for element in page.locator(hidden).all():
            expect(element).to_be_hidden()
    assert not sticking_out(page)


# The patient pages' column, less its padding: the line length of running text.
TEXT_WIDTH = 730

# The lines each cell of a column takes, for every row of the table on the page: the column is
# found by its heading, as a reader finds it.
COLUMN_LINES = """(name) => {
  const table = document.querySelector("main table");
  const headings = Array.from(table.tHead.rows[0].cells, (cell) => cell.textContent.trim());
  const index = headings.indexOf(name);
  if (index < 0) throw new Error(`no column ${name} in ${headings}`);
  return Array.from(table.tBodies[0].rows, (row) => {
    const range = document.createRange();
    range.selectNodeContents(row.cells[index]);
    const tops = Array.from(range.getClientRects(), (r) => Math.round(r.top));
    return [row.cells[index].textContent.trim(), new Set(tops).size];
  });
}"""

# The widest block of running text in the main part: paragraphs, lists and forms, leaving out
# the tables and the list's filters, which may use the whole width.
WIDEST_TEXT = """() => Math.max(0, ...Array.from(
  document.querySelectorAll("main p, main dl, main ul, main ol, main form, main .urgent-box"))
  .filter((e) => e.getClientRects().length && !e.closest(".table-wrapper, .filters"))
  .map((e) => e.getBoundingClientRect().width))"""


def wrapped_cells(page: Page, columns: tuple[str, ...]) -> list[str]:
    found = []
    for column in columns:
        cells: list[tuple[str, int]] = page.evaluate(COLUMN_LINES, column)
        assert cells, f"no rows in the table on {page.url}"
        found += [f"{column}: {text!r} takes {lines} lines" for text, lines in cells if lines != 1]
    return found


@pytest.mark.parametrize(
    ("path", "one_line"),
    [("/clinic/", ("Appointment", "Sent", "Reviewed")), ("/clinic/audit", ("When",))],
    ids=["list", "audit"],
)
def test_on_a_desktop_a_table_uses_the_width_and_each_date_takes_one_line(
    staff_page: Page, path: str, one_line: tuple[str, ...]
) -> None:
    page = staff_page
    page.set_viewport_size({"width": DESKTOP, "height": 800})
    page.goto(path)
    assert not wrapped_cells(page, one_line)
    scrolled, screen = page_width(page)
    assert scrolled <= screen, f"{path} is {scrolled}px wide on a {screen}px screen"
    wrapper = page.locator(".table-wrapper")
    scrolled, visible = wrapper.evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert scrolled <= visible, f"the table is {scrolled}px wide in {visible}px"
    # The table has more room than the patient pages' column; the text around it does not.
    assert visible > TEXT_WIDTH + 300, f"the table has {visible}px on a {DESKTOP}px screen"
    widest = page.evaluate(WIDEST_TEXT)
    assert 0 < widest <= TEXT_WIDTH, f"running text is {widest}px wide"


def test_on_a_desktop_a_submission_keeps_the_line_length_of_running_text(
    staff_page: Page, busy: BusyClinic
) -> None:
    page = staff_page
    page.set_viewport_size({"width": DESKTOP, "height": 800})
    page.goto(f"/clinic/submissions/{busy.urgent_id}")
    widest = page.evaluate(WIDEST_TEXT)
    assert TEXT_WIDTH - 1 <= widest <= TEXT_WIDTH, f"the record's text is {widest}px wide"
    scrolled, screen = page_width(page)
    assert scrolled <= screen


def test_on_a_phone_the_list_still_shows_one_block_per_submission(staff_page: Page) -> None:
    page = staff_page
    page.set_viewport_size({"width": PHONE, "height": 800})
    rows = page.locator("main tbody tr")
    assert rows.count() == 50
    layout = rows.evaluate_all(
        """(rows) => rows.map((row) => {
          const cells = Array.from(row.cells, (cell) => cell.getBoundingClientRect());
          return {
            display: getComputedStyle(row).display,
            tops: cells.map((box) => Math.round(box.top)),
            right: Math.max(...cells.map((box) => box.right)),
          };
        })"""
    )
    for row in layout:
        assert row["display"] == "block", row
        # Each detail under the one before it, within the screen.
        assert row["tops"] == sorted(set(row["tops"])), row
        assert row["right"] <= PHONE, row
    # The column names stand beside the dates and flags; the table's own head is hidden.
    first = rows.first
    for label in ("Appointment", "Sent", "Flags"):
        expect(first.get_by_text(label, exact=True)).to_be_visible()
    head = page.locator("main thead").bounding_box()
    assert head is not None and head["height"] <= 1
    scrolled, screen = page_width(page)
    assert scrolled <= screen


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_list_prints_each_submission_in_full(
    staff_page: Page, require: Callable[[bool, str], None], paper: str
) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    page = staff_page
    references = [text.strip() for text in page.locator("main tbody .reference").all_inner_texts()]
    assert len(references) == 50
    print_layout(page)
    assert not sticking_out(page)
    assert not wrapped_cells(page, ("Sent",))
    printed = "".join(printed_pages(page, paper, f"clinic-list-print-{paper.lower()}"))
    missing = [reference for reference in references if reference not in printed]
    assert not missing, f"the printed list leaves out {missing}"
