"""The sheet on paper: the browser's print layout, and the PDF the service draws itself."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from support.answer_sets import LONGEST, MANY_RISKS

from questionnaire.engine import Result, RuleSet

from .conftest import (
    ARTIFACTS,
    SCREENSHOTS,
    TYPICAL_PATIENT,
    PatientAnswers,
    Session,
    audit_page,
    by_page,
    complete_questionnaire,
    expected_result,
    pdf_page_count,
)

pytestmark = pytest.mark.browser

# Navigation and controls that mean nothing on paper.
SCREEN_ONLY = [
    ".skip-link",
    "header.header",
    "footer.footer",
    ".back-link",
    ".no-print",
    ".button",
]
MAX_PAGES = 2
# Leads the list of guide sections printed by title only.
READ_IN_THE_GUIDE = re.compile(r"^(Also read|Read) in the guide:$")


def open_sheet(page: Page, ruleset: RuleSet, patient: PatientAnswers) -> None:
    complete_questionnaire(page, ruleset, patient)
    page.get_by_role("button", name="Build my sheet").click()
    expect(page.locator("h1")).to_have_text("Your questions for your appointment")


def open_typical_sheet(page: Page, ruleset: RuleSet) -> None:
    open_sheet(page, ruleset, TYPICAL_PATIENT)


def open_sheet_of(page: Page, ruleset: RuleSet, answers: dict[str, Any]) -> Result:
    """Fill in the form with the flat ``answers`` and open the sheet; gives the result the
    sheet should show."""
    patient = by_page(ruleset, answers)
    open_sheet(page, ruleset, patient)
    return expected_result(ruleset, patient)


def expect_every_note_and_question_shown(page: Page, result: Result) -> None:
    for item in (*result.care_team_notes, *result.questions):
        expect(page.get_by_text(item.text, exact=True)).to_be_visible()


def print_page_counts(page: Page, name: str) -> dict[str, int]:
    """The page, printed by the browser on A4 and on US Letter: pages on each (the PDFs are
    kept as test-artifacts/<name>-<paper>.pdf)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {}
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        (ARTIFACTS / f"{name}-{paper.lower()}.pdf").write_bytes(pdf)
        pages[paper] = pdf_page_count(pdf)
    return pages


def assert_prints_on_two_pages_at_most(page: Page, name: str, sheet: str) -> None:
    """Print the page on A4 and on US Letter (``print_page_counts``); each takes 1 to
    MAX_PAGES pages. ``sheet`` names the sheet in the failure message."""
    pages = print_page_counts(page, name)
    too_long = {paper: count for paper, count in pages.items() if not 1 <= count <= MAX_PAGES}
    assert not too_long, (
        f"{sheet} prints on {too_long} pages; at most {MAX_PAGES} allowed "
        f"(see {ARTIFACTS}/{name}-*.pdf)"
    )


def test_printed_sheet_hides_navigation_and_fits_two_pages(page: Page, ruleset: RuleSet) -> None:
    open_typical_sheet(page, ruleset)
    # What only paper has is said only on paper: lines to write on, and the version the
    # clinic may ask about.
    on_paper_only = [
        page.get_by_text("There is space to write the answer."),
        page.get_by_text(re.compile(r"^ ?Questionnaire version \S+ \([0-9a-f]{12}\)\.$")),
    ]
    expect(page.get_by_text("On paper, you can tick each question")).to_be_visible()
    for text in on_paper_only:
        expect(text).to_be_hidden()
    page.emulate_media(media="print")
    for text in on_paper_only:
        expect(text).to_be_visible()
    expect(page.get_by_text("On paper, you can tick each question")).to_be_hidden()

    for selector in SCREEN_ONLY:
        elements = page.locator(selector)
        assert elements.count() > 0, f"{selector} is not on the sheet page"
        for index in range(elements.count()):
            display = elements.nth(index).evaluate("e => getComputedStyle(e).display")
            assert display == "none", f"{selector} #{index} prints (display: {display})"
    # What the patient brings along is all there.
    for text in ("Tell your care team", "Questions to ask your doctor"):
        expect(page.get_by_role("heading", name=text)).to_be_visible()

    assert_prints_on_two_pages_at_most(page, "sheet-print", "the typical sheet")
    # Every guide section prints in full.
    expect(page.locator(".guide-section--title-only")).to_have_count(0)


def test_a_long_sheet_prints_its_notes_and_questions_and_fits_two_pages(
    page: Page, ruleset: RuleSet
) -> None:
    result = open_sheet_of(page, ruleset, MANY_RISKS)
    page.emulate_media(media="print")

    expect_every_note_and_question_shown(page, result)
    # The guide sections that do not fit print as a list of their titles.
    title_only = page.locator(".guide-section--title-only")
    assert 0 < title_only.count() <= len(result.sections)
    expect(page.get_by_text(READ_IN_THE_GUIDE)).to_be_visible()
    for index in range(title_only.count()):
        section = title_only.nth(index)
        expect(section.locator("h3")).to_be_visible()
        expect(section.locator("p")).not_to_have_count(0)
        for paragraph in section.locator("p").all():
            expect(paragraph).to_be_hidden()

    assert_prints_on_two_pages_at_most(page, "sheet-many-risks-print", "the long sheet")


def test_the_longest_sheet_prints_in_the_compact_layout_on_two_pages(
    page: Page, ruleset: RuleSet
) -> None:
    result = open_sheet_of(page, ruleset, LONGEST)
    assert len(result.questions) >= 32 and len(result.care_team_notes) >= 16
    reasons_after = page.locator(".group-reasons")
    under_items = page.locator(".ask-list__item .because")
    # On screen nothing changes: each reason under its item, lines to write on hidden anyway.
    expect(page.locator(".sheet-body.sheet-body--reasons-once")).to_have_count(1)
    expect(reasons_after).to_be_hidden()
    expect(under_items.first).to_be_visible()
    # Nor does the screen promise room to write: only paper has it, where it says where.
    expect(page.get_by_text("On paper, you can tick each question")).to_be_visible()
    expect(page.get_by_text("Write the answers on the back of the page")).to_be_hidden()
    page.emulate_media(media="print")

    # On paper: the urgent box, every note and question, and the reasons once, after them.
    for reason in result.urgent_reasons:
        expect(page.locator(".urgent-box").get_by_text(reason, exact=True)).to_be_visible()
    expect_every_note_and_question_shown(page, result)
    expect(reasons_after).to_be_visible()
    expect(under_items.first).to_be_hidden()
    expect(page.locator(".note-lines").first).to_be_hidden()
    expect(page.get_by_text("Write the answers on the back of the page")).to_be_visible()

    assert_prints_on_two_pages_at_most(page, "sheet-longest-print", "the longest sheet")


def test_on_screen_a_long_sheet_shows_every_guide_section_in_full(
    page: Page, ruleset: RuleSet
) -> None:
    result = open_sheet_of(page, ruleset, MANY_RISKS)

    assert len(result.sections) >= 14
    for section in result.sections:
        region = page.locator(f"section#{section.id}")
        expect(region.get_by_role("heading", name=section.title)).to_be_visible()
        expect(
            region.get_by_text(f"Why you are seeing this: {section.because.reason}")
        ).to_be_visible()
        for paragraph in section.body.split("\n\n"):
            expect(region.get_by_text(" ".join(paragraph.split()), exact=True)).to_be_visible()
    expect(page.get_by_text(READ_IN_THE_GUIDE)).to_be_hidden()
    audit_page(page, "sheet-many-risks")


def render_first_page(pdf: Path, name: str) -> Path:
    """The PDF's first page as a PNG in the screenshots folder (poppler's pdftoppm)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / name
    first_page_only = ["-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", *first_page_only, str(pdf), str(target)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target.with_suffix(".png")


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_pdf_download_is_a_pdf_of_the_sheet(
    new_session: Callable[..., Session],
    ruleset: RuleSet,
    require: Callable[[bool, str], None],
    tmp_path: Path,
    paper: str,
) -> None:
    require(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils)")
    # No JavaScript needed: the download is a plain link.
    page = new_session(javascript=False).page
    open_typical_sheet(page, ruleset)
    label = "Download a PDF (A4)" if paper == "a4" else "Download a PDF (US Letter)"

    with page.expect_download() as download_info:
        page.get_by_role("button", name=label).click()
    download = download_info.value
    assert download.suggested_filename.startswith("back-injection-questions-")
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF-")
    png = render_first_page(saved, f"sheet-pdf-{paper}-page1")
    assert png.stat().st_size > 0

    shutil.copyfile(saved, ARTIFACTS / f"sheet-download-{paper}.pdf")
    pages = pdf_page_count(pdf)
    assert 1 <= pages <= MAX_PAGES, (
        f"the typical sheet's PDF ({paper}) has {pages} pages; at most {MAX_PAGES} allowed"
    )
