"""Reads never wait for a writer; writers wait for each other and never fail.

On SQLite a transaction that only reads begins with a plain BEGIN, which in WAL mode neither
waits for nor blocks a writer. Every unit of work that writes runs in ``writing()`` and begins
with BEGIN IMMEDIATE, so a second writer waits its turn: a deferred transaction that read
first could not, and would fail with "database is locked" as soon as another writer had
committed since its read.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from helpers import PASSWORD, csrf_token, login, logout, make_clinic, make_staff, make_submission
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError

from questionnaire.clinic import jsontext, store
from questionnaire.clinic.db_sqlite import WRITER_LOCK_SUFFIX, writer_lock_path
from questionnaire.clinic.jsontext import JSONText
from questionnaire.clinic.models import AuditEvent, Clinic, StaffSession, StaffUser, Submission
from questionnaire.clinic.passwords import hash_password
from questionnaire.clinic.transactions import UnsavedChangesError, writing
from questionnaire.extensions import db

ANSWERS: dict[str, Any] = {
    "pain_duration": "over_6_months",
    "conservative_care": ["physical_therapy"],
    "blood_thinners": "no",
    "diabetes": "no",
    "infection": "no",
    "red_flags": ["none"],
}
# A clinic added by another connection, as another process would add it.
ADD_CLINIC = "INSERT INTO clinics (slug, name, created_at) VALUES (?, ?, '2030-01-01 00:00:00')"
DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def database_file(app: Flask) -> str:
    with app.app_context():
        path = db.engine.url.database
    assert path
    return path


@pytest.fixture
def other_writer(sqlite_app: Flask) -> Iterator[sqlite3.Connection]:
    """A second connection to the same file, as another process would have; autocommit, so
    the test says where its transactions begin and end."""
    connection = sqlite3.connect(
        database_file(sqlite_app), isolation_level=None, timeout=10, check_same_thread=False
    )
    try:
        yield connection
    finally:
        connection.close()


def new_submission(clinic_id: int, name: str = "Writer Patient") -> store.NewSubmission:
    return store.NewSubmission(
        clinic_id=clinic_id,
        idempotency_key=secrets.token_urlsafe(32),
        patient_name=name,
        date_of_birth=date(1958, 4, 2),
        appointment_date=date(2030, 1, 15),
        answers=dict(ANSWERS),
        result={"urgent": False, "urgent_reasons": []},
        ruleset_version="test",
        ruleset_sha256="0" * 64,
    )


@dataclass
class Statements:
    """What each connection ran: how its transactions began, and writes made without the lock."""

    begins: list[str] = field(default_factory=list)
    unlocked_writes: list[str] = field(default_factory=list)
    _write_lock: dict[int, bool] = field(default_factory=dict)

    def forget(self) -> None:
        """Start afresh, after the test's own set-up."""
        self.begins.clear()
        self.unlocked_writes.clear()

    def seen(self, connection: Any, statement: str) -> None:
        key = id(connection.connection.dbapi_connection)
        if statement in ("BEGIN", "BEGIN IMMEDIATE"):
            self.begins.append(statement)
            self._write_lock[key] = statement == "BEGIN IMMEDIATE"
        elif DML.match(statement) and not self._write_lock.get(key, False):
            self.unlocked_writes.append(" ".join(statement.split()[:3]))


@pytest.fixture
def statements(app: Flask) -> Iterator[Statements]:
    with app.app_context():
        engine: Engine = db.engine
    seen = Statements()

    def listener(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.seen(connection, statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


# --- reads never wait --------------------------------------------------------------------------


def test_a_read_does_not_wait_while_another_connection_holds_the_write_lock(
    sqlite_app: Flask, other_writer: sqlite3.Connection
) -> None:
    store.create_clinic("north", "North Spine Clinic")
    db.session.remove()
    other_writer.execute("BEGIN IMMEDIATE")
    other_writer.execute(ADD_CLINIC, ("south", "South"))
    try:
        connection = db.session.connection()
        # Waiting for the lock would now fail at once instead of after the busy timeout.
        connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        found = store.get_clinic_by_slug("north")
        assert found is not None and found.name == "North Spine Clinic"
        # The other transaction has not committed, so the read does not see its row.
        assert store.get_clinic_by_slug("south") is None
        db.session.rollback()
    finally:
        other_writer.execute("ROLLBACK")


def test_showing_the_send_form_does_not_wait_for_a_writer(
    app: Flask, client: FlaskClient, statements: Statements
) -> None:
    make_clinic(app, "north", "North Spine Clinic")
    # Straight into the session, so that this request is the first to look the clinic up.
    with client.session_transaction() as session:
        session["clinic_slug"] = "north"
        session["answers"] = dict(ANSWERS)
    statements.forget()
    holder = sqlite3.connect(database_file(app), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        page = client.get("/send")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert page.status_code == 200
    assert "Send your answers to North Spine Clinic" in page.get_data(as_text=True)
    assert statements.begins == ["BEGIN"]


def test_a_clinic_link_works_as_soon_as_the_clinic_exists(app: Flask, client: FlaskClient) -> None:
    """The send pages remember clinics they found, never a slug that was not found."""
    assert client.get("/c/north/").status_code == 404
    make_clinic(app, "north", "North Spine Clinic")
    assert client.get("/c/north/").status_code == 302


# --- writers take the lock first ---------------------------------------------------------------


def test_a_deferred_read_then_write_fails_once_another_writer_has_committed(
    other_writer: sqlite3.Connection, sqlite_app: Flask
) -> None:
    """Why writers must not start as readers: SQLite refuses the upgrade at once."""
    store.create_clinic("north", "North Spine Clinic")
    reader = sqlite3.connect(database_file(sqlite_app), isolation_level=None, timeout=10)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM clinics").fetchone()
        other_writer.execute(ADD_CLINIC, ("south", "South"))
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            reader.execute(ADD_CLINIC, ("east", "East"))
        reader.execute("ROLLBACK")
    finally:
        reader.close()


def test_writing_after_a_read_succeeds_though_another_writer_committed_in_between(
    sqlite_app: Flask, other_writer: sqlite3.Connection
) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic")
    clinic_id = clinic.id
    assert store.get_clinic_by_slug("north") is not None  # a read transaction, now open
    other_writer.execute(ADD_CLINIC, ("south", "South"))
    stored, created = store.create_submission(new_submission(clinic_id))
    assert created
    # The session's read ended before the write, so it now sees the new row.
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    submission = store.get_submission(clinic_id, stored.id)
    assert submission is not None and submission.reference == stored.reference
    db.session.rollback()


def test_writing_commits_on_success_and_stores_nothing_on_error(sqlite_app: Flask) -> None:
    with writing():
        db.session.add(Clinic(slug="north", name="North", created_at=datetime.now(UTC)))
    with pytest.raises(store.StoreError), writing():
        db.session.add(Clinic(slug="south", name="South", created_at=datetime.now(UTC)))
        # Joins the open unit, so its clinic and the one above go or stay together.
        store.create_clinic("north", "A second North")
    db.session.remove()
    assert [c.slug for c in db.session.scalars(select(Clinic))] == ["north"]


def test_changes_made_before_writing_are_refused_with_a_clear_error(sqlite_app: Flask) -> None:
    clinic = store.create_clinic("north", "North Spine Clinic")
    clinic.name = "Renamed outside a unit of work"
    with (
        pytest.raises(UnsavedChangesError, match=re.escape("inside 'with writing():'")),
        writing(),
    ):
        pass
    db.session.rollback()
    found = store.get_clinic_by_slug("north")
    assert found is not None and found.name == "North Spine Clinic"


def test_the_writers_lock_file_sits_beside_the_database_file(sqlite_app: Flask) -> None:
    store.create_clinic("north", "North Spine Clinic")
    path = Path(database_file(sqlite_app) + WRITER_LOCK_SUFFIX)
    assert path.exists()
    assert path.stat().st_mode & 0o777 == 0o600
    assert writer_lock_path(":memory:") is None
    assert writer_lock_path(None) is None


# --- every writer of the app ---------------------------------------------------------------------


def set_last_seen(app: Flask, user_id: int, ago: timedelta) -> None:
    with app.app_context(), writing():
        for row in db.session.scalars(select(StaffSession).where(StaffSession.user_id == user_id)):
            row.last_seen_at = datetime.now(UTC) - ago


def test_every_write_the_app_makes_begins_with_the_write_lock(
    app: Flask, client: FlaskClient, statements: Statements
) -> None:
    """Patients sending, staff signing in and out, reviewing, exporting, administering."""
    clinic_id = make_clinic(app, "north", "North Spine Clinic")
    admin = make_staff(app, clinic_id, "lead@north.example.org", role="admin", totp=False)
    nurse = make_staff(app, clinic_id, "nurse@north.example.org")
    submission_id = make_submission(app, clinic_id)
    statements.forget()

    # A patient sends, twice with the same form (a double click).
    patient = app.test_client()
    patient.get("/c/north/")
    with patient.session_transaction() as session:
        session["answers"] = dict(ANSWERS)
    page = patient.get("/send").get_data(as_text=True)
    form = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', page))
    form |= {"patient_name": "Pat Sender", "consent": "yes"}
    form |= {"dob-day": "2", "dob-month": "4", "dob-year": "1958"}
    appointment = date.today() + timedelta(days=20)
    form |= {
        "appointment-day": str(appointment.day),
        "appointment-month": str(appointment.month),
        "appointment-year": str(appointment.year),
    }
    assert patient.post("/send", data=form).status_code == 303
    assert patient.post("/send", data=form).status_code == 303

    # Failed sign-ins: an unknown account, a wrong password five times (a lockout), then
    # the locked account, and a disabled one further down.
    for email in ["nobody@north.example.org"] + [nurse.email] * 6:
        token = csrf_token(client, "/clinic/login")
        client.post(
            "/clinic/login", data={"csrf_token": token, "email": email, "password": "wrong " * 3}
        )
    with app.app_context(), writing():
        locked = db.session.get(StaffUser, nurse.id)
        assert locked is not None and locked.locked_until is not None
        locked.locked_until = None
        # An old hash is replaced at the next sign-in.
        locked.password_hash = PasswordHasher(time_cost=1).hash(PASSWORD)

    # The admin sets up a sign-in code, works, and turns the nurse's account off.
    login(client, admin.email, admin.password)
    for path in (
        "/clinic/",
        f"/clinic/submissions/{submission_id}",
        "/clinic/export.csv",
        "/clinic/export.json",
        f"/clinic/submissions/{submission_id}/fhir.json",
        "/clinic/audit",
    ):
        assert client.get(path).status_code == 200, path
    token = csrf_token(client, f"/clinic/submissions/{submission_id}")
    review = {"csrf_token": token, "note": "Called the patient"}
    assert (
        client.post(f"/clinic/submissions/{submission_id}/review", data=review).status_code == 302
    )
    new_staff = {
        "csrf_token": csrf_token(client, "/clinic/staff/new"),
        "email": "desk@north.example.org",
        "display_name": "Front Desk",
        "role": "staff",
        "password": "quiet harbour lantern 4821",
    }
    assert client.post("/clinic/staff/new", data=new_staff).status_code == 302

    nurse_client = app.test_client()
    login(nurse_client, nurse.email, nurse.password)  # rehashes the old hash
    set_last_seen(app, nurse.id, timedelta(minutes=5))
    assert nurse_client.get("/clinic/").status_code == 200  # touches last_seen_at
    set_last_seen(app, nurse.id, timedelta(hours=1))
    assert nurse_client.get("/clinic/").status_code == 302  # the idle session ends

    disable = {"csrf_token": csrf_token(client, "/clinic/staff")}
    assert client.post(f"/clinic/staff/{nurse.id}/disable", data=disable).status_code == 302
    assert logout(client).status_code == 302
    token = csrf_token(client, "/clinic/login")
    credentials = {"csrf_token": token, "email": nurse.email, "password": nurse.password}
    client.post("/clinic/login", data=credentials)  # a disabled account

    with app.app_context():
        assert store.purge_older_than(1, now=datetime.now(UTC) + timedelta(days=3)) == 2

    with app.app_context():
        actions = {event.action for event in db.session.scalars(select(AuditEvent))}
    assert {
        "submission_create",
        "login_failure",
        "totp_confirmed",
        "login_success",
        "submission_view",
        "export_csv",
        "export_json",
        "export_fhir",
        "audit_view",
        "review",
        "staff_create",
        "session_expired",
        "staff_disable",
        "logout",
        "purge",
    } <= actions
    assert "BEGIN IMMEDIATE" in statements.begins
    assert statements.unlocked_writes == []


# --- concurrent writers --------------------------------------------------------------------------

THREADS = 8
ROUNDS = 15


def test_concurrent_writers_that_read_first_never_fail(db_app: Flask) -> None:
    """Eight threads, each reading and then writing, over and over, on one database."""
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    reviewer_id = store.create_staff_user(
        clinic_id, "lead@north.example.org", "Dr Lead", "admin", hash_password(PASSWORD)
    ).id
    db.session.remove()
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            with db_app.app_context():
                start.wait(10)
                for round_ in range(ROUNDS):
                    # Each write comes after reads in the same request-like session.
                    assert store.get_clinic_by_slug("north") is not None
                    store.list_submissions(clinic_id, limit=5)
                    submission, _ = store.create_submission(
                        new_submission(clinic_id, f"Patient {number}-{round_}")
                    )
                    store.count_submissions(clinic_id)
                    store.mark_reviewed(clinic_id, submission.id, reviewer_id)
                    db.session.remove()
        except BaseException as error:  # reported in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert store.count_submissions(clinic_id) == THREADS * ROUNDS
    reviewed = store.SubmissionFilters(unreviewed=True)
    assert store.count_submissions(clinic_id, reviewed) == 0
    creates = db.session.scalar(
        select(func.count()).where(AuditEvent.action == "submission_create")
    )
    assert creates == THREADS * ROUNDS


def test_a_writer_waits_for_another_writer_instead_of_failing(
    sqlite_app: Flask, other_writer: sqlite3.Connection
) -> None:
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    assert store.get_clinic_by_slug("north") is not None  # this session has read first
    other_writer.execute("BEGIN IMMEDIATE")
    other_writer.execute(ADD_CLINIC, ("south", "South"))
    released = threading.Timer(0.3, other_writer.execute, args=("COMMIT",))
    released.start()
    try:
        _submission, created = store.create_submission(new_submission(clinic_id))
    except OperationalError as error:  # pragma: no cover - the failure this test guards
        pytest.fail(f"the writer failed instead of waiting: {error}")
    finally:
        released.join()
    assert created
    assert store.get_clinic_by_slug("south") is not None


def statements_run(engine: Engine) -> list[str]:
    """Every SQL statement the engine sends from now on (the list fills as they run)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    return seen


def test_a_send_on_its_own_is_plain_inserts_without_a_savepoint(db_app: Flask) -> None:
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    seen = statements_run(db.engine)

    # The first send with a result stores the result first; so does no send after it.
    store.create_submission(new_submission(clinic_id))
    assert any(statement.startswith("INSERT INTO sheet_results") for statement in seen)
    seen.clear()
    stored, created = store.create_submission(new_submission(clinic_id))

    assert created
    words = [statement.split()[0].upper() for statement in seen]
    assert "SAVEPOINT" not in words
    assert not any("sheet_results" in statement for statement in seen)
    if db.engine.dialect.name == "postgresql":
        # One statement writes both rows, on its own: no BEGIN or COMMIT round trips.
        assert len(seen) == 1 and words == ["WITH"]
        assert seen[0].count("INSERT INTO") == 2
    else:
        assert [word for word in words if word == "INSERT"] == ["INSERT", "INSERT"]
    audits = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "submission_create")
    ).all()
    assert [(audit.clinic_id, audit.record_id) for audit in audits][-1] == (
        clinic_id,
        str(stored.id),
    )


def test_a_used_key_writes_neither_a_submission_nor_an_audit_row(db_app: Flask) -> None:
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    first = new_submission(clinic_id)
    stored, _ = store.create_submission(first)

    again, created = store.create_submission(dataclasses.replace(first, patient_name="Other"))

    assert (again, created) == (stored, False)
    assert store.count_submissions(clinic_id) == 1
    audits = db.session.scalar(select(func.count()).where(AuditEvent.action == "submission_create"))
    assert audits == 1


def test_inside_a_callers_block_a_used_key_keeps_the_callers_work(db_app: Flask) -> None:
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    first = new_submission(clinic_id)
    stored, _ = store.create_submission(first)

    with writing():
        store.create_clinic("south", "South Spine Clinic")
        again, created = store.create_submission(first)

    assert not created
    assert again == stored
    assert store.get_clinic_by_slug("south") is not None, "the caller's clinic was rolled back"
    assert store.count_submissions(clinic_id) == 1


def test_a_result_given_as_json_text_is_stored_as_that_json(db_app: Flask) -> None:
    clinic_id = store.create_clinic("north", "North Spine Clinic").id
    result = {"urgent": True, "urgent_reasons": ["Get help now."], "sections": []}
    new = dataclasses.replace(
        new_submission(clinic_id), result=result, result_json=json.dumps(result, indent=1)
    )

    stored, _ = store.create_submission(new)

    submission = db.session.get(Submission, stored.id)
    assert submission is not None
    assert submission.result == result
    assert submission.flag_urgent


def test_json_text_cannot_be_stored_by_a_plain_serializer() -> None:
    with pytest.raises(TypeError, match="JSONText"):
        json.dumps(JSONText("{}"))
    assert jsontext.dumps(JSONText('{"a": 1}')) == '{"a": 1}'
    assert jsontext.dumps({"a": 1}) == '{"a": 1}'
