"""Clinics, staff, submissions and signing in, for the clinic tests (and anyone else's).

``login(client, email, password)`` goes through the real sign-in pages, TOTP step included:
it reads the account's secret from the database and types the current code. Each code is
accepted once, so when the current one has been used it waits for the next, which here means
moving on the clock that sign-in counts time steps on (``totp_clock`` in tests/conftest.py).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, Boolean, Integer, String, column, insert, table
from werkzeug.test import TestResponse

from questionnaire.clinic import auth, store
from questionnaire.clinic.jsontext import JSONText
from questionnaire.clinic.models import (
    FLAG_NAMES,
    AuditEvent,
    StaffSession,
    StaffUser,
    Submission,
    UTCDateTime,
    utcnow,
)
from questionnaire.clinic.passwords import hash_password
from questionnaire.extensions import db

PASSWORD = "violet anchor mountain 7719"
# The newest migration: init-db leaves every database at it.
LATEST_REVISION = "0007_sheet_results"
TOTP_STEP_SECONDS = 30
CHOOSE_PASSWORD = "/clinic/login/new-password"
START_NEW_PHONE = "/clinic/account/code"
NEW_PHONE = "/clinic/account/code/new"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# A complete answer set that raises no flag.
CALM_ANSWERS: dict[str, Any] = {
    "pain_duration": "3_to_6_months",
    "red_flags": ["none"],
    "conservative_care": ["physical_therapy"],
    "blood_thinners": "no",
    "diabetes": "no",
    "infection": "no",
}


@dataclass(frozen=True)
class Account:
    id: int
    clinic_id: int
    email: str
    password: str
    totp_secret: str | None


def make_clinic(app: Flask, slug: str = "alpha", name: str = "Alpha Spine Clinic") -> int:
    with app.app_context():
        return store.create_clinic(slug, name).id


def make_staff(
    app: Flask,
    clinic_id: int,
    email: str,
    *,
    role: str = "staff",
    password: str = PASSWORD,
    name: str | None = None,
    totp: bool = True,
    must_change_password: bool = False,
) -> Account:
    """A staff account; with ``totp`` its sign-in code is already set up, and with
    ``must_change_password`` its password was chosen by someone else."""
    with app.app_context():
        user = store.create_staff_user(
            clinic_id,
            email,
            name or email.split("@")[0].title(),
            role,
            hash_password(password),
            must_change_password=must_change_password,
        )
        if totp:
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = utcnow()
            db.session.commit()
        return Account(user.id, clinic_id, user.email, password, user.totp_secret)


def make_submission(
    app: Flask,
    clinic_id: int,
    answers: dict[str, Any] | None = None,
    *,
    name: str = "Ada Patient",
    created_at: datetime | None = None,
    date_of_birth: date = date(1960, 3, 27),
    appointment_date: date = date(2026, 12, 3),
) -> int:
    """Store a submission the way the sending flow does: validated answers, their result."""
    with app.app_context():
        ruleset = app.extensions["ruleset"]
        cleaned = ruleset.validate({**CALM_ANSWERS, **(answers or {})})
        result = ruleset.evaluate(cleaned).model_dump(mode="json")
        stored, _ = store.create_submission(
            store.NewSubmission(
                clinic_id=clinic_id,
                idempotency_key=secrets.token_hex(16),
                patient_name=name,
                date_of_birth=date_of_birth,
                appointment_date=appointment_date,
                answers=cleaned,
                result=result,
                ruleset_version=ruleset.version,
                ruleset_sha256=ruleset.sha256,
            )
        )
        if created_at is not None:
            submission = store.get_submission(clinic_id, stored.id)
            assert submission is not None
            submission.created_at = created_at
            db.session.commit()
        return stored.id


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} (status {page.status_code})"
    return match.group(1)


def _totp_state(app: Flask, email: str) -> tuple[pyotp.TOTP, int | None]:
    """The account's TOTP generator and the time step of the last code accepted."""
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email.lower()))
        assert user is not None and user.totp_secret, f"{email} has no sign-in code secret"
        return pyotp.TOTP(user.totp_secret), user.totp_last_step


def totp_step() -> int:
    """The time step now, on the clock sign-in counts steps on."""
    return int(auth.totp_time()) // TOTP_STEP_SECONDS


def code_at(app: Flask, email: str, steps: int = 0) -> str:
    """The account's code ``steps`` time steps from now: 0 is the code its authenticator app
    shows now, -1 the one before, 1 the next one."""
    totp, _ = _totp_state(app, email)
    return str(totp.generate_otp(totp_step() + steps))


def wait_for_next_code(steps: int = 1) -> None:
    """Let ``steps`` codes go by, without sleeping: the sign-in clock moves on 30 s a step."""
    clock = auth.totp_time
    advance = getattr(clock, "advance", None)
    assert advance is not None, "the TOTP clock of tests/conftest.py (totp_clock) is not in place"
    advance(steps * TOTP_STEP_SECONDS)


def current_code(app: Flask, email: str) -> str:
    """The code a person would type now: the one the app shows, or, when that one has been
    accepted already, the next one, after waiting for it."""
    _, last_step = _totp_state(app, email)
    step = totp_step()
    if last_step is not None and step <= last_step:
        wait_for_next_code(last_step + 1 - step)
    return code_at(app, email)


def submit_password(client: FlaskClient, email: str, password: str) -> TestResponse:
    token = csrf_token(client, "/clinic/login")
    return client.post(
        "/clinic/login", data={"csrf_token": token, "email": email, "password": password}
    )


def login(
    client: FlaskClient, email: str, password: str, *, new_password: str | None = None
) -> TestResponse:
    """Sign in through the pages, setting up or typing the TOTP code; returns the last answer.

    An account whose password someone else chose must then choose ``new_password``. Asserts
    that sign-in succeeded (the answer redirects into the clinic pages).
    """
    app = client.application
    response = submit_password(client, email, password)
    assert response.status_code == 302, f"password step refused ({response.status_code})"
    step = response.headers["Location"]
    assert step.endswith(("/clinic/login/code", "/clinic/totp/setup")), step
    token = csrf_token(client, step)
    response = client.post(step, data={"csrf_token": token, "code": current_code(app, email)})
    assert response.status_code == 302, f"code step refused ({response.status_code})"
    if new_password is not None:
        assert response.headers["Location"] == CHOOSE_PASSWORD, response.headers["Location"]
        response = choose_password(client, new_password)
    assert "/clinic/login" not in response.headers["Location"]
    return response


def choose_password(client: FlaskClient, password: str, confirm: str | None = None) -> TestResponse:
    """Post the last sign-in step of an account whose password someone else chose."""
    token = csrf_token(client, CHOOSE_PASSWORD)
    return client.post(
        CHOOSE_PASSWORD,
        data={
            "csrf_token": token,
            "new_password": password,
            "confirm_password": password if confirm is None else confirm,
        },
    )


def start_new_phone(client: FlaskClient, password: str, code: str) -> TestResponse:
    """The first step of moving the sign-in code: the password and a current code."""
    token = csrf_token(client, "/clinic/account")
    data = {"csrf_token": token, "code_password": password, "code": code}
    return client.post(START_NEW_PHONE, data=data)


def confirm_new_phone(client: FlaskClient, code: str) -> TestResponse:
    """The last step: a code from the new phone."""
    return client.post(NEW_PHONE, data={"csrf_token": csrf_token(client, NEW_PHONE), "code": code})


def new_phone_code(app: Flask, email: str) -> str:
    """What the app on the new phone shows now, for the secret kept aside for it."""
    secret = user_row(app, email).totp_new_secret
    assert secret, "no secret kept for a new phone"
    return str(pyotp.TOTP(secret).generate_otp(totp_step()))


def reset_sign_in(client: FlaskClient, user_id: int, password: str) -> TestResponse:
    """An administrator's reset of a colleague's sign-in, with the first password."""
    token = csrf_token(client, "/clinic/staff")
    return client.post(
        f"/clinic/staff/{user_id}/reset", data={"csrf_token": token, "password": password}
    )


def search_address(client: FlaskClient, path: str = "/clinic/", **filters: str) -> str:
    """Post the list's filter form as staff do, and give the address the list then opens at
    (its search sealed), with ``path`` in place of the list's own path (an export's, say)."""
    response = client.post(
        "/clinic/", data={"csrf_token": csrf_token(client, "/clinic/"), **filters}
    )
    assert response.status_code == 303, f"filters refused ({response.status_code})"
    return f"{path}?{urlsplit(response.headers['Location']).query}"


def logout(client: FlaskClient) -> TestResponse:
    token = csrf_token(client, "/clinic/")
    return client.post("/clinic/logout", data={"csrf_token": token})


def user_row(app: Flask, email: str) -> StaffUser:
    with app.app_context():
        user = db.session.scalar(db.select(StaffUser).where(StaffUser.email == email))
        assert user is not None
        db.session.expunge(user)
        return user


def sessions_of(app: Flask, user_id: int) -> list[StaffSession]:
    with app.app_context():
        rows = list(
            db.session.scalars(db.select(StaffSession).where(StaffSession.user_id == user_id))
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def audit_rows(app: Flask, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = db.select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def is_signed_in(client: FlaskClient) -> bool:
    """Whether the client's session opens the clinic's pages (else it is sent to sign in)."""
    response = client.get("/clinic/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/clinic/login")
    return False


def submission_row(app: Flask, submission_id: int) -> Submission:
    with app.app_context():
        row = db.session.get(Submission, submission_id)
        assert row is not None
        assert row.result is not None  # read now: the row is used outside the session
        db.session.expunge(row)
        return row


OLD_TEXT_COLUMNS = ("reference", "idempotency_key", "patient_name", "patient_name_search")


def submission_before_0007(clinic_id: int, result_text: str, name: str = "Ada Patient") -> int:
    """A submission as the tables before migration 0007 held it, with its own copy of the
    result (``result_text``, JSON, stored as it is): for tests that migrate from an older
    revision, where the store's code, written for the latest tables, cannot be used."""
    key = secrets.token_urlsafe(32)
    old = table(
        "submissions",
        column("id", Integer),
        *(column(name, String) for name in OLD_TEXT_COLUMNS),
        column("clinic_id", Integer),
        column("answers", JSON),
        column("result", JSON),
        *(column(f"flag_{flag}", Boolean) for flag in FLAG_NAMES),
        column("created_at", UTCDateTime),
    )
    row = {
        "clinic_id": clinic_id,
        "reference": key[:11],
        "idempotency_key": key,
        "patient_name": name,
        "patient_name_search": name.lower(),
        "answers": CALM_ANSWERS,
        "result": JSONText(result_text),
        **{f"flag_{flag}": False for flag in FLAG_NAMES},
        "created_at": utcnow(),
    }
    with db.engine.begin() as connection:
        return int(connection.execute(insert(old).returning(old.c.id), row).scalar_one())
