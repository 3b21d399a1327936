"""The sheet as a PDF: a real PDF with the sheet's content, short, and offline."""

from __future__ import annotations

import html
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from patient_forms import TYPICAL

from questionnaire import create_app
from questionnaire.engine import RuleSet
from questionnaire.web import pdf as pdf_module
from questionnaire.web.app import current_ruleset
from questionnaire.web.pdf import PdfCache, StaticOnlyFetcher, render_document
from questionnaire.web.sheetpage import render_sheet

STATIC = Path(__file__).resolve().parents[2] / "static"
CSS_PX_PER_MM = 96 / 25.4


def with_answers(client: FlaskClient, answers: dict[str, Any]) -> None:
    with client.session_transaction() as session:
        session["answers"] = answers


def sheet_html(app: Flask, answers: dict[str, Any]) -> str:
    """The print version of the sheet, exactly as /sheet.pdf draws it."""
    with app.test_request_context("/sheet.pdf"):
        return render_sheet(current_ruleset(), answers, print_mode=True)


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return " ".join(done.stdout.split())


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
    assert f"Rule set {ruleset.version} ({ruleset.sha256[:12]})" in text
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
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": True,
            "PDF_RATE_LIMIT": "1 per minute",
        }
    )
    client = app.test_client()
    with_answers(client, TYPICAL)
    assert client.get("/sheet.pdf").status_code == 200

    response = client.get("/sheet.pdf")

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Sorry, there have been too many attempts" in response.text
