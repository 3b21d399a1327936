"""Who may reach what: one table, every route of the app, five kinds of visitor.

A route added to the app without a row here fails ``test_every_route_is_in_the_table``, so
nobody can add a page without deciding who may see it. Each request starts from the visitor's
own session as it was after signing in (or answering), so one row never changes another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from harness import Clinics, build_app, seed_clinics, send_to_clinic_a, staff_login
from patientflow import ANSWERS, page_form
from support.answer_sets import TYPICAL

from questionnaire.clinic import store
from questionnaire.clinic.models import StaffUser
from questionnaire.clinic.passwords import hash_password
from questionnaire.extensions import db

ACTORS = ("anonymous", "patient", "staff_a", "staff_b", "admin_a")
# The patient has answered these pages, through clinic A's link, and not the rest.
PATIENT_PAGES = ("your-pain", "warning-signs")
NEXT_FOR_PATIENT = "/questions/care-so-far"
FIRST_PAGE = "/questions/your-pain"
SECOND_PAGE = "/questions/warning-signs"

SUBMISSION = "/clinic/submissions/{submission}"


@dataclass(frozen=True)
class Redirect:
    """A redirect to this path (the query string, such as ``next=``, is not compared)."""

    path: str

    def __str__(self) -> str:
        return f"redirect to {self.path}"


Expect = int | Redirect
LOGIN = Redirect("/clinic/login")
DASHBOARD = Redirect("/clinic/")
START = Redirect("/")
STAFF_LIST = Redirect("/clinic/staff")
ACCOUNT = Redirect("/clinic/account")
DETAIL = Redirect(SUBMISSION)
FIRST = Redirect(FIRST_PAGE)
SECOND = Redirect(SECOND_PAGE)
CHECK = Redirect("/check")
RESUME = Redirect(NEXT_FOR_PATIENT)  # the first page the patient has not answered

# Where each endpoint is reached, with its URL parameters filled in from the site fixture.
URLS = {
    "api.evaluate": "/api/v1/evaluate",
    "api.openapi": "/api/v1/openapi.json",
    "api.questionnaire": "/api/v1/questionnaire",
    "patient.start": "/",
    "patient.guide": "/guide",
    "patient.question": FIRST_PAGE,
    "patient.urgent": "/urgent",
    "patient.check": "/check",
    "patient.sheet": "/sheet",
    "patient.sheet_pdf": "/sheet.pdf",
    "patient.clear": "/clear",
    "sending.start": "/c/{clinic}/",
    "sending.send": "/send",
    "sending.sent": "/send/done",
    "clinic_auth.login": "/clinic/login",
    "clinic_auth.login_code": "/clinic/login/code",
    "clinic_auth.totp_setup": "/clinic/totp/setup",
    "clinic_auth.logout": "/clinic/logout",
    "clinic_staff.index": "/clinic/staff",
    "clinic_staff.new": "/clinic/staff/new",
    "clinic_staff.disable": "/clinic/staff/{user}/disable",
    "clinic_staff.reset": "/clinic/staff/{user}/reset",
    "clinic_auth.choose_password": "/clinic/login/new-password",
    "clinic_account.index": "/clinic/account",
    "clinic_account.change_password": "/clinic/account/password",
    "clinic_account.end_other_sessions": "/clinic/account/sessions/end",
    "clinic_confirm.confirm": "/clinic/confirm",
    "clinic_new_phone.start": "/clinic/account/code",
    "clinic_new_phone.new_phone": "/clinic/account/code/new",
    "clinic.index": "/clinic/",
    "clinic.submission_detail": SUBMISSION,
    "clinic.submission_fhir": SUBMISSION + "/fhir.json",
    "clinic.submission_review": SUBMISSION + "/review",
    "clinic.export_csv": "/clinic/export.csv",
    "clinic.export_json": "/clinic/export.json",
    "clinic.fhir_questionnaire": "/clinic/fhir/Questionnaire.json",
    "clinic.audit_log": "/clinic/audit",
}

# What is posted; every other POST sends an empty form.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("api.evaluate", "POST"): {"json": TYPICAL},
    ("clinic_auth.login_code", "POST"): {"data": {"code": "123456"}},
    ("clinic_auth.totp_setup", "POST"): {"data": {"code": "123456"}},
    ("clinic.submission_review", "POST"): {"data": {"note": "Called the patient back."}},
}

Expectations = tuple[Expect, Expect, Expect, Expect, Expect]

# fmt: off
TABLE: dict[tuple[str, str], Expectations] = {
    #                                      anonymous  patient   staff A    staff B    admin A
    # The JSON API: open to everyone, stores nothing.
    ("api.evaluate", "POST"):               (200,      200,      200,       200,       200),
    ("api.openapi", "GET"):                 (200,      200,      200,       200,       200),
    ("api.questionnaire", "GET"):           (200,      200,      200,       200,       200),
    # The patient's pages: open to everyone; each browser sees only its own answers.
    ("patient.start", "GET"):               (200,      200,      200,       200,       200),
    ("patient.guide", "GET"):               (200,      200,      200,       200,       200),
    ("patient.question", "GET"):            (200,      200,      200,       200,       200),
    ("patient.question", "POST"):           (SECOND,   SECOND,   SECOND,    SECOND,    SECOND),
    ("patient.urgent", "GET"):              (START,    START,    START,     START,     START),
    ("patient.check", "GET"):               (FIRST,    RESUME,   FIRST,     FIRST,     FIRST),
    ("patient.sheet", "GET"):               (FIRST,    RESUME,   FIRST,     FIRST,     FIRST),
    ("patient.sheet_pdf", "GET"):           (FIRST,    RESUME,   FIRST,     FIRST,     FIRST),
    ("patient.clear", "GET"):               (200,      200,      200,       200,       200),
    ("patient.clear", "POST"):              (START,    START,    START,     START,     START),
    # Sending: needs a clinic's link first, then finished answers.
    ("sending.start", "GET"):               (START,    START,    START,     START,     START),
    ("sending.send", "GET"):                (404,      CHECK,    404,       404,       404),
    ("sending.send", "POST"):               (404,      CHECK,    404,       404,       404),
    ("sending.sent", "GET"):                (404,      404,      404,       404,       404),
    # Signing in: the steps after the password need the password step first.
    ("clinic_auth.login", "GET"):           (200,      200,      DASHBOARD, DASHBOARD, DASHBOARD),
    ("clinic_auth.login", "POST"):          (400,      400,      DASHBOARD, DASHBOARD, DASHBOARD),
    ("clinic_auth.login_code", "GET"):      (LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    ("clinic_auth.login_code", "POST"):     (LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    ("clinic_auth.totp_setup", "GET"):      (LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    ("clinic_auth.totp_setup", "POST"):     (LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    ("clinic_auth.choose_password", "GET"): (LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    ("clinic_auth.choose_password", "POST"):(LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    ("clinic_auth.logout", "POST"):         (LOGIN,    LOGIN,    LOGIN,     LOGIN,     LOGIN),
    # Staff pages: signed-in staff only; another clinic's records do not exist (404).
    ("clinic.index", "GET"):                (LOGIN,    LOGIN,    200,       200,       200),
    ("clinic.index", "POST"):               (LOGIN,    LOGIN,    DASHBOARD, DASHBOARD, DASHBOARD),
    ("clinic.submission_detail", "GET"):    (LOGIN,    LOGIN,    200,       404,       200),
    ("clinic.submission_fhir", "GET"):      (LOGIN,    LOGIN,    200,       404,       200),
    ("clinic.submission_review", "POST"):   (LOGIN,    LOGIN,    DETAIL,    404,       DETAIL),
    ("clinic.export_csv", "GET"):           (LOGIN,    LOGIN,    200,       200,       200),
    ("clinic.export_json", "GET"):          (LOGIN,    LOGIN,    200,       200,       200),
    ("clinic.fhir_questionnaire", "GET"):   (LOGIN,    LOGIN,    200,       200,       200),
    # Each staff member's own account (an empty form is refused, changing nothing).
    ("clinic_account.index", "GET"):        (LOGIN,    LOGIN,    200,       200,       200),
    ("clinic_account.change_password", "POST"):
                                            (LOGIN,    LOGIN,    400,       400,       400),
    ("clinic_account.end_other_sessions", "POST"):
                                            (LOGIN,    LOGIN,    400,       400,       400),
    ("clinic_confirm.confirm", "GET"):      (LOGIN,    LOGIN,    200,       200,       200),
    ("clinic_confirm.confirm", "POST"):     (LOGIN,    LOGIN,    400,       400,       400),
    # Moving the sign-in code to a new phone: the new phone's page needs the first step done.
    ("clinic_new_phone.start", "POST"):     (LOGIN,    LOGIN,    400,       400,       400),
    ("clinic_new_phone.new_phone", "GET"):  (LOGIN,    LOGIN,    ACCOUNT,   ACCOUNT,   ACCOUNT),
    ("clinic_new_phone.new_phone", "POST"): (LOGIN,    LOGIN,    ACCOUNT,   ACCOUNT,   ACCOUNT),
    # Administrators only (403 for other staff).
    ("clinic.audit_log", "GET"):            (LOGIN,    LOGIN,    403,       403,       200),
    ("clinic_staff.index", "GET"):          (LOGIN,    LOGIN,    403,       403,       200),
    ("clinic_staff.new", "GET"):            (LOGIN,    LOGIN,    403,       403,       200),
    ("clinic_staff.new", "POST"):           (LOGIN,    LOGIN,    403,       403,       400),
    ("clinic_staff.reset", "GET"):          (LOGIN,    LOGIN,    403,       403,       200),
    ("clinic_staff.reset", "POST"):         (LOGIN,    LOGIN,    403,       403,       400),
    ("clinic_staff.disable", "GET"):        (LOGIN,    LOGIN,    403,       403,       200),
    ("clinic_staff.disable", "POST"):       (LOGIN,    LOGIN,    403,       403,       STAFF_LIST),
}
# fmt: on

# Signing out ends the server-side session the other rows of that visitor rely on.
LAST = ("clinic_auth.logout", "POST")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@dataclass
class Site:
    app: Flask
    cookies: dict[str, str | None]  # each visitor's session cookie
    params: dict[str, Any]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    app = build_app(tmp_path, WTF_CSRF_ENABLED=False)
    clinics = seed_clinics(app)
    with app.app_context():
        spare = store.create_staff_user(
            clinics.clinic_a_id, "spare.a@alpha.example.org", "Sam Spare", "staff",
            hash_password("another long passphrase 7"),
        )  # fmt: skip
        spare_id = spare.id
    submission_id = send_to_clinic_a(app.test_client(), clinics, "Ada Alpha")
    cookies = {
        "anonymous": None,
        "patient": _session_cookie(_patient(app)),
        "staff_a": _session_cookie(_signed_in(app, clinics.staff_a)),
        "staff_b": _session_cookie(_signed_in(app, clinics.staff_b)),
        "admin_a": _session_cookie(_signed_in(app, clinics.admin_a)),
    }
    params = {"submission": submission_id, "clinic": Clinics.slug_a, "user": spare_id}
    return Site(app, cookies, params)


def _patient(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.get(f"/c/{Clinics.slug_a}/")
    rs = app.extensions["ruleset"]
    for page_id in PATIENT_PAGES:
        answered = client.post(f"/questions/{page_id}", data=page_form(rs, page_id, ANSWERS))
        assert answered.status_code == 302
    return client


def _signed_in(app: Flask, account: Any) -> FlaskClient:
    client = app.test_client()
    staff_login(client, account)
    return client


def _session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def _request(site: Site, actor: str, endpoint: str, method: str) -> tuple[int, str | None]:
    client = site.app.test_client()
    cookie = site.cookies[actor]
    if cookie is not None:
        client.set_cookie(site.app.config["SESSION_COOKIE_NAME"], cookie)
    url = URLS[endpoint].format(**site.params)
    # A HEAD carries what the POST would: it must make no difference.
    posted = "POST" if method == "HEAD" else method
    body = BODIES.get((endpoint, posted), {"data": {}} if posted == "POST" else {})
    if (endpoint, posted) == ("patient.question", "POST"):
        body = {"data": page_form(site.app.extensions["ruleset"], "your-pain", ANSWERS)}
    response = client.open(url, method=method, **body)
    location = response.headers.get("Location")
    return response.status_code, urlsplit(location).path if location else None


def _matches(expect: Expect, status: int, location: str | None, params: dict[str, Any]) -> bool:
    if isinstance(expect, Redirect):
        return status in (302, 303) and location == expect.path.format(**params)
    return status == expect


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in (rule.methods or set()) - IGNORED_METHODS
    }


def test_every_route_is_in_the_table(app: Flask) -> None:
    routes = _routes(app)
    missing = sorted(routes - set(TABLE))
    assert not missing, "\n".join(
        f"add an entry for endpoint {endpoint} ({method}) to TABLE in {__file__}"
        for endpoint, method in missing
    )
    stale = sorted(set(TABLE) - routes)
    assert not stale, f"TABLE has rows for routes the app no longer has: {stale}"


def test_each_visitor_reaches_only_what_the_table_allows(site: Site) -> None:
    order = sorted(TABLE, key=lambda key: key == LAST)
    wrong: list[str] = []
    for actor_index, actor in enumerate(ACTORS):
        for endpoint, method in order:
            expect = TABLE[(endpoint, method)][actor_index]
            status, location = _request(site, actor, endpoint, method)
            if not _matches(expect, status, location, site.params):
                got = f"{status}" + (f" to {location}" if location else "")
                wrong.append(f"{actor}: {method} {endpoint}: expected {expect}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_a_head_is_answered_as_a_get_even_with_a_form_in_it(site: Site) -> None:
    """Flask sends a HEAD to the GET's view; neither CSRF protection nor the rate limits look
    at a HEAD, so one carrying the POST's form must be shown the page, never take the POST's
    path (sign in, save answers, store a submission)."""
    both = sorted(
        {endpoint for endpoint, method in TABLE if method == "POST"}
        & {endpoint for endpoint, method in TABLE if method == "GET"}
    )
    assert len(both) >= 8
    wrong: list[str] = []
    for actor in ACTORS:
        for endpoint in both:
            shown = _request(site, actor, endpoint, "GET")
            headed = _request(site, actor, endpoint, "HEAD")
            if headed != shown:
                wrong.append(f"{actor}: HEAD {endpoint} gave {headed}, GET {shown}")
    assert not wrong, "\n".join(wrong)


def test_staff_pages_refuse_every_visitor_who_is_not_signed_in(site: Site) -> None:
    """Whatever the table says, no /clinic/ page but the sign-in steps opens without a login."""
    sign_in = {
        "clinic_auth.login",
        "clinic_auth.login_code",
        "clinic_auth.totp_setup",
        "clinic_auth.choose_password",
    }
    checked = 0
    for endpoint, method in TABLE:
        url = URLS[endpoint]
        if not url.startswith("/clinic/") or endpoint in sign_in:
            continue
        for actor in ("anonymous", "patient"):
            status, location = _request(site, actor, endpoint, method)
            assert status in (302, 401, 403), f"{actor} {method} {url}: {status}"
            if status == 302:
                assert location == LOGIN.path, f"{actor} {method} {url} -> {location}"
            checked += 1
    assert checked >= 20


def test_refused_requests_change_no_staff_account(site: Site) -> None:
    """Only the admin's request disables the spare account; the refused ones leave it alone."""
    route = ("clinic_staff.disable", "POST")
    for actor in ("anonymous", "patient", "staff_a", "staff_b"):
        _request(site, actor, *route)
        assert _disabled_at(site) is None, f"{actor} disabled an account"
    _request(site, "admin_a", *route)
    assert _disabled_at(site) is not None


def test_showing_the_turn_off_page_changes_no_staff_account(site: Site) -> None:
    """Only the POST turns an account off: a GET or a HEAD, even carrying the POST's form,
    leaves it on, whoever asks."""
    for actor in ACTORS:
        for method in ("GET", "HEAD"):
            _request(site, actor, "clinic_staff.disable", method)
            assert _disabled_at(site) is None, f"{actor}'s {method} turned an account off"


def _disabled_at(site: Site) -> Any:
    with site.app.app_context():
        user = db.session.get(StaffUser, site.params["user"])
        assert user is not None
        return user.disabled_at
