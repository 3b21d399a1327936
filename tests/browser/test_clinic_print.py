"""One submission printed by staff: every page says whose record it is.

A long record runs to several pages. A page that comes loose from the others must still name
the patient, their date of birth and the submission's reference, so that it is filed with the
right patient; each page also says which page of how many it is.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from support.answer_sets import LONGEST

from questionnaire.clinic import store

from .conftest import LiveServer, Session, printed_pages
from .test_clinic_pages import helpers, sign_in

pytestmark = pytest.mark.browser

PATIENT = "Jane Example"
BORN = date(1956, 3, 7)
# How the staff pages write that date (questionnaire/clinic/timetext.py).
BORN_TEXT = "7 Mar 1956"
NOTE = "Called the patient about the blood thinner plan and the scan. " * 12


@dataclass(frozen=True)
class PrintedRecord:
    email: str
    password: str
    submission_id: int
    reference: str


@pytest.fixture(scope="module")
def record(live_server: LiveServer) -> PrintedRecord:
    """A clinic with one long submission: the urgent box, every question and note, a review."""
    app = live_server.app
    clinic_id = helpers.make_clinic(app, "west", "West Spine Clinic")
    nurse = helpers.make_staff(app, clinic_id, "records.nurse@west.example")
    submission_id = helpers.make_submission(
        app,
        clinic_id,
        {**LONGEST, "diagnosis_details": "Sciatica from a slipped disc, seen on a scan."},
        name=PATIENT,
        date_of_birth=BORN,
    )
    with app.app_context():
        store.mark_reviewed(clinic_id, submission_id, nurse.id, NOTE)
        submission = store.get_submission(clinic_id, submission_id)
        assert submission is not None
        reference = submission.reference
    return PrintedRecord(nurse.email, nurse.password, submission_id, reference)


@pytest.fixture
def record_page(
    new_session: Callable[..., Session], live_server: LiveServer, record: PrintedRecord
) -> Page:
    """The nurse, signed in, on the submission."""
    page = new_session().page
    sign_in(page, live_server.app, record.email, record.password)
    page.goto(f"/clinic/submissions/{record.submission_id}")
    expect(page.locator("h1")).to_have_text(PATIENT)
    return page


def printed_submission(page: Page, paper: str) -> list[str]:
    """The text of each printed page, its white space made single spaces."""
    pages = printed_pages(page, paper, f"clinic-submission-print-{paper.lower()}")
    return [" ".join(sheet.split()) for sheet in pages]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_every_printed_page_of_a_submission_names_the_patient(
    record_page: Page,
    record: PrintedRecord,
    paper: str,
    require: Callable[[bool, str], None],
) -> None:
    require(shutil.which("pdftotext") is not None, "pdftotext (poppler-utils)")
    pages = printed_submission(record_page, paper)
    assert len(pages) >= 2, f"the long submission printed on {len(pages)} page on {paper}"

    who = f"{PATIENT}, born {BORN_TEXT}, ref {record.reference}"
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        # First on the page, above what the page holds, not somewhere inside it.
        assert text.startswith(who), (
            f"page {number} of {total} on {paper} does not begin with {who!r}: {text[:200]!r}"
        )
        assert f"Page {number} of {total}" in text, (
            f"page {number} of {total} on {paper} does not say which page it is"
        )
    # The record itself is all there, once: the header line is not mistaken for it.
    everything = " ".join(pages)
    assert everything.count("Why: the rules that applied") == 1
    assert "".join(NOTE.split()) in "".join(everything.split())


def test_on_screen_the_submission_looks_and_reads_as_before(record_page: Page) -> None:
    page = record_page
    # The line printed on every page is not on the screen, nor read out by a screen reader:
    # the page's heading and its details say the same.
    born = page.get_by_text(f"born {BORN_TEXT}")
    expect(born).to_have_count(1)
    expect(born).to_be_hidden()
    # What holds the page on paper is no table to assistive technology: the only table is
    # the one of rules.
    tables = page.get_by_role("table")
    expect(tables).to_have_count(1)
    expect(tables).to_have_accessible_name("Rules that applied to these answers")
    # The page's parts stand where they stood: the heading first in the main part, the
    # record at its full width.
    main = page.locator("main").bounding_box()
    heading = page.locator("h1").bounding_box()
    summary = page.locator(".summary-list").first.bounding_box()
    assert main is not None and heading is not None and summary is not None
    assert heading["x"] == main["x"] and summary["x"] == main["x"]
    assert summary["width"] == pytest.approx(min(main["width"], 730), abs=1)


def test_on_paper_the_line_is_shown_once_above_the_record(record_page: Page) -> None:
    page = record_page
    page.emulate_media(media="print")
    line = page.locator("main").get_by_text(re.compile(rf"^{PATIENT},\s+born {BORN_TEXT},\s+ref "))
    expect(line).to_be_visible()
    box = line.bounding_box()
    heading = page.locator("h1").bounding_box()
    assert box is not None and heading is not None
    assert box["y"] + box["height"] <= heading["y"], "the line is not above the heading"
