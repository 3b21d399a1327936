"""A live server running the real app, and one headless Chromium for the whole session.

Chromium is the Debian package at /usr/bin/chromium, driven by Playwright's sync API; Playwright's
own browser downloads are never used. Each test gets fresh browser contexts (own cookies), so
tests do not share answers. Screenshots land in test-artifacts/screenshots/ at the repo root.
"""

from __future__ import annotations

import re
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask, got_request_exception
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Error,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from questionnaire import create_app
from questionnaire.engine import Result, RuleSet
from questionnaire.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_CONFTEST = PROJECT_ROOT / "tests" / "conftest.py"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PHONE = 390
DESKTOP = 1280
WIDTHS = (PHONE, DESKTOP)
VIEWPORT_HEIGHT = 844
SERVICE_NAME = "Prepare to talk about back injections"
# WCAG 2.2 level A and AA, as axe-core tags them.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE = Axe()


class QuietHandler(WSGIRequestHandler):
    """Request lines are left out of the test output; server errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class LiveServer:
    app: Flask
    url: str
    # Exceptions raised inside views: a page that looks fine may still have failed server-side.
    errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "INSTANCE_PATH": str(folder / "instance"),
            "SECRET_KEY": "browser-test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.sqlite3'}",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler
    )
    live = LiveServer(app, f"http://127.0.0.1:{server.server_port}")

    def record(sender: Flask, exception: BaseException, **extra: Any) -> None:
        live.errors.append(f"{type(exception).__name__}: {exception}")

    got_request_exception.connect(record, app, weak=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield live
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    got_request_exception.disconnect(record, app)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def require(pytestconfig: pytest.Config) -> Callable[[bool, str], None]:
    """``require`` from tests/conftest.py: skip on a developer machine, fail on CI.

    Every conftest.py outside a package is the module "conftest", so the shared one cannot be
    imported by name from here; pytest keeps it as a plugin named by its path.
    """
    shared = pytestconfig.pluginmanager.get_plugin(str(SHARED_CONFTEST))
    assert shared is not None, f"{SHARED_CONFTEST} was not loaded"
    function: Callable[[bool, str], None] = shared.require
    return function


@pytest.fixture(scope="session")
def browser(playwright: Playwright, require: Callable[[bool, str], None]) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        require(False, f"Chromium at {CHROMIUM}")
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Error as error:
        require(False, f"Chromium at {CHROMIUM} (launch failed: {error.message.splitlines()[0]})")
        raise  # unreachable: require() skips or fails
    yield chromium
    chromium.close()


@dataclass
class Session:
    """One patient's browser context, with the problems its pages reported."""

    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)


def open_session(
    browser: Browser, live_server: LiveServer, *, javascript: bool = True, width: int = DESKTOP
) -> Session:
    """A fresh context (own cookies) with one page whose console errors are collected."""
    context = browser.new_context(
        base_url=live_server.url,
        java_script_enabled=javascript,
        viewport={"width": width, "height": VIEWPORT_HEIGHT},
        accept_downloads=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    session = Session(context, page)

    def on_console(message: Any) -> None:
        where = message.location.get("url", "")
        # CSP refusals and script errors both reach the console as errors. Left out: the
        # status of the page itself (tests check it), and /favicon.ico, which the browser
        # asks for on its own when a page names no icon.
        if message.type != "error" or where == page.url or urlsplit(where).path == "/favicon.ico":
            return
        session.console_errors.append(f"{message.text} ({where})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: session.console_errors.append(str(error)))
    return session


def problems_since(sessions: list[Session], live_server: LiveServer, errors_before: int) -> str:
    problems = [f"browser console: {text}" for s in sessions for text in s.console_errors]
    problems += [f"server: {text}" for text in live_server.errors[errors_before:]]
    return "\n".join(problems)


@pytest.fixture
def new_session(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., Session]]:
    """Opens sessions for one test; afterwards no page or server error may remain."""
    sessions: list[Session] = []
    errors_before = len(live_server.errors)

    def opener(*, javascript: bool = True, width: int = DESKTOP) -> Session:
        session = open_session(browser, live_server, javascript=javascript, width=width)
        sessions.append(session)
        return session

    yield opener
    problems = problems_since(sessions, live_server, errors_before)
    for session in sessions:
        session.context.close()
    assert not problems, problems


@pytest.fixture
def session(new_session: Callable[..., Session]) -> Session:
    return new_session()


@pytest.fixture
def page(session: Session) -> Page:
    return session.page


# ---------------------------------------------------------------------------------------------
# Checks shared by the test modules
# ---------------------------------------------------------------------------------------------


def axe_violations(page: Page) -> list[str]:
    """Every WCAG 2.2 A/AA violation on the page, one line each: rule, impact and the nodes."""
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    results = AXE.run(page, options=options)
    lines = []
    for violation in results.response["violations"]:
        targets = "; ".join(
            " ".join(str(part) for part in node["target"]) for node in violation["nodes"]
        )
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} -> {targets}")
    return lines


def audit_page(page: Page, name: str) -> None:
    """Screenshot the whole page at phone and desktop widths (as <name>-<width>.png) and
    check it with axe at both widths: reflow can break what one width gets right."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    problems = []
    try:
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": VIEWPORT_HEIGHT})
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
            problems += [f"at {width}px: {line}" for line in axe_violations(page)]
    finally:
        if original is not None:
            page.set_viewport_size(original)
    assert not problems, f"axe found problems on {name} ({page.url}):\n" + "\n".join(problems)


def assert_error_summary_links_to_fields(page: Page) -> None:
    """The GOV.UK error summary: "There is a problem", then one link per error, each to the
    form field it is about, listed in the order the fields appear on the page."""
    summary = page.locator(".error-summary")
    # Waits for the page the form was posted to (a click does not wait for it to load).
    expect(summary, f"no error summary on {page.url}").to_be_visible()
    assert summary.locator("h2").inner_text().strip() == "There is a problem"
    hrefs = [link.get_attribute("href") or "" for link in summary.locator("a").all()]
    assert hrefs, "the error summary lists no errors"
    assert all(href.startswith("#") for href in hrefs), hrefs
    ids = [href.removeprefix("#") for href in hrefs]
    places = page.evaluate(
        """(ids) => {
          const fields = Array.from(document.querySelectorAll("input, textarea, select"));
          return ids.map((id) => fields.indexOf(document.getElementById(id)));
        }""",
        ids,
    )
    missing = [href for href, place in zip(hrefs, places, strict=True) if place < 0]
    assert not missing, f"error summary links that reach no form field: {missing}"
    assert places == sorted(places), f"error summary out of the page's field order: {hrefs}"


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page\b")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def printed_pages(page: Page, paper: str, name: str) -> list[str]:
    """The page as the browser prints it on ``paper`` (with backgrounds): the text of each
    printed page, as pdftotext reads it. The PDF is kept as test-artifacts/<name>.pdf."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(page.pdf(format=paper, print_background=True))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    # pdftotext ends each page with a form feed.
    return text.split("\f")[:-1]


def pdf_page_count(pdf: bytes) -> int:
    """Pages in a PDF: with pypdf when installed, else by counting page objects.

    Page objects may sit inside compressed object streams (WeasyPrint puts them there), so
    every Flate stream is inflated and searched too; content streams never name a page type.
    """
    try:
        from pypdf import PdfReader
    except ImportError:
        count = len(_PAGE_OBJECT.findall(pdf))
        for stream in _STREAM.findall(pdf):
            try:
                count += len(_PAGE_OBJECT.findall(zlib.decompress(stream)))
            except zlib.error:
                continue  # not Flate-encoded (an image, say): no page objects inside
        return count
    return len(PdfReader(BytesIO(pdf)).pages)


# ---------------------------------------------------------------------------------------------
# Patients: answers per page, and filling the form in as a patient would
# ---------------------------------------------------------------------------------------------

Answer = str | list[str]
PatientAnswers = dict[str, dict[str, Answer]]

# A typical patient: months of low back pain down a leg, on a blood thinner, with diabetes.
TYPICAL_PATIENT: PatientAnswers = {
    "your-pain": {
        "pain_duration": "3_to_6_months",
        "pain_location": ["lower_back"],
        "limb_pain": "leg",
        "pain_score": "6",
    },
    "warning-signs": {"red_flags": ["none"]},
    "care-so-far": {
        "conservative_care": ["physical_therapy", "pain_medicine"],
        "earlier_injections": "no",
    },
    "cause-and-scans": {
        "diagnosis_given": "yes",
        "diagnosis_details": "Sciatica from a slipped disc",
        "imaging_done": "yes",
    },
    "blood-and-bleeding": {
        "blood_thinners": "yes",
        "blood_thinner_name": "Apixaban 5 mg twice a day",
        "bleeding_disorder": "no",
    },
    "diabetes": {"diabetes": "yes", "diabetes_control": "yes"},
    "infection": {"infection": "no"},
    "allergies": {"allergies": ["none"]},
    "pregnancy": {"pregnancy": "not_applicable"},
    "last-things": {"driver": "yes"},
}

# The same patient, with two red-flag symptoms ticked.
RED_FLAG_PATIENT: PatientAnswers = {
    **TYPICAL_PATIENT,
    "warning-signs": {"red_flags": ["saddle_numbness", "fever_or_chills"]},
}


def by_page(ruleset: RuleSet, answers: Mapping[str, Any]) -> PatientAnswers:
    """Flat answers (``tests/support/answer_sets.py``) grouped by the page that asks them,
    numbers written as text, as a patient types them."""
    grouped: PatientAnswers = {}
    for page in ruleset.questionnaire.pages:
        for question in page.questions:
            if question.id in answers:
                value = answers[question.id]
                typed = [str(item) for item in value] if isinstance(value, list) else str(value)
                grouped.setdefault(page.id, {})[question.id] = typed
    return grouped


def flat_answers(patient: PatientAnswers) -> dict[str, Answer]:
    return {qid: value for answers in patient.values() for qid, value in answers.items()}


def expected_result(ruleset: RuleSet, patient: PatientAnswers) -> Result:
    """What the engine makes of these answers: the sheet in the browser must show the same."""
    return ruleset.evaluate(ruleset.validate(flat_answers(patient)))


def page_title(title: str) -> str:
    """A page's full <title>: its own title, an en dash, the service name."""
    return f"{title} \N{EN DASH} {SERVICE_NAME}"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def wait_for_path(page: Page, path: str) -> None:
    """Wait until the browser shows ``path`` (any query or fragment: a fragment outlives a
    redirect, as browsers keep it when the new address has none)."""
    page.wait_for_url(lambda url: urlsplit(url).path == path)


def page_id_of(path: str) -> str | None:
    match = re.fullmatch(r"/questions/([a-z0-9_-]+)", path)
    return match.group(1) if match else None


def answer_page(page: Page, ruleset: RuleSet, answers: dict[str, Answer]) -> None:
    """Tick, choose and type this page's answers with the mouse, then press Continue."""
    for qid, value in answers.items():
        question = ruleset.question_by_id[qid]
        if question.kind in ("one_of", "yes_no", "any_of"):
            for choice in [value] if isinstance(value, str) else value:
                page.locator(f"input[name='{qid}'][value='{choice}']").check()
        else:
            assert isinstance(value, str)
            page.locator(f"#{qid}").fill(value)
    page.get_by_role("button", name="Continue", exact=True).click()


def complete_questionnaire(
    page: Page, ruleset: RuleSet, patient: PatientAnswers, *, from_start: bool = True
) -> list[str]:
    """Answer page after page up to "Check your answers"; gives the pages seen, in order.

    From the start page, or (``from_start=False``) from the page the browser is on. The
    urgent-care page is passed with its Continue link, as a patient would.
    """
    if from_start:
        page.goto("/")
        page.get_by_role("button", name="Start now").click()
    seen: list[str] = []
    for _ in range(len(ruleset.questionnaire.pages) + 2):
        page.wait_for_load_state()
        path = path_of(page)
        if path == "/check":
            return seen
        if path == "/urgent":
            seen.append("urgent")
            page.get_by_role("button", name="Continue with the questions").click()
            continue
        page_id = page_id_of(path)
        assert page_id is not None, f"unexpected page {page.url} in the questionnaire"
        assert page_id not in seen, f"page {page_id} was shown twice"
        seen.append(page_id)
        answer_page(page, ruleset, patient.get(page_id, {}))
        assert page.locator(".error-summary").count() == 0, (
            f"page {page_id} refused the answers: {page.locator('.error-summary').inner_text()}"
        )
    raise AssertionError(f"the questionnaire did not reach /check; stuck at {page.url}")
