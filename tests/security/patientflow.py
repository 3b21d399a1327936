"""A patient's way through the web form and the send form, as a browser would go.

Works with a Flask test client (in-process) and with ``RemoteClient`` (a running server).
Shared by the tests and by the worker scripts they start as separate processes, so every
submission they make goes through the same pages, CSRF checks and validation a browser's does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import requests
from flask.testing import FlaskClient

from questionnaire.engine import RuleSet

REFERENCE = re.compile(r"\b[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3}\b")


class RemoteClient:
    """A browser session against a running server: keeps cookies, follows no redirect."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base_url + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base_url + path, allow_redirects=False, timeout=30, **kwargs)

    def close(self) -> None:
        self.session.close()


Client = FlaskClient | RemoteClient

# Asks every question of the form, follow-ups and free text included.
ANSWERS: dict[str, Any] = {
    "pain_duration": "3_to_6_months",
    "pain_location": ["lower_back"],
    "limb_pain": "leg",
    "pain_score": 7,
    "red_flags": ["none"],
    "conservative_care": ["physical_therapy", "pain_medicine"],
    "earlier_injections": "yes",
    "injection_relief": "1_to_4_weeks",
    "diagnosis_given": "yes",
    "diagnosis_details": "Worn discs in the lower back",
    "imaging_done": "yes",
    "blood_thinners": "yes",
    "blood_thinner_name": "Apixaban twice a day",
    "bleeding_disorder": "no",
    "diabetes": "yes",
    "diabetes_control": "yes",
    "infection": "no",
    "allergies": ["contrast_dye", "other"],
    "allergy_other": "Sticking plasters",
    "pregnancy": "not_applicable",
    "driver": "yes",
    "anything_else": "I use a walking stick",
}


def answers_with_marker(rs: RuleSet, marker: str) -> dict[str, Any]:
    """ANSWERS with ``marker`` inside every free-text answer."""
    answers = dict(ANSWERS)
    for question in rs.question_by_id.values():
        if question.kind == "short_text":
            answers[question.id] = f"{marker} {question.id}"
    return answers


_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')


def hidden_inputs(html: str) -> dict[str, str]:
    """The hidden inputs of a page (CSRF token, idempotency key) by name."""
    values: dict[str, str] = {}
    for tag in _INPUT.findall(html):
        attributes = {name.lower(): unescape(value) for name, value in _ATTRIBUTE.findall(tag)}
        if attributes.get("type") == "hidden" and attributes.get("name"):
            values[attributes["name"]] = attributes.get("value", "")
    return values


def page_form(rs: RuleSet, page_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """A page's fields as a browser posts them: a list for ticked boxes, text otherwise."""
    form: dict[str, Any] = {}
    for question in rs.page_by_id[page_id].questions:
        if question.id not in answers:
            continue
        value = answers[question.id]
        form[question.id] = [str(item) for item in value] if isinstance(value, list) else str(value)
    return form


def fill_in(client: Client, rs: RuleSet, answers: dict[str, Any] | None = None) -> None:
    """Answer every page that is asked, in order, as a patient would; ends on /check."""
    answers = ANSWERS if answers is None else answers
    for page in rs.questionnaire.pages:
        url = f"/questions/{page.id}"
        shown = client.get(url)
        if shown.status_code == 302:
            continue  # every question on this page is hidden by earlier answers
        assert shown.status_code == 200, (url, shown.status_code)
        token = hidden_inputs(shown.text)["csrf_token"]
        posted = client.post(url, data={**page_form(rs, page.id, answers), "csrf_token": token})
        assert posted.status_code == 302, (url, posted.status_code)
    check = client.get("/check")
    assert check.status_code == 200, ("/check", check.status_code, check.headers.get("Location"))


def send_details(patient_name: str) -> dict[str, str]:
    """The send form's fields, apart from the CSRF token and the idempotency key."""
    appointment = datetime.now(UTC).date() + timedelta(days=14)
    return {
        "consent": "yes",
        "patient_name": patient_name,
        "dob-day": "7",
        "dob-month": "3",
        "dob-year": "1956",
        "appointment-day": str(appointment.day),
        "appointment-month": str(appointment.month),
        "appointment-year": str(appointment.year),
    }


def open_send_form(client: Client) -> dict[str, str]:
    """GET /send; its hidden fields (CSRF token and idempotency key)."""
    shown = client.get("/send")
    assert shown.status_code == 200, ("/send", shown.status_code, shown.headers.get("Location"))
    return hidden_inputs(shown.text)


def send(client: Client, patient_name: str) -> str:
    """Send the finished answers to the clinic chosen earlier; the reference acknowledged."""
    hidden = open_send_form(client)
    posted = client.post("/send", data={**send_details(patient_name), **hidden})
    assert posted.status_code == 303, ("/send", posted.status_code)
    return acknowledged_reference(client)


def acknowledged_reference(client: Client) -> str:
    """The reference the confirmation page shows."""
    if isinstance(client, FlaskClient):
        # Read from the signed session the page is drawn from: no extra request.
        return str(session_data(client)["sent"]["reference"])
    page = client.get("/send/done")
    assert page.status_code == 200, ("/send/done", page.status_code)
    match = REFERENCE.search(page.text)
    assert match, "the confirmation page shows no reference code"
    return match.group(0)


def staff_search(client: Client, text: str) -> Any:
    """Search the staff list as staff do: the filter form posted, then the address it leads
    to (where the search is sealed) opened. Gives that page's answer."""
    token = hidden_inputs(client.get("/clinic/").text)["csrf_token"]
    posted = client.post("/clinic/", data={"csrf_token": token, "q": text})
    assert posted.status_code == 303, f"search refused ({posted.status_code})"
    location = posted.headers["Location"]
    path = location[location.index("/clinic/") :]  # a test client may give a full URL
    return client.get(path)


def session_data(client: FlaskClient) -> dict[str, Any]:
    """The patient's session as the server will read it from the cookie (empty if none)."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return {}
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    data: dict[str, Any] = serializer.loads(cookie.value)
    return data
