"""The sheet as a PDF: a real PDF with the sheet's content, short, and offline."""

from __future__ import annotations

import html
import random
import re
import shutil
import subprocess
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.answer_sets import ALL_RED_FLAGS, LONGEST, MANY_RISKS, NOT_SURE, TYPICAL
from support.testapp import app_with

from questionnaire.engine import RuleSet
from questionnaire.engine.result import Result
from questionnaire.web import pdf as pdf_module
from questionnaire.web import sheetview
from questionnaire.web.app import current_ruleset
from questionnaire.web.pdf import PdfCache, StaticOnlyFetcher, render_document
from questionnaire.web.printlength import (
    BECAUSE_LEAD,
    COMPACT_STEPS,
    GUIDE_TITLE,
    MORE_TITLE,
    NOTES_TITLE,
    QUESTIONS_LEAD,
    QUESTIONS_LEAD_NO_LINES,
    QUESTIONS_TITLE,
    PrintPlan,
    distinct_reasons,
)
from questionnaire.web.sheetpage import render_sheet
from questionnaire.web.sheetview import build_sheet

STATIC = Path(__file__).resolve().parents[2] / "static"
CSS_PX_PER_MM = 96 / 25.4


def with_answers(client: FlaskClient, answers: dict[str, Any]) -> None:
    with client.session_transaction() as session:
        session["answers"] = answers


def sheet_html(app: Flask, answers: dict[str, Any]) -> str:
    """The print version of the sheet, exactly as /sheet.pdf draws it."""
    with app.test_request_context("/sheet.pdf"):
        return render_sheet(current_ruleset(), answers, print_mode=True)


def pdftotext(pdf: bytes, tmp_path: Path, mode: str = "-layout") -> str:
    """The PDF's text, words one space apart; ``mode="-raw"`` keeps the order it was drawn in
    (column after column), so no line of one column runs into the other's."""
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", mode, str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


def squeezed(text: str) -> str:
    """Text without white space: a line may break after a hyphen as well as at a space."""
    return "".join(text.split())


def test_the_pdf_download_is_a_pdf_of_the_sheet(
    client: FlaskClient, ruleset: RuleSet, tmp_path: Path
) -> None:
    with_answers(client, {**TYPICAL, "blood_thinners": "yes"})

    response = client.get("/sheet.pdf?paper=a4")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="back-injection-questions-'
    )
    assert response.headers["Cache-Control"] == "no-store"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed; the PDF's text is not checked")
    text = pdftotext(response.data, tmp_path)
    assert "Your questions for your appointment" in text
    assert f"Questionnaire version {ruleset.version} ({ruleset.sha256[:12]})" in text
    assert "Tell your care team" in text
    assert "Print this sheet" not in text
    assert "Download a PDF" not in text


def test_the_pdf_leads_with_the_urgent_message(client: FlaskClient, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    with_answers(client, {**TYPICAL, "red_flags": ["worsening_leg_weakness"]})

    text = pdftotext(client.get("/sheet.pdf").data, tmp_path)

    assert text.index("Get medical help now") < text.index("Questions to ask your doctor")
    assert "This questionnaire cannot assess these signs." in text


@pytest.mark.parametrize(("paper", "width_mm"), [("a4", 210.0), ("letter", 215.9)])
def test_a_typical_sheet_prints_on_at_most_two_pages(
    app: Flask, paper: str, width_mm: float
) -> None:
    document = render_document(sheet_html(app, TYPICAL), STATIC, "/static", paper)

    assert len(document.pages) <= 2
    assert document.pages[0].width == pytest.approx(width_mm * CSS_PX_PER_MM, abs=1)


# -- long sheets on paper ---------------------------------------------------------------------
#
# Notes and questions always print in full; guide sections print in full as far as the sheet
# stays within two pages, the others by title (questionnaire/web/printlength.py). A sheet whose
# notes and questions leave no room even for that (the urgent box with nearly every risk factor,
# or "not sure" to most questions) takes as few steps of the compact print layout as it needs.


@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_a_sheet_with_many_risk_factors_prints_on_at_most_two_pages(
    app: Flask, ruleset: RuleSet, tmp_path: Path, paper: str
) -> None:
    result = ruleset.evaluate(ruleset.validate(MANY_RISKS))
    assert len(result.sections) >= 14 and len(result.questions) >= 28

    document = render_document(sheet_html(app, MANY_RISKS), STATIC, "/static", paper)

    assert len(document.pages) <= 2
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed; the PDF's text is not checked")
    words = pdftotext(document.write_pdf(), tmp_path, "-raw")
    text = squeezed(words)
    # What the patient brings along prints in full.
    for item in (*result.care_team_notes, *result.questions):
        assert squeezed(item.text) in text
    # Every section is there, in full or by title in a list with the guide's address.
    for section in result.sections:
        assert squeezed(section.title) in text
    assert re.search(r"(Also read|Read) in the guide:", words)
    assert "localhost/guide" in text


def printed_words(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text without white space, in the order it was drawn."""
    return squeezed(pdftotext(pdf, tmp_path, "-raw"))


def words_on_two_pages_at_most(page: str, paper: str, tmp_path: Path) -> str:
    """The sheet's HTML drawn as a PDF on ``paper``: checks it takes two pages at most, then
    gives its words as ``printed_words`` does (skipping the test if pdftotext is missing)."""
    document = render_document(page, STATIC, "/static", paper)

    assert len(document.pages) <= 2
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed; the PDF's text is not checked")
    return printed_words(document.write_pdf(), tmp_path)


def assert_prints_everything_clinical(result: Result, text: str) -> None:
    """The urgent box, every note and question, and every reason they are there for."""
    for reason in result.urgent_reasons:
        assert squeezed(reason) in text
    for item in (*result.care_team_notes, *result.questions):
        assert squeezed(item.text) in text
    for reason in distinct_reasons(result, [*result.care_team_notes, *result.questions]):
        assert squeezed(reason) in text


URGENT = {**TYPICAL, "red_flags": ["saddle_numbness", "fever_or_chills"]}

# Sheets whose notes and questions need the compact print layout, and the steps they take.
DENSE = {
    "many-risks-one-red-flag": ({**MANY_RISKS, "red_flags": ["saddle_numbness"]}, 1),
    "not-sure": (NOT_SURE, 1),
    "many-risks-every-red-flag": ({**MANY_RISKS, "red_flags": ALL_RED_FLAGS}, 2),
    "longest": (LONGEST, 3),
}


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("name", DENSE)
def test_a_dense_sheet_prints_every_note_and_question_on_at_most_two_pages(
    app: Flask, ruleset: RuleSet, tmp_path: Path, name: str, paper: str
) -> None:
    answers, steps = DENSE[name]
    result = ruleset.evaluate(ruleset.validate(answers))
    sheet = build_sheet(ruleset, result, date(2026, 11, 24), "http://localhost/guide")
    assert sheet.compact == COMPACT_STEPS[:steps]
    page = sheet_html(app, answers)
    assert f'<div class="sheet-body {" ".join(sheet.compact)}">' in page

    text = words_on_two_pages_at_most(page, paper, tmp_path)

    assert_prints_everything_clinical(result, text)
    assert squeezed("Write the answers on the back of the page") in text
    assert squeezed("There is space to write the answer.") not in text


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("steps", range(DENSE["longest"][1], len(COMPACT_STEPS) + 1))
def test_each_step_past_the_one_a_sheet_needs_keeps_it_to_two_pages(
    app: Flask,
    ruleset: RuleSet,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    steps: int,
    paper: str,
) -> None:
    # The last steps are for rules longer than today's: here they are taken on purpose.
    monkeypatch.setattr(sheetview, "print_plan", lambda *_: PrintPlan(COMPACT_STEPS[:steps], 0))
    result = ruleset.evaluate(ruleset.validate(LONGEST))
    page = sheet_html(app, LONGEST)
    assert f'<div class="sheet-body {" ".join(COMPACT_STEPS[:steps])}">' in page

    text = words_on_two_pages_at_most(page, paper, tmp_path)

    assert_prints_everything_clinical(result, text)


@pytest.mark.parametrize("answers", [TYPICAL, MANY_RISKS, URGENT])
def test_a_sheet_that_fits_prints_as_it_always_has(
    app: Flask, ruleset: RuleSet, answers: dict[str, Any]
) -> None:
    result = ruleset.evaluate(ruleset.validate(answers))

    sheet = build_sheet(ruleset, result, date(2026, 11, 24), "http://localhost/guide")

    assert sheet.compact == ()
    page = sheet_html(app, answers)
    assert '<div class="sheet-body">' in page
    assert "sheet-body--" not in page
    assert "group-reasons" not in page
    assert "Tick each one when you have asked it. There is space to write the answer." in page
    assert page.count('class="note-lines__line"') == len(result.questions)


@pytest.mark.parametrize(("answers", "all_in_full"), [(TYPICAL, True), (MANY_RISKS, False)])
def test_guide_sections_print_in_full_from_the_first_as_far_as_they_fit(
    ruleset: RuleSet, answers: dict[str, Any], all_in_full: bool
) -> None:
    result = ruleset.evaluate(ruleset.validate(answers))

    sheet = build_sheet(ruleset, result, date(2026, 11, 24), "http://localhost/guide")

    assert [*sheet.printed_in_full, *sheet.printed_as_titles] == result.sections
    assert (not sheet.printed_as_titles) is all_in_full


def test_a_typical_sheet_prints_every_guide_section_in_full(
    app: Flask, ruleset: RuleSet, tmp_path: Path
) -> None:
    result = ruleset.evaluate(ruleset.validate(TYPICAL))
    page = sheet_html(app, TYPICAL)

    assert "guide-section--title-only" not in page
    assert "in the guide:" not in page
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed; the PDF's text is not checked")
    pdf = render_document(page, STATIC, "/static", "letter").write_pdf()
    text = squeezed(pdftotext(pdf, tmp_path, "-raw"))
    for section in result.sections:
        assert squeezed(section.title) in text
        for paragraph in section.body.split("\n\n"):
            assert squeezed(paragraph) in text


def varied_answers(ruleset: RuleSet, seed: int, *, red_flags: bool = False) -> dict[str, Any]:
    """Answers to every question of the form, each drawn (from ``seed``) from its choices, with
    no red flag ticked unless ``red_flags``."""
    rng = random.Random(seed)
    answers: dict[str, Any] = {}
    for question in ruleset.questions:
        choices = [choice.id for choice in question.options]
        if question.kind == "number":
            answers[question.id] = rng.randint(question.minimum or 0, question.maximum or 10)
        elif question.kind in ("one_of", "yes_no"):
            answers[question.id] = rng.choice(choices)
        elif question.kind == "any_of":
            ticked = [choice for choice in choices if choice != "none" and rng.random() < 0.4]
            answers[question.id] = ticked or [choices[-1]]
    if not red_flags:
        answers["red_flags"] = ["none"]
    return answers


# Named answer sets, and seeds for varied_answers: together 18 sheets of every length.
SAMPLE = {
    "typical": TYPICAL,
    "many-risks": MANY_RISKS,
    "urgent": URGENT,
    # More notes and questions still (30 and 13): two pages with every section by title.
    "most-items": {
        **MANY_RISKS,
        "pain_duration": "6_to_12_weeks",
        "pain_location": ["lower_back", "mid_or_upper_back"],
        "injection_relief": "under_1_week",
        "diagnosis_given": "yes",
        "imaging_done": "no",
        "blood_thinners": "no",
        "infection": "no",
        "allergies": ["contrast_dye", "local_anaesthetic", "steroid", "latex", "other", "not_sure"],
        "pregnancy": "not_sure",
        "driver": "no",
        "pain_score": 7,
    },
}
SEEDS = range(8)
# Seeds with red flags drawn too (the urgent box), and the steps of the compact print layout
# each takes.
URGENT_SEEDS = {0: 0, 1: 0, 7: 1, 16: 1, 133: 2, 192: 2}


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize(
    "sheet",
    [
        *SAMPLE,
        *(f"varied-{seed}" for seed in SEEDS),
        *(f"urgent-{seed}" for seed in URGENT_SEEDS),
    ],
)
def test_every_sheet_prints_on_one_or_two_pages(
    app: Flask, ruleset: RuleSet, sheet: str, paper: str
) -> None:
    if sheet in SAMPLE:
        answers = SAMPLE[sheet]
    elif sheet.startswith("urgent-"):
        seed = int(sheet.removeprefix("urgent-"))
        answers = varied_answers(ruleset, seed, red_flags=True)
        result = ruleset.evaluate(ruleset.validate(answers))
        built = build_sheet(ruleset, result, date(2026, 11, 24), "http://localhost/guide")
        assert result.urgent
        assert len(built.compact) == URGENT_SEEDS[seed]
    else:
        answers = varied_answers(ruleset, int(sheet.removeprefix("varied-")))

    document = render_document(sheet_html(app, answers), STATIC, "/static", paper)

    assert 1 <= len(document.pages) <= 2


# -- what leads into a list or a text stays with it ----------------------------------------------
#
# Sheets on which a heading once ended a column, with what it leads into at the top of the
# next: "Questions to ask your doctor" with the line under it, and a guide section's title
# with its "Why you are seeing this" line.
KEPT_WITH_NEXT = {
    "questions-lead": {
        "pain_duration": "under_6_weeks",
        "pain_location": ["neck"],
        "limb_pain": "leg",
        "pain_score": 7,
        "red_flags": ["none"],
        "conservative_care": ["rest_or_activity_change"],
        "earlier_injections": "yes",
        "injection_relief": "1_to_3_months",
        "diagnosis_given": "no",
        "imaging_done": "no",
        "blood_thinners": "yes",
        "blood_thinner_name": "Apixaban",
        "bleeding_disorder": "yes",
        "diabetes": "yes",
        "diabetes_control": "no",
        "infection": "no",
        "allergies": ["local_anaesthetic", "latex", "other", "not_sure"],
        "allergy_other": "Penicillin",
        "pregnancy": "not_sure",
        "driver": "no",
        "anything_else": "I look after my mother.",
    },
    "guide-reason": {
        "pain_duration": "under_6_weeks",
        "pain_location": ["lower_back"],
        "limb_pain": "no",
        "pain_score": 9,
        "red_flags": ["none"],
        "conservative_care": [
            "physical_therapy",
            "home_exercise",
            "pain_medicine",
            "rest_or_activity_change",
        ],
        "earlier_injections": "not_sure",
        "diagnosis_given": "yes",
        "diagnosis_details": "A slipped disc",
        "imaging_done": "not_sure",
        "blood_thinners": "not_sure",
        "bleeding_disorder": "not_sure",
        "diabetes": "not_sure",
        "infection": "not_sure",
        "allergies": ["none"],
        "pregnancy": "no",
        "driver": "no",
        "anything_else": "I look after my mother.",
    },
    "upper-back": {
        "pain_duration": "over_6_months",
        "pain_location": ["mid_or_upper_back"],
        "limb_pain": "leg",
        "pain_score": 8,
        "red_flags": ["none"],
        "conservative_care": [
            "physical_therapy",
            "home_exercise",
            "pain_medicine",
            "rest_or_activity_change",
        ],
        "earlier_injections": "no",
        "diagnosis_given": "yes",
        "diagnosis_details": "A slipped disc",
        "imaging_done": "no",
        "blood_thinners": "not_sure",
        "bleeding_disorder": "not_sure",
        "diabetes": "yes",
        "diabetes_control": "yes",
        "infection": "not_sure",
        "allergies": ["contrast_dye", "local_anaesthetic", "steroid", "latex", "not_sure"],
        "pregnancy": "no",
        "driver": "no",
        "anything_else": "I look after my mother.",
    },
}
_PAGE = re.compile(r'<page width="([\d.]+)" height="[\d.]+">(.*?)</page>', re.DOTALL)
_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>(.*?)</line>', re.DOTALL)
_WORD = re.compile(r"<word [^>]*>(.*?)</word>")
_PAGE_NUMBER = re.compile(r"Page \d+ of \d+")


def column_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each column of each page, top to bottom and without white space. A line
    that starts left of the middle of the page is in the first column (so is page 1's header,
    above the columns); the page number is left out."""
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    columns = []
    for width, page in _PAGE.findall(done.stdout):
        halves: tuple[list[tuple[float, str]], list[tuple[float, str]]] = ([], [])
        for x_min, y_min, line in _LINE.findall(page):
            text = " ".join(html.unescape(word) for word in _WORD.findall(line))
            if not _PAGE_NUMBER.fullmatch(text):
                halves[float(x_min) >= float(width) / 2].append((float(y_min), text))
        columns += [squeezed(" ".join(text for _, text in sorted(half))) for half in halves]
    return columns


@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("name", KEPT_WITH_NEXT)
def test_no_column_ends_with_a_heading_or_the_line_under_it(
    app: Flask, ruleset: RuleSet, tmp_path: Path, name: str, paper: str
) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed")
    answers = KEPT_WITH_NEXT[name]
    result = ruleset.evaluate(ruleset.validate(answers))
    sheet = build_sheet(ruleset, result, date(2026, 11, 24), "http://localhost/guide")
    lead = QUESTIONS_LEAD_NO_LINES if sheet.no_note_lines else QUESTIONS_LEAD
    headings = [NOTES_TITLE, QUESTIONS_TITLE, GUIDE_TITLE, MORE_TITLE]
    headings += [group.category.title for group in sheet.question_groups]
    headings += [section.title for section in sheet.printed_in_full]
    # What may not end a column: a heading, or one with only the line under it.
    endings = {title: title for title in headings}
    endings[f"{QUESTIONS_TITLE} + lead"] = QUESTIONS_TITLE + lead
    for section in sheet.printed_in_full:
        endings[f"{section.title} + reason"] = section.title + BECAUSE_LEAD + section.because.reason

    document = render_document(sheet_html(app, answers), STATIC, "/static", paper)

    assert len(document.pages) <= 2
    columns = column_texts(document.write_pdf(), tmp_path)
    assert squeezed(QUESTIONS_TITLE) in "".join(columns)
    stranded = [
        f"page {index // 2 + 1}, column {index % 2 + 1} ends with {what}"
        for index, column in enumerate(columns)
        for what, ending in endings.items()
        if column.endswith(squeezed(ending))
    ]
    assert not stranded, stranded


def test_an_unknown_paper_size_is_refused_with_the_choices(client: FlaskClient) -> None:
    with_answers(client, TYPICAL)

    response = client.get("/sheet.pdf?paper=a3")

    assert response.status_code == 400
    message = "The paper size 'a3' is not known. Use paper=a4 or paper=letter."
    assert message in html.unescape(response.text)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/static/css/main.css",
        "https://example.com/x.css",
        "data:text/css,body{}",
        "file:///etc/passwd",
        "file:///static/../../../etc/passwd",
        "file:///static/css/missing.css",
        "file://remote-host/static/css/main.css",
    ],
)
def test_the_pdf_renderer_fetches_nothing_but_static_files(url: str) -> None:
    fetcher = StaticOnlyFetcher(STATIC, "/static")

    with pytest.raises(ValueError, match="refused to fetch"):
        fetcher.fetch(url)


def test_the_pdf_renderer_reads_the_stylesheets(tmp_path: Path) -> None:
    fetcher = StaticOnlyFetcher(STATIC, "/static")

    response = fetcher.fetch("file:///static/css/print.css")

    assert response.content_type == "text/css"
    assert b"@media print" in response.read()


def test_remote_resources_in_the_page_are_skipped_not_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[str] = []

    def record(self: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(getattr(url, "full_url", url)))
        raise OSError("no network in this test")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", record)
    page = (
        '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">'
        '<img src="https://127.0.0.1:9/pixel.png" alt="">'
        '<link rel="stylesheet" href="/static/css/print.css"><p>Hello</p>'
    )

    document = render_document(page, STATIC, "/static")

    assert len(document.pages) == 1
    assert opened == []


# -- the cache of finished PDFs ---------------------------------------------------------------


def test_a_sheet_downloaded_again_is_served_from_the_cache(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    draw = pdf_module.html_to_pdf

    def counting(html: str, *args: Any) -> bytes:
        drawn.append(args[-1])
        return draw(html, *args)

    monkeypatch.setattr(pdf_module, "html_to_pdf", counting)
    with_answers(client, TYPICAL)

    first = client.get("/sheet.pdf?paper=a4").data
    again = client.get("/sheet.pdf?paper=a4").data
    letter = client.get("/sheet.pdf?paper=letter").data
    with_answers(client, {**TYPICAL, "diabetes": "yes"})
    other = client.get("/sheet.pdf?paper=a4").data

    assert again == first
    assert drawn == ["a4", "letter", "a4"]
    assert letter != first
    assert other != first


def test_the_pdf_cache_is_bounded_by_count_and_by_bytes() -> None:
    cache = PdfCache(max_entries=2, max_bytes=10)
    one, two, three = (PdfCache.key(f"<p>{n}</p>", "a4") for n in (1, 2, 3))

    cache.put(one, b"1111")
    cache.put(two, b"2222")
    assert cache.get(one) == b"1111"  # now the most recently used
    cache.put(three, b"3333")

    assert (cache.get(one), cache.get(two), cache.get(three)) == (b"1111", None, b"3333")
    cache.put(two, b"22222222")  # 16 bytes in all would exceed the cap: the oldest go
    assert len(cache) == 1
    assert cache.size_bytes <= 10
    cache.put(one, b"x" * 11)  # larger than the whole cache: never kept
    assert cache.get(one) is None


def test_too_many_pdf_downloads_get_a_page_that_says_when_to_come_back(tmp_path: Path) -> None:
    app = app_with(tmp_path, RATELIMIT_ENABLED=True, PDF_RATE_LIMIT="1 per minute")
    client = app.test_client()
    with_answers(client, TYPICAL)
    assert client.get("/sheet.pdf").status_code == 200

    response = client.get("/sheet.pdf")

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Sorry, there have been too many attempts" in response.text


def test_the_guide_address_line_counts_the_other_parts_in_plain_words(app: Flask) -> None:
    one_left = sheet_html(app, LONGEST)
    several_left = sheet_html(app, TYPICAL)

    assert "The other part of the guide is at" in one_left
    assert re.search(r"The other \d+ parts of the guide are at", several_left)
