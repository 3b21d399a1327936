"""The sheet on paper: the browser's print layout, and the PDF the service draws itself."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from questionnaire.engine import RuleSet

from .conftest import (
    ARTIFACTS,
    SCREENSHOTS,
    TYPICAL_PATIENT,
    Session,
    complete_questionnaire,
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


def open_typical_sheet(page: Page, ruleset: RuleSet) -> None:
    complete_questionnaire(page, ruleset, TYPICAL_PATIENT)
    page.get_by_role("button", name="Build my sheet").click()
    expect(page.locator("h1")).to_have_text("Your questions for your appointment")


def test_printed_sheet_hides_navigation_and_fits_two_pages(page: Page, ruleset: RuleSet) -> None:
    open_typical_sheet(page, ruleset)
    page.emulate_media(media="print")

    for selector in SCREEN_ONLY:
        elements = page.locator(selector)
        assert elements.count() > 0, f"{selector} is not on the sheet page"
        for index in range(elements.count()):
            display = elements.nth(index).evaluate("e => getComputedStyle(e).display")
            assert display == "none", f"{selector} #{index} prints (display: {display})"
    # What the patient brings along is all there.
    for text in ("Tell your care team", "Questions to ask your doctor"):
        expect(page.get_by_role("heading", name=text)).to_be_visible()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pages = {}
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        (ARTIFACTS / f"sheet-print-{paper.lower()}.pdf").write_bytes(pdf)
        pages[paper] = pdf_page_count(pdf)
    too_long = {paper: count for paper, count in pages.items() if not 1 <= count <= MAX_PAGES}
    assert not too_long, (
        f"the typical sheet prints on {too_long} pages; at most {MAX_PAGES} allowed "
        f"(see {ARTIFACTS}/sheet-print-*.pdf)"
    )


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
