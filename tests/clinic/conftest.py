"""Fixtures of the clinic tests: an app on SQLite and on PostgreSQL, and clinic data.

``database_url`` runs a test once per database. For PostgreSQL it makes a fresh database with a
unique name on 127.0.0.1:5432 and drops it afterwards (support/pgdatabase.py); without the
server the test skips on a developer machine and fails on CI (``require`` in tests/conftest.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import Account, login, make_clinic, make_staff
from support import pgdatabase
from support.answer_sets import TYPICAL
from support.testapp import app_with

from questionnaire.clinic import store
from questionnaire.clinic.models import Clinic, Submission
from questionnaire.extensions import db

SHARED_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
POSTGRES = "PostgreSQL on 127.0.0.1:5432"
BACKENDS = ["sqlite", "postgresql"]

Require = Callable[[bool, str], None]


@pytest.fixture(scope="session")
def require(pytestconfig: pytest.Config) -> Require:
    """``require`` from tests/conftest.py (every test folder's conftest is named "conftest",
    so the shared one is reached through the plugin manager, by its path)."""
    shared = pytestconfig.pluginmanager.get_plugin(str(SHARED_CONFTEST))
    assert shared is not None, f"{SHARED_CONFTEST} was not loaded"
    function: Require = shared.require
    return function


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, require: Require) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
        return
    require(pgdatabase.postgres_reachable(), POSTGRES)
    with pgdatabase.fresh_postgres_database("clinic_test") as name:
        yield pgdatabase.database_url(name)


def make_app(tmp_path: Path, database_url: str, **config: Any) -> Flask:
    return app_with(
        tmp_path,
        **{
            "SECRET_KEY": "clinic-tests-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": database_url,
            **config,
        },
    )


@pytest.fixture
def empty_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """An app on an empty database (no tables), inside an app context."""
    app = make_app(tmp_path, database_url)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def contextless_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    """The app on SQLite and on PostgreSQL, with every table and no app context left pushed:
    each request, in whatever thread, gets its own, as in production."""
    app = make_app(tmp_path, database_url)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on SQLite only, with every table, inside an app context."""
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'clinic.sqlite3'}")
    with app.app_context():
        db.create_all()
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def db_app(empty_app: Flask) -> Flask:
    """An app with every table created from the models, inside an app context."""
    db.create_all()
    return empty_app


@pytest.fixture
def two_clinics(db_app: Flask) -> tuple[Clinic, Clinic]:
    return store.create_clinic("north", "North Spine Clinic"), store.create_clinic(
        "south", "South Pain Clinic"
    )


# A clinic, one of its staff, and a browser that staff member has signed in with.
@pytest.fixture
def clinic_id(app: Flask) -> int:
    return make_clinic(app)


@pytest.fixture
def nurse(app: Flask, clinic_id: int) -> Account:
    return make_staff(app, clinic_id, "nurse@alpha.example.org", name="Nurse Jones")


@pytest.fixture
def admin(app: Flask, clinic_id: int) -> Account:
    return make_staff(app, clinic_id, "lead@alpha.example.org", role="admin", name="Dr Lead")


@pytest.fixture
def signed_in(client: FlaskClient, nurse: Account) -> FlaskClient:
    login(client, nurse.email, nurse.password)
    return client


BASE_ANSWERS: dict[str, Any] = {**TYPICAL, "allergies": ["none"]}


def _submit(
    clinic: Clinic,
    name: str = "Ada Lovelace",
    *,
    key: str | None = None,
    urgent: bool = False,
    **answers: Any,
) -> Submission:
    """Store one submission for ``clinic`` through the store, as the send form does."""
    stored, created = store.create_submission(
        store.NewSubmission(
            clinic_id=clinic.id,
            idempotency_key=key or secrets.token_urlsafe(32),
            patient_name=name,
            date_of_birth=date(1960, 3, 27),
            appointment_date=date(2026, 12, 1),
            answers={**BASE_ANSWERS, **answers},
            result={"urgent": urgent, "urgent_reasons": []},
            ruleset_version="test",
            ruleset_sha256="0" * 64,
        )
    )
    assert created or key is not None
    submission = store.get_submission(clinic.id, stored.id)
    assert submission is not None and submission.reference == stored.reference
    return submission


def _set_created_at(submission: Submission, when: datetime) -> None:
    """Move a submission in time (tests of ordering, date filters and purge)."""
    assert when.tzinfo is UTC
    submission.created_at = when
    db.session.commit()


Submit = Callable[..., Submission]
SetCreatedAt = Callable[[Submission, datetime], None]


@pytest.fixture
def submit(db_app: Flask) -> Submit:
    """``submit(clinic, name, key=None, urgent=False, **answers)`` stores a submission."""
    return _submit


@pytest.fixture
def set_created_at(db_app: Flask) -> SetCreatedAt:
    return _set_created_at
