"""Every patient page passes axe-core's WCAG 2.2 A and AA rules, at phone and desktop width;
so does the page an administrator goes through to turn a colleague's account off, reached
with the keyboard alone, and working with JavaScript off.

Each page is also saved as a full-page screenshot (test-artifacts/screenshots/) for review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from questionnaire.engine import RuleSet, load_ruleset

from .conftest import (
    RED_FLAG_PATIENT,
    TYPICAL_PATIENT,
    LiveServer,
    PatientAnswers,
    Session,
    assert_error_summary_links_to_fields,
    audit_page,
    complete_questionnaire,
    open_session,
    page_title,
    problems_since,
    wait_for_path,
)
from .test_clinic_pages import helpers, sign_in

pytestmark = pytest.mark.browser

RULES = load_ruleset(Path(__file__).resolve().parents[2] / "rules")
PAGE_IDS = [page.id for page in RULES.questionnaire.pages]
# Pages with a required question: posting them empty shows the error state.
PAGES_WITH_REQUIRED = [
    page.id for page in RULES.questionnaire.pages if any(q.required for q in page.questions)
]


def answered_session(
    browser: Browser, live_server: LiveServer, ruleset: RuleSet, patient: PatientAnswers
) -> Iterator[Session]:
    session = open_session(browser, live_server)
    complete_questionnaire(session.page, ruleset, patient)
    yield session
    session.context.close()


@pytest.fixture(scope="module")
def typical(browser: Browser, live_server: LiveServer, ruleset: RuleSet) -> Iterator[Session]:
    yield from answered_session(browser, live_server, ruleset, TYPICAL_PATIENT)


@pytest.fixture(scope="module")
def urgent(browser: Browser, live_server: LiveServer, ruleset: RuleSet) -> Iterator[Session]:
    yield from answered_session(browser, live_server, ruleset, RED_FLAG_PATIENT)


def visit(
    session: Session, live_server: LiveServer, path: str, name: str, status: int = 200
) -> None:
    """Open ``path``, check its status, audit it; no console or server error may appear."""
    errors_before = len(live_server.errors)
    session.console_errors.clear()
    response = session.page.goto(path)
    assert response is not None and response.status == status, (
        f"{path} answered {response.status if response else 'nothing'}, expected {status}"
    )
    audit_page(session.page, name)
    problems = problems_since([session], live_server, errors_before)
    assert not problems, problems


PATIENT_PAGES = [
    ("/", "start"),
    *[(f"/questions/{page_id}", f"question-{page_id}") for page_id in PAGE_IDS],
    ("/check", "check"),
    ("/sheet", "sheet"),
    ("/guide", "guide"),
    ("/clear", "clear"),
]


@pytest.mark.parametrize(("path", "name"), PATIENT_PAGES, ids=[n for _, n in PATIENT_PAGES])
def test_patient_page(typical: Session, live_server: LiveServer, path: str, name: str) -> None:
    visit(typical, live_server, path, name)


@pytest.mark.parametrize(
    ("path", "name"), [("/urgent", "urgent"), ("/sheet", "sheet-urgent")], ids=["urgent", "sheet"]
)
def test_red_flag_page(urgent: Session, live_server: LiveServer, path: str, name: str) -> None:
    visit(urgent, live_server, path, name)
    expect(urgent.page.locator(".urgent-box")).to_be_visible()


@pytest.mark.parametrize("page_id", PAGES_WITH_REQUIRED)
def test_question_page_in_its_error_state(page: Page, page_id: str) -> None:
    page.goto(f"/questions/{page_id}")
    if page_id == "your-pain":
        # A number that is not one, beside the missing required answer.
        page.locator("#pain_score").fill("eleven")
    page.get_by_role("button", name="Continue", exact=True).click()
    assert_error_summary_links_to_fields(page)
    expect(page).to_have_title("Error: " + page_title(RULES.page_by_id[page_id].title))
    audit_page(page, f"question-{page_id}-errors")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/no-such-page", "not-found"),
        ("/questions/no-such-page", "question-not-found"),
        ("/c/no-such-clinic/", "clinic-link-unknown"),
        ("/send", "send-without-clinic"),
    ],
)
def test_not_found_page(
    new_session: Callable[..., Session], live_server: LiveServer, path: str, name: str
) -> None:
    visit(new_session(), live_server, path, name, status=404)


# --- an administrator turning a colleague's account off -------------------------------------

STAFF_LIST = "/clinic/staff"


@dataclass(frozen=True)
class TurnOffClinic:
    admin_email: str
    password: str
    colleagues: tuple[int, int]  # one for each test below: each ends with it turned off


@pytest.fixture(scope="module")
def turn_off_clinic(live_server: LiveServer) -> TurnOffClinic:
    app = live_server.app
    clinic_id = helpers.make_clinic(app, "valley", "Valley Spine Clinic")
    admin = helpers.make_staff(
        app, clinic_id, "admin@valley.example", role="admin", name="Ann Admin"
    )
    first = helpers.make_staff(app, clinic_id, "rosa.day@valley.example", name="Rosa Day")
    second = helpers.make_staff(app, clinic_id, "li.wong@valley.example", name="Li Wong")
    return TurnOffClinic(admin.email, admin.password, (first.id, second.id))


def test_turning_a_colleague_off_with_the_keyboard_alone(
    page: Page, live_server: LiveServer, turn_off_clinic: TurnOffClinic
) -> None:
    colleague_id = turn_off_clinic.colleagues[0]
    address = f"/clinic/staff/{colleague_id}/disable"
    sign_in(page, live_server.app, turn_off_clinic.admin_email, turn_off_clinic.password)
    page.goto(STAFF_LIST)
    page.get_by_role("link", name="Turn off the account of Rosa Day").focus()
    page.keyboard.press("Enter")
    wait_for_path(page, address)
    main = page.locator("main")
    expect(page.get_by_role("heading", level=1)).to_have_text("Turn off Rosa Day\u2019s account?")
    expect(main).to_contain_text("rosa.day@valley.example")
    expect(main).to_contain_text("They are signed out everywhere at once")
    expect(main).to_contain_text("An administrator can turn it back on")
    audit_page(page, "clinic-staff-disable")

    # Cancel goes back to the list and leaves the account on.
    page.get_by_role("link", name="Cancel", exact=True).focus()
    page.keyboard.press("Enter")
    wait_for_path(page, STAFF_LIST)
    expect(page.get_by_role("link", name="Turn off the account of Rosa Day")).to_be_visible()

    page.goto(address)
    page.get_by_role("button", name="Turn off Rosa Day\u2019s account", exact=True).focus()
    page.keyboard.press("Enter")
    wait_for_path(page, STAFF_LIST)
    expect(page.locator("main")).to_contain_text("Rosa Day can no longer sign in.")
    expect(page.get_by_role("link", name="Turn off the account of Rosa Day")).to_have_count(0)

    page.goto(address)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Rosa Day\u2019s account is already turned off"
    )
    expect(page.get_by_role("button", name="Turn off Rosa Day\u2019s account")).to_have_count(0)
    audit_page(page, "clinic-staff-disable-done")

    # The way back on, by keyboard: the page that gives the account a new first password.
    page.get_by_role("link", name="Turn back on Rosa Day\u2019s account").focus()
    page.keyboard.press("Enter")
    wait_for_path(page, f"/clinic/staff/{colleague_id}/reset")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Turn back on Rosa Day\u2019s account"
    )
    audit_page(page, "clinic-staff-turn-back-on")


def test_turning_a_colleague_off_works_with_javascript_off(
    new_session: Callable[..., Session], live_server: LiveServer, turn_off_clinic: TurnOffClinic
) -> None:
    page = new_session(javascript=False).page
    sign_in(page, live_server.app, turn_off_clinic.admin_email, turn_off_clinic.password)
    page.goto(STAFF_LIST)
    page.get_by_role("link", name="Turn off the account of Li Wong").click()
    wait_for_path(page, f"/clinic/staff/{turn_off_clinic.colleagues[1]}/disable")
    page.get_by_role("button", name="Turn off Li Wong\u2019s account", exact=True).click()
    wait_for_path(page, STAFF_LIST)
    expect(page.locator("main")).to_contain_text("Li Wong can no longer sign in.")
