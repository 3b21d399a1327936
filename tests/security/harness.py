"""What the hardening tests share: PostgreSQL URLs, Redis, free ports, two clinics with their
staff, and apps with the whole security stack switched on.

PostgreSQL and Redis are the shared servers on 127.0.0.1: each test gets its own database
(made and dropped by support/pgdatabase.py) and its own Redis database number, and never
touches anything else on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import redis
from flask import Flask
from flask.testing import FlaskClient
from patientflow import Client, fill_in, hidden_inputs, send

from questionnaire import create_app

HERE = Path(__file__).resolve().parent
# Scripts the tests run as separate processes.
WORKERS_DIR = HERE / "workers"

PG_HOST = "127.0.0.1"
PG_PORT = 5432
POSTGRES = f"PostgreSQL on {PG_HOST}:{PG_PORT}"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379
REDIS = f"Redis on {REDIS_HOST}:{REDIS_PORT}"
# The Redis database these tests may flush; nothing else on the server is touched.
REDIS_DB = 13

SECRET_KEY = "security-tests-secret-key-not-for-production"
STAFF_PASSWORD = "correct horse battery staple 42"


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=3).ping())
    except redis.RedisError:
        return False


def postgres_url(name: str, host: str = PG_HOST, port: int = PG_PORT) -> str:
    return f"postgresql://postgres@{host}:{port}/{name}"


def base_config(tmp_path: Path, database_uri: str, **overrides: Any) -> dict[str, Any]:
    """Test settings with CSRF on, as in production; rate limits stay off unless asked for."""
    config: dict[str, Any] = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECURE_COOKIES": False,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": True,
    }
    config.update(overrides)
    return config


def build_app(tmp_path: Path, database_uri: str | None = None, **overrides: Any) -> Flask:
    from questionnaire.extensions import db

    uri = database_uri or f"sqlite:///{tmp_path / 'security.sqlite3'}"
    app = create_app(base_config(tmp_path, uri, **overrides))
    with app.app_context():
        db.create_all()
    return app


# --- clinics and staff -----------------------------------------------------------------------


@dataclass(frozen=True)
class StaffAccount:
    email: str
    display_name: str
    password: str
    totp_secret: str
    clinic_slug: str
    role: str

    def code(self) -> str:
        return pyotp.TOTP(self.totp_secret).now()


@dataclass(frozen=True)
class Clinics:
    """Clinic A ("alpha") with a staff member and an admin, clinic B ("beta") with staff."""

    staff_a: StaffAccount
    admin_a: StaffAccount
    staff_b: StaffAccount
    clinic_a_id: int
    clinic_b_id: int

    slug_a = "alpha"
    slug_b = "beta"


def seed_clinics(app: Flask) -> Clinics:
    """Two clinics and three accounts whose sign-in code is already set up."""
    from questionnaire.clinic import store
    from questionnaire.clinic.models import utcnow
    from questionnaire.clinic.passwords import hash_password
    from questionnaire.extensions import db

    password_hash = hash_password(STAFF_PASSWORD)
    with app.app_context():
        clinic_a = store.create_clinic(Clinics.slug_a, "Alpha Spine Clinic")
        clinic_b = store.create_clinic(Clinics.slug_b, "Beta Pain Centre")
        accounts = []
        for email, name, clinic, role in (
            ("staff.a@alpha.example.org", "Ann Alpha", clinic_a, "staff"),
            ("admin.a@alpha.example.org", "Adam Alpha", clinic_a, "admin"),
            ("staff.b@beta.example.org", "Bea Beta", clinic_b, "staff"),
        ):
            user = store.create_staff_user(clinic.id, email, name, role, password_hash)
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = utcnow()
            db.session.commit()
            accounts.append(
                StaffAccount(email, name, STAFF_PASSWORD, user.totp_secret, clinic.slug, role)
            )
        return Clinics(accounts[0], accounts[1], accounts[2], clinic_a.id, clinic_b.id)


def send_to_clinic_a(client: FlaskClient, clinics: Clinics, patient_name: str) -> int:
    """A patient comes through clinic A's link, answers every page and sends the answers;
    gives the id of the submission stored."""
    from questionnaire.clinic import store

    app = client.application
    client.get(f"/c/{Clinics.slug_a}/")
    fill_in(client, app.extensions["ruleset"])
    reference = send(client, patient_name)
    with app.app_context():
        submission = store.get_submission_by_reference(clinics.clinic_a_id, reference)
        assert submission is not None
        return int(submission.id)


def seed_database(tmp_path: Path, database_uri: str) -> Clinics:
    """Create the tables and the two clinics in a database other processes will use."""
    from questionnaire.extensions import db

    app = build_app(tmp_path, database_uri)
    try:
        return seed_clinics(app)
    finally:
        with app.app_context():
            db.engine.dispose()  # leave no connection open behind the other processes


def pass_password_step(client: Client, account: StaffAccount) -> str:
    """The first step of signing in, through the real page; gives the next step's address."""
    page = client.get("/clinic/login")
    answer = client.post(
        "/clinic/login",
        data={
            "csrf_token": hidden_inputs(page.text).get("csrf_token", ""),
            "email": account.email,
            "password": account.password,
        },
    )
    assert answer.status_code == 302, f"password step refused ({answer.status_code})"
    return str(answer.headers["Location"])


def staff_login(client: Client, account: StaffAccount) -> None:
    """Sign in through the real pages: password, then the current TOTP code."""
    step = pass_password_step(client, account)
    assert step.endswith("/clinic/login/code"), step
    page = client.get("/clinic/login/code")
    answer = client.post(
        "/clinic/login/code",
        data={"csrf_token": hidden_inputs(page.text).get("csrf_token", ""), "code": account.code()},
    )
    assert answer.status_code == 302, f"code step refused ({answer.status_code})"
    assert "/clinic/login" not in answer.headers["Location"]
