"""Sending a sheet to a clinic: the clinic link, the consent form, one submission per form
however often it is sent, and a clear page when the database is down."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from support.testapp import app_with

from questionnaire.clinic import store
from questionnaire.clinic.models import AuditEvent, Clinic, Submission
from questionnaire.clinic.reference import spell_reference
from questionnaire.extensions import db

TODAY = datetime.now(UTC).date()
APPOINTMENT = TODAY + timedelta(days=20)
ANSWERS: dict[str, Any] = {
    "pain_duration": "over_6_months",
    "conservative_care": ["physical_therapy", "pain_medicine"],
    "blood_thinners": "not_sure",
    "diabetes": "no",
    "infection": "no",
    "red_flags": ["none"],
    "allergies": ["latex"],
}


def form_data(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """A complete, valid /send form, with the CSRF token and key from the page itself."""
    page = client.get("/send")
    assert page.status_code == 200, page.status_code
    text = page.get_data(as_text=True)
    data = {
        "csrf_token": hidden(text, "csrf_token"),
        "idempotency_key": hidden(text, "idempotency_key"),
        "patient_name": "Ada  Lovelace",
        "dob-day": "27",
        "dob-month": "3",
        "dob-year": "1960",
        "appointment-day": str(APPOINTMENT.day),
        "appointment-month": str(APPOINTMENT.month),
        "appointment-year": str(APPOINTMENT.year),
        "consent": "yes",
    }
    data.update(overrides)
    return data


def hidden(text: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', text)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def submissions() -> list[Submission]:
    with db.session.no_autoflush:
        rows = list(db.session.scalars(select(Submission)))
    db.session.commit()  # SQLite: release the read lock for the next request
    return rows


def errors_in(text: str) -> list[str]:
    summary = text.split('class="error-summary__list"', 1)[1].split("</ul>", 1)[0]
    return [html.unescape(item) for item in re.findall(r'<a href="#[^"]+">([^<]+)</a>', summary)]


@pytest.fixture
def clinic(app: Flask) -> Iterator[Clinic]:
    with app.app_context():
        clinic = store.create_clinic("north", "North Spine Clinic")
        db.session.expunge(clinic)
    with app.app_context():
        yield clinic


@pytest.fixture
def patient(client: FlaskClient, clinic: Clinic) -> FlaskClient:
    """A browser that came through the clinic's link and answered every question."""
    assert client.get("/c/north/").status_code == 302
    with client.session_transaction() as session:
        session["answers"] = dict(ANSWERS)
    return client


# --- the clinic link -------------------------------------------------------------------------


def test_the_clinic_link_remembers_the_clinic_and_starts_the_questions(
    client: FlaskClient, clinic: Clinic
) -> None:
    response = client.get("/c/north/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["clinic_slug"] == "north"


@pytest.mark.parametrize("slug", ["south", "NORTH", "x" * 300])
def test_an_unknown_clinic_link_gets_a_friendly_not_found_page(
    client: FlaskClient, clinic: Clinic, slug: str
) -> None:
    response = client.get(f"/c/{slug}/")
    assert response.status_code == 404
    assert "Clinic not found" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "clinic_slug" not in session


def test_the_sheet_offers_sending_only_to_the_clinic_the_patient_came_from(
    client: FlaskClient, patient: FlaskClient
) -> None:
    sheet = patient.get("/sheet").get_data(as_text=True)
    assert "Send my answers to North Spine Clinic" in sheet
    assert 'href="/send"' in sheet
    with patient.session_transaction() as session:
        del session["clinic_slug"]
    assert "Send my answers" not in patient.get("/sheet").get_data(as_text=True)


def test_send_without_a_clinic_explains_how_to_send(client: FlaskClient, clinic: Clinic) -> None:
    with client.session_transaction() as session:
        session["answers"] = dict(ANSWERS)
    response = client.get("/send")
    assert response.status_code == 404
    assert "open the link your clinic gave you" in response.get_data(as_text=True)


def test_unfinished_answers_go_back_to_check_your_answers(patient: FlaskClient) -> None:
    data = form_data(patient)
    with patient.session_transaction() as session:
        session["answers"] = {k: v for k, v in ANSWERS.items() if k != "blood_thinners"}
    for response in (patient.get("/send"), patient.post("/send", data=data)):
        assert response.status_code == 302
        assert response.headers["Location"] == "/check"
    assert submissions() == []


# --- the form --------------------------------------------------------------------------------


def test_the_form_asks_for_consent_name_and_dates_with_labels(patient: FlaskClient) -> None:
    text = patient.get("/send").get_data(as_text=True)
    assert "Send your answers to North Spine Clinic" in text
    assert "Sending is your choice" in text
    for field in (
        "patient_name",
        "dob-day",
        "dob-month",
        "dob-year",
        "appointment-day",
        "appointment-month",
        "appointment-year",
        "consent",
    ):
        assert f'id="{field}"' in text
        assert f'for="{field}"' in text, f"{field} has no label"
    # A reload keeps the same key, so the form in any tab sends once.
    assert hidden(text, "idempotency_key") == hidden(
        patient.get("/send").get_data(as_text=True), "idempotency_key"
    )


def test_each_patient_gets_their_own_token_and_key_and_their_clinics_name(
    app: Flask, patient: FlaskClient
) -> None:
    # The requests below run in this test's app context (see the clinic fixture).
    store.create_clinic("south", "South Back Clinic")
    other = app.test_client()
    assert other.get("/c/south/").status_code == 302
    with other.session_transaction() as session:
        session["answers"] = dict(ANSWERS)

    pages = []
    for client in (patient, other, patient):
        with app.app_context():  # each request its own, as outside tests (own ``g``)
            pages.append(client.get("/send").get_data(as_text=True))

    assert "Send your answers to North Spine Clinic" in pages[0]
    assert "Send your answers to South Back Clinic" in pages[1]
    assert "North Spine" not in pages[1]
    tokens = [hidden(page, "csrf_token") for page in pages]
    keys = [hidden(page, "idempotency_key") for page in pages]
    assert tokens[0] != tokens[1] and keys[0] != keys[1]
    assert (tokens[2], keys[2]) == (tokens[0], keys[0]), "showing the form again keeps its key"
    assert "<!--slot-" not in "".join(pages)


def test_sending_stores_one_submission_and_shows_a_reference(
    app: Flask, patient: FlaskClient
) -> None:
    response = patient.post("/send", data=form_data(patient))
    assert response.status_code == 303
    assert response.headers["Location"] == "/send/done"
    done = patient.get("/send/done").get_data(as_text=True)

    [row] = submissions()
    assert row.reference in done
    assert spell_reference(row.reference) in done  # for screen readers, letter by letter
    assert row.patient_name == "Ada Lovelace"
    assert row.patient_name_search == "ada lovelace"
    assert row.date_of_birth == date(1960, 3, 27)
    assert row.appointment_date == APPOINTMENT
    assert row.answers == ANSWERS
    assert row.result["ruleset"]["version"] == row.ruleset_version
    assert row.ruleset_sha256 == app.extensions["ruleset"].sha256
    assert row.flags == {
        "urgent": False,
        "blood_thinners": True,
        "diabetes": False,
        "infection": False,
        "allergies": True,
    }
    events = list(db.session.scalars(select(AuditEvent)))
    assert [(e.action, e.clinic_id, e.record_id) for e in events] == [
        ("submission_create", row.clinic_id, str(row.id))
    ]
    assert "Ada" not in (events[0].detail or "")


def test_a_double_click_or_refresh_stores_one_submission(patient: FlaskClient) -> None:
    data = form_data(patient)
    first = patient.post("/send", data=data)
    second = patient.post("/send", data=data)
    assert first.status_code == second.status_code == 303
    [row] = submissions()
    assert row.reference in patient.get("/send/done").get_data(as_text=True)


def test_the_same_form_sent_again_with_other_details_asks_before_sending_those_too(
    patient: FlaskClient,
) -> None:
    first = form_data(patient, patient_name="Wrong Name")
    assert patient.post("/send", data=first).status_code == 303
    [sent] = submissions()
    # A second tab still holds the same form, with the name put right.
    corrected = {**first, "patient_name": "Ada Lovelace", "dob-year": "1961"}

    again = patient.post("/send", data=corrected)

    text = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "You have already sent these answers with other details" in text
    assert sent.reference in text
    assert 'value="Ada Lovelace"' in text and 'value="1961"' in text  # kept as typed
    assert [row.patient_name for row in submissions()] == ["Wrong Name"]
    # Sending from that page is a new submission, with the corrected details.
    fresh_key = hidden(text, "idempotency_key")
    assert fresh_key != first["idempotency_key"]
    resent = patient.post("/send", data={**corrected, "idempotency_key": fresh_key})
    assert resent.status_code == 303
    assert sorted(row.patient_name for row in submissions()) == ["Ada Lovelace", "Wrong Name"]


def test_a_head_of_the_send_form_shows_it_and_stores_nothing(patient: FlaskClient) -> None:
    data = form_data(patient)
    headed = patient.open("/send", method="HEAD", data=data)
    assert headed.status_code == 200
    assert submissions() == []
    assert patient.post("/send", data=data).status_code == 303


def test_after_sending_the_sheet_says_so_before_offering_to_send_again(
    patient: FlaskClient,
) -> None:
    before = patient.get("/sheet").get_data(as_text=True)
    assert "Send my answers to North Spine Clinic" in before
    assert "You have sent your answers" not in before
    assert patient.post("/send", data=form_data(patient)).status_code == 303

    after = patient.get("/sheet").get_data(as_text=True)

    assert "You have sent your answers to North Spine Clinic." in after
    assert "Send my answers again" in after
    assert "Send my answers to North Spine Clinic" not in after


def test_a_new_form_after_sending_is_a_new_submission(patient: FlaskClient) -> None:
    first = form_data(patient)
    assert patient.post("/send", data=first).status_code == 303
    second = form_data(patient)
    assert second["idempotency_key"] != first["idempotency_key"]
    assert patient.post("/send", data=second).status_code == 303
    assert len(submissions()) == 2


def test_an_empty_form_names_every_problem_and_stores_nothing(patient: FlaskClient) -> None:
    data = form_data(patient, patient_name=" ", consent="")
    for part in ("day", "month", "year"):
        data[f"dob-{part}"] = data[f"appointment-{part}"] = ""
    response = patient.post("/send", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: " in text
    # In the order the fields stand on the page.
    assert errors_in(text) == [
        "Enter your full name",
        "Enter your date of birth",
        "Enter your appointment date",
        "Tick the box to agree to send your answers to the clinic",
    ]
    assert 'href="#consent"' in text and 'href="#dob-day"' in text
    assert submissions() == []


@pytest.mark.parametrize(
    ("fields", "message", "anchor"),
    [
        ({"dob-month": ""}, "Date of birth must include a month", "dob-month"),
        ({"dob-day": "", "dob-year": ""}, "Date of birth must include a day and a year", "dob-day"),
        ({"dob-day": "31", "dob-month": "2"}, "Date of birth must be a real date", "dob-day"),
        ({"dob-month": "March"}, "Date of birth must be written in numbers", "dob-month"),
        ({"dob-year": "60"}, "Date of birth year must include 4 numbers", "dob-year"),
        # Each part that cannot be right is marked in one go, the first one linked.
        (
            {"appointment-day": "32", "appointment-month": "13", "appointment-year": "20"},
            "Appointment date must be a real date",
            "appointment-day",
        ),
        ({"dob-month": "13", "dob-year": "60"}, "Date of birth must be a real date", "dob-month"),
        ({"dob-year": str(TODAY.year + 1)}, "Date of birth must be in the past", "dob-day"),
        ({"dob-year": "1850"}, "Date of birth must be within the last 120 years", "dob-year"),
        (
            {"appointment-year": str(TODAY.year - 1)},
            "Appointment date must be today or in the future",
            "appointment-day",
        ),
        (
            {"appointment-year": str(TODAY.year + 2)},
            "Appointment date must be within the next 12 months",
            "appointment-day",
        ),
        ({"patient_name": "A" * 201}, "Your name must be 200 characters or fewer", "patient_name"),
        ({"patient_name": "Ada\x07"}, "Your name must only include letters", "patient_name"),
    ],
)
def test_each_wrong_field_gets_a_message_naming_what_is_allowed(
    patient: FlaskClient, fields: dict[str, str], message: str, anchor: str
) -> None:
    data = form_data(patient, **fields)
    text = patient.post("/send", data=data).get_data(as_text=True)
    [shown] = errors_in(text)
    assert shown.startswith(message)
    assert f'href="#{anchor}"' in text
    # What the patient typed is shown again.
    assert f'value="{html.escape(data["patient_name"])}"' in text
    assert f'value="{html.escape(data["dob-month"])}"' in text
    assert submissions() == []


def test_a_date_wrong_in_two_parts_marks_both_and_leaves_the_right_one(
    patient: FlaskClient,
) -> None:
    data = form_data(patient, **{"dob-month": "13", "dob-year": "60"})
    text = patient.post("/send", data=data).get_data(as_text=True)
    marked = {
        part
        for part in ("day", "month", "year")
        if re.search(rf'input--error"\s+id="dob-{part}"', text)
    }
    assert marked == {"month", "year"}


def test_today_is_a_valid_appointment_date(patient: FlaskClient) -> None:
    data = form_data(
        patient,
        **{
            "appointment-day": str(TODAY.day),
            "appointment-month": str(TODAY.month),
            "appointment-year": str(TODAY.year),
        },
    )
    assert patient.post("/send", data=data).status_code == 303


def test_a_tampered_key_asks_again_with_a_fresh_key(patient: FlaskClient) -> None:
    data = form_data(patient, idempotency_key="short")
    text = patient.post("/send", data=data).get_data(as_text=True)
    assert errors_in(text) == ["This form has expired. Check your details and send them again"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", hidden(text, "idempotency_key"))
    assert submissions() == []


def test_the_form_needs_its_csrf_token(patient: FlaskClient) -> None:
    data = form_data(patient)
    del data["csrf_token"]
    assert patient.post("/send", data=data).status_code == 400
    assert submissions() == []


def test_sending_too_often_says_how_long_to_wait_and_keeps_what_was_typed(
    tmp_path: Path,
) -> None:
    app = app_with(tmp_path, RATELIMIT_ENABLED=True)
    with app.app_context():
        db.create_all()
        store.create_clinic("north", "North Spine Clinic")
    patient = app.test_client()
    patient.get("/c/north/")
    with patient.session_transaction() as session:
        session["answers"] = dict(ANSWERS)
    data = form_data(patient, patient_name="Ada Lovelace")
    for _ in range(30):  # the limit: 30 sends a minute from one address
        assert patient.post("/send", data=data).status_code == 303

    refused = patient.post("/send", data=data)

    text = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Wait a moment before sending again" in text and "Wait 1 minute," in text
    assert 'name="patient_name" value="Ada Lovelace"' in text  # kept, to send again
    assert 'name="idempotency_key" value="' + data["idempotency_key"] + '"' in text


def test_the_confirmation_page_needs_a_sent_form(client: FlaskClient) -> None:
    assert client.get("/send/done").status_code == 404


# --- when the database fails -----------------------------------------------------------------


def retry_form(text: str) -> dict[str, str]:
    form = text.split('<form method="post" action="/send"', 1)[1].split("</form>", 1)[0]
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form)
    }


def test_a_write_that_fails_after_commit_is_retried_into_one_submission(
    patient: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The worst case: the row was stored but the answer was lost on the way back."""
    real = store.create_submission
    calls = {"n": 0}

    def stored_then_lost(new: store.NewSubmission) -> Any:
        calls["n"] += 1
        result = real(new)
        if calls["n"] == 1:
            raise OperationalError("INSERT ...", None, ConnectionError("server closed"))
        return result

    monkeypatch.setattr(store, "create_submission", stored_then_lost)
    caplog.set_level(logging.INFO)
    failed = patient.post("/send", data=form_data(patient))
    text = failed.get_data(as_text=True)
    assert failed.status_code == 503
    assert "We could not send your answers" in text
    assert "Nothing was lost: try again in a few minutes." in text
    assert "Ada" not in caplog.text and "1960" not in caplog.text
    with patient.session_transaction() as session:
        assert session["answers"] == ANSWERS

    retried = patient.post("/send", data=retry_form(text))
    assert retried.status_code == 303
    [row] = submissions()
    assert row.reference in patient.get("/send/done").get_data(as_text=True)


PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def set_connections(database: str, allowed: bool) -> None:
    """Open or close a database to new connections; closing also ends the open ones."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
                sql.Identifier(database), sql.SQL("true" if allowed else "false")
            )
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_down_gives_a_clear_page_and_the_retry_sends_once(db_app: Flask) -> None:
    store.create_clinic("north", "North Spine Clinic")
    database = db.engine.url.database
    assert database is not None
    client = db_app.test_client()
    client.get("/c/north/")
    with client.session_transaction() as session:
        session["answers"] = dict(ANSWERS)
    data = form_data(client)
    db.session.remove()

    set_connections(database, allowed=False)
    try:
        failed = client.post("/send", data=data)
    finally:
        set_connections(database, allowed=True)
    text = failed.get_data(as_text=True)
    assert failed.status_code == 503, text
    assert "Nothing was lost: try again in a few minutes." in text
    assert failed.headers["Retry-After"] == "120"

    for _ in range(2):  # the retry button, pressed twice
        assert client.post("/send", data=retry_form(text)).status_code == 303
    assert len(submissions()) == 1
