"""Every patient page passes axe-core's WCAG 2.2 A and AA rules, at phone and desktop width.

Each page is also saved as a full-page screenshot (test-artifacts/screenshots/) for review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
)

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
