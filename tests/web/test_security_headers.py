"""Security headers on every response, CSRF refusal, cookies, and friendly error pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from patient_forms import Patient, csrf_token
from support.answer_sets import TYPICAL
from support.testapp import app_with
from werkzeug.exceptions import TooManyRequests

from questionnaire import create_app
from questionnaire.engine import RuleSet
from questionnaire.web.errors import ANSWERS_KEPT, CSRF_PAGE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def boom() -> str:
    raise RuntimeError("patient answer: secret")


def too_many() -> str:
    raise TooManyRequests()


@pytest.fixture
def failing_app(tmp_path: Path) -> Flask:
    """An app with routes that fail, and exceptions turned into pages as in production."""
    app = create_app(
        {
            "TESTING": True,
            "PROPAGATE_EXCEPTIONS": False,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "SECURE_COOKIES": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    app.add_url_rule("/boom", view_func=boom)
    app.add_url_rule("/busy", view_func=too_many)
    return app


def assert_security_headers(response: object, *, cached: bool = False) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    if cached:
        assert "no-store" not in headers.get("Cache-Control", "")
    else:
        assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "url", ["/", "/questions/your-pain", "/guide", "/clear", "/check", "/urgent"]
)
def test_pages_carry_the_security_headers(client: FlaskClient, url: str) -> None:
    response = client.get(url)

    assert response.status_code in (200, 302)
    assert_security_headers(response)
    assert "Strict-Transport-Security" not in response.headers


def test_pages_with_answers_carry_the_security_headers(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    Patient(client, ruleset).complete(TYPICAL)

    for url in ("/check", "/sheet", "/sheet.pdf"):
        response = client.get(url)
        assert response.status_code == 200
        assert_security_headers(response)


def test_static_files_may_be_cached(client: FlaskClient) -> None:
    response = client.get("/static/css/main.css")

    assert response.status_code == 200
    assert_security_headers(response, cached=True)
    response.close()


def test_https_responses_ask_for_https_only(client: FlaskClient) -> None:
    response = client.get("/", base_url="https://localhost")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_behind_a_proxy_https_is_read_from_the_proxy(tmp_path: Path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "PROXY_HOPS": 1,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SECURE_COOKIES": False,
            "INSTANCE_PATH": str(tmp_path),
        }
    )
    client = app.test_client()
    through_https = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert through_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_a_header_a_view_sets_too_is_sent_once(client: FlaskClient) -> None:
    response = client.get("/api/no-such-thing")  # the API's errors set Cache-Control themselves

    assert response.headers.getlist("Cache-Control") == ["no-store"]
    for name in ("Content-Security-Policy", "X-Frame-Options", "Pragma"):
        assert len(response.headers.getlist(name)) == 1


@pytest.mark.parametrize(
    ("method", "url", "status", "title"),
    [
        ("GET", "/no-such-page", 404, "Page not found"),
        ("DELETE", "/guide", 405, "Sorry, that action is not possible here"),
        ("POST", "/questions/your-pain", 400, "Sorry, this form could not be checked"),
    ],
)
def test_error_pages_are_friendly_and_carry_the_headers(
    client: FlaskClient, method: str, url: str, status: int, title: str
) -> None:
    response = client.open(url, method=method)

    assert response.status_code == status
    assert f"<h1>{title}</h1>" in response.text
    assert '<a href="/">Go to the start page</a>' in response.text
    assert "Traceback" not in response.text
    assert_security_headers(response)


def test_a_method_not_allowed_names_the_allowed_ones(client: FlaskClient) -> None:
    response = client.delete("/guide")

    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


def test_an_api_error_is_json_with_the_headers(client: FlaskClient) -> None:
    response = client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response.is_json
    assert_security_headers(response)


def test_a_crash_shows_a_page_without_details(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/boom")

    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.text
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert_security_headers(response)


def test_a_crash_says_answers_are_kept_only_to_a_patient_who_has_some(
    failing_app: Flask,
) -> None:
    failing_app.add_url_rule("/clinic/boom", endpoint="clinic_boom", view_func=boom)
    client = failing_app.test_client()
    assert ANSWERS_KEPT not in client.get("/boom").text  # nothing answered in this browser
    with client.session_transaction() as session:
        session["answers"] = {"pain_duration": "over_6_months"}
    assert ANSWERS_KEPT in client.get("/boom").text
    assert ANSWERS_KEPT not in client.get("/clinic/boom").text  # staff pages hold no answers


def test_a_form_that_cannot_be_checked_says_answers_are_kept_only_when_they_are(
    tmp_path: Path,
) -> None:
    app = app_with(tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    expired = client.post("/questions/your-pain", data={"pain_duration": "over_6_months"})
    assert expired.status_code == 400
    assert CSRF_PAGE.title in expired.text and ANSWERS_KEPT not in expired.text
    with client.session_transaction() as session:
        session["answers"] = {"pain_duration": "over_6_months"}
    kept = client.post("/questions/warning-signs", data={"red_flags": "none"})
    assert kept.status_code == 400 and ANSWERS_KEPT in kept.text


def test_a_staff_address_not_found_keeps_the_staff_pages_name(client: FlaskClient) -> None:
    staff = client.get("/clinic/submissions/2147483648")  # past the largest row id
    patient = client.get("/no-such-page")
    assert staff.status_code == patient.status_code == 404
    assert "Clinic: pre-consultation answers" in staff.text
    assert "Go to the list of submissions" in staff.text and "start page" not in staff.text
    # The header leads back to the staff pages, and the patient pages' footer links are not
    # offered to staff.
    assert 'href="/clinic/" class="header__service"' in staff.text
    assert "Start again and clear my answers" not in staff.text
    assert "recorded in the audit log" in staff.text
    assert "Clinic: pre-consultation answers" not in patient.text
    assert "Go to the start page" in patient.text
    assert "Start again and clear my answers" in patient.text


def test_too_many_requests_has_its_own_page(failing_app: Flask) -> None:
    response = failing_app.test_client().get("/busy")

    assert response.status_code == 429
    assert "Sorry, there have been too many attempts" in response.text
    assert_security_headers(response)


def test_too_large_a_post_is_refused_with_a_page(client: FlaskClient) -> None:
    response = client.post("/questions/last-things", data={"anything_else": "x" * (300 * 1024)})

    assert response.status_code == 413
    assert "Sorry, what you sent is too large" in response.text
    assert_security_headers(response)


@pytest.mark.parametrize("token", [None, "not-a-real-token"])
def test_a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, token: str | None
) -> None:
    client.get("/questions/your-pain")
    data = {"pain_duration": "under_6_weeks"}
    if token is not None:
        data["csrf_token"] = token

    response = client.post("/questions/your-pain", data=data)

    assert response.status_code == 400
    assert "Sorry, this form could not be checked" in response.text
    with client.session_transaction() as session:
        assert "answers" not in session


def test_clearing_answers_needs_the_csrf_token(client: FlaskClient, ruleset: RuleSet) -> None:
    Patient(client, ruleset).complete(TYPICAL)

    assert client.post("/clear").status_code == 400
    with client.session_transaction() as session:
        assert session["answers"] == TYPICAL


def test_every_form_carries_a_csrf_token(client: FlaskClient, ruleset: RuleSet) -> None:
    Patient(client, ruleset).complete(TYPICAL)
    urls = [f"/questions/{page.id}" for page in ruleset.questionnaire.pages] + ["/clear"]

    for url in urls:
        page = client.get(url).text
        forms = re.findall(r"<form\b.*?</form>", page, re.S)
        assert forms, url
        for form in forms:
            assert csrf_token(form)


def test_no_page_has_inline_script_or_style(client: FlaskClient, ruleset: RuleSet) -> None:
    patient = Patient(client, ruleset)
    errors = patient.answer_page("your-pain", {}).text
    patient.complete({**TYPICAL, "red_flags": ["cancer_history"]})
    pages = [errors] + [
        client.get(url).text
        for url in (
            "/",
            "/questions/care-so-far",
            "/urgent",
            "/check",
            "/sheet",
            "/guide",
            "/clear",
            "/nope",
        )
    ]

    for page in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert "<style" not in page
        assert not re.search(r"\sstyle=", page)
        assert not re.search(r"\son[a-z]+=", page)


def test_the_session_cookie_is_http_only_and_same_site(
    client: FlaskClient, ruleset: RuleSet
) -> None:
    response = Patient(client, ruleset).answer_page("your-pain", TYPICAL)

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_the_session_cookie_is_secure_and_host_only_outside_local_runs(tmp_path: Path) -> None:
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "RATELIMIT_ENABLED": False,
        }
    )
    client = app.test_client()

    response = client.get("/questions/your-pain", base_url="https://localhost")

    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
