"""Operator commands through click's CliRunner: what they store, what they print, and how
they refuse bad arguments (a message and exit code 1 or 2, never a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from helpers import LATEST_REVISION, submit_password
from sqlalchemy import func, inspect, select, text

from questionnaire.cli import cli
from questionnaire.clinic import store
from questionnaire.clinic.models import AuditEvent, StaffUser
from questionnaire.clinic.passwords import verify_password
from questionnaire.extensions import db

PASSWORD = "correct horse battery staple 42"


def run(app: Flask, args: list[str], input: str | None = None) -> Result:
    result = app.test_cli_runner().invoke(args=args, input=input)
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert isinstance(result.exception, SystemExit), result.exception
    return result


def users() -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser)))


@pytest.fixture
def clinic_app(sqlite_app: Flask) -> Flask:
    store.create_clinic("north", "North Spine Clinic")
    return sqlite_app


# --- init-db ---------------------------------------------------------------------------------


def test_init_db_migrates_to_the_latest_version_and_can_run_again(empty_app: Flask) -> None:
    first = run(empty_app, ["init-db"])
    assert first.exit_code == 0, first.output
    assert "up to date" in first.output
    tables = set(inspect(db.engine).get_table_names())
    assert {"clinics", "staff_users", "submissions", "audit_log"} <= tables
    version = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    assert version == LATEST_REVISION
    db.session.commit()  # SQLite: the test's own read transaction holds the write lock
    again = run(empty_app, ["init-db"])
    assert again.exit_code == 0, again.output


def test_commands_before_init_db_say_what_to_do(empty_app: Flask) -> None:
    result = run(empty_app, ["create-clinic", "--slug", "north", "--name", "North"])
    assert result.exit_code == 1
    assert "clinics" in result.output  # the missing table, named by the database
    assert "that 'init-db' has been run" in result.output


# --- create-clinic ---------------------------------------------------------------------------


def test_create_clinic_stores_it_and_prints_its_link(sqlite_app: Flask) -> None:
    result = run(sqlite_app, ["create-clinic", "--slug", "north", "--name", "North Spine"])
    assert result.exit_code == 0, result.output
    assert "/c/north/" in result.output
    clinic = store.get_clinic_by_slug("north")
    assert clinic is not None and clinic.name == "North Spine"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--slug", "north", "--name", "Again"], 1, "already exists"),
        (["--slug", "North Side", "--name", "X"], 1, "lower-case letters, digits and dashes"),
        (["--slug", "west"], 2, "Missing option '--name'"),
        (["--name", "West"], 2, "Missing option '--slug'"),
    ],
)
def test_create_clinic_refuses_bad_arguments(
    clinic_app: Flask, args: list[str], code: int, message: str
) -> None:
    result = run(clinic_app, ["create-clinic", *args])
    assert result.exit_code == code
    assert message in result.output


# --- create-user -----------------------------------------------------------------------------


def test_create_user_reads_the_password_from_stdin_and_hashes_it(clinic_app: Flask) -> None:
    result = run(
        clinic_app,
        [
            "create-user",
            "--clinic",
            "north",
            "--email",
            "Nurse@North.Example",
            "--name",
            "Nurse Jones",
            "--role",
            "admin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    [user] = users()
    assert (user.email, user.display_name, user.role) == (
        "nurse@north.example",
        "Nurse Jones",
        "admin",
    )
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)
    # Typed by the operator: the person chooses their own at their first sign-in.
    assert user.password_must_change
    assert "choose their own password" in result.output
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert actions == ["account_create"]


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        ([], "short\n", 1, "12 characters or more"),
        ([], "x" * 129 + "\n", 1, "128 characters or fewer"),
        ([], "password1234\n", 1, "too common"),
        ([], "", 1, "no password given"),
        (["--role", "owner"], PASSWORD, 2, "Invalid value for '--role'"),
        (["--password", PASSWORD], PASSWORD, 2, "No such option '--password'"),
    ],
)
def test_create_user_refuses_bad_passwords_and_arguments(
    clinic_app: Flask, args: list[str], stdin: str, code: int, message: str
) -> None:
    base = ["create-user", "--clinic", "north", "--email", "n@example.org", "--name", "N"]
    result = run(clinic_app, [*base, *args], input=stdin)
    assert result.exit_code == code
    assert message in result.output
    assert users() == []


def test_create_user_refuses_an_unknown_clinic_and_a_taken_email(clinic_app: Flask) -> None:
    args = ["create-user", "--email", "n@example.org", "--name", "N"]
    unknown = run(clinic_app, [*args, "--clinic", "south"], input=PASSWORD)
    assert unknown.exit_code == 1 and "no clinic with slug 'south'" in unknown.output
    assert run(clinic_app, [*args, "--clinic", "north"], input=PASSWORD).exit_code == 0
    again = run(clinic_app, [*args, "--clinic", "north"], input=PASSWORD)
    assert again.exit_code == 1 and "exists" in again.output
    assert len(users()) == 1


# --- purge -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "0"], "0 is not in the range 1<=x<=36500"),
        (["--older-than", "-3"], "is not in the range 1<=x<=36500"),
        # Further back than the calendar reaches: 100 years is the most.
        (["--older-than", "740000"], "740000 is not in the range 1<=x<=36500"),
        (["--older-than", "99999999999"], "99999999999 is not in the range 1<=x<=36500"),
        (["--older-than", "ninety"], "'ninety' is not a valid integer"),
        ([], "Missing option '--older-than'"),
    ],
)
def test_purge_refuses_anything_but_a_positive_number_of_days(
    sqlite_app: Flask, args: list[str], message: str
) -> None:
    result = run(sqlite_app, ["purge", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_purge_reports_how_many_it_deleted(clinic_app: Flask) -> None:
    result = run(clinic_app, ["purge", "--older-than", "30"])
    assert result.exit_code == 0, result.output
    assert "Deleted 0 submission(s) older than 30 days." in result.output


# --- enable-user -----------------------------------------------------------------------------


def test_enable_user_turns_an_account_back_on_with_a_new_first_password(
    clinic_app: Flask,
) -> None:
    email = "rosa@north.example.org"
    twice = PASSWORD + "\n" + PASSWORD + "\n"
    created = run(
        clinic_app,
        ["create-user", "--clinic", "north", "--email", email, "--name", "Rosa Day"],
        input=twice,
    )
    assert created.exit_code == 0, created.output
    (user,) = users()
    user.disabled_at = store.utcnow()
    db.session.commit()
    client = clinic_app.test_client()
    assert submit_password(client, email, PASSWORD).status_code == 400  # refused

    first = "quiet harbour lantern 3381"
    weak = run(clinic_app, ["enable-user", "--email", email], input="password\npassword\n")
    assert weak.exit_code == 1 and "the password is not allowed" in weak.output
    db.session.expire_all()
    assert users()[0].disabled_at is not None  # nothing half done

    result = run(
        clinic_app,
        ["enable-user", "--email", " Rosa@North.example.org "],
        input=f"{first}\n{first}\n",
    )
    assert result.exit_code == 0, result.output
    assert f"Turned the account {email} back on" in result.output
    db.session.expire_all()
    (user,) = users()
    assert user.disabled_at is None and user.password_must_change and user.totp_secret is None
    (row,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "staff_enable"))
    assert (row.user_id, row.clinic_id, row.record_id) == (None, user.clinic_id, str(user.id))
    assert row.detail == "operator command; sessions ended=0"
    db.session.commit()
    # Not with its old password: with the first one, on to setting up a new sign-in code.
    assert submit_password(client, email, PASSWORD).status_code == 400
    assert submit_password(client, email, first).headers["Location"] == "/clinic/totp/setup"

    again = run(clinic_app, ["enable-user", "--email", email])
    assert again.exit_code == 0
    assert "is not turned off; nothing was changed" in again.output
    count = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "staff_enable")
    assert db.session.scalar(count) == 1


def test_enable_user_names_an_unknown_email(clinic_app: Flask) -> None:
    result = run(clinic_app, ["enable-user", "--email", "nobody@north.example.org"])
    assert result.exit_code == 1
    assert "there is no staff account with email 'nobody@north.example.org'" in result.output


# --- demo ------------------------------------------------------------------------------------


def test_demo_prints_a_working_password_once(sqlite_app: Flask) -> None:
    first = run(sqlite_app, ["demo"])
    assert first.exit_code == 0, first.output
    password = first.output.split("Password (shown only this once): ")[1].split()[0]
    [user] = users()
    assert user.email == "demo@example.org" and user.role == "admin"
    assert verify_password(user.password_hash, password)
    clinic = store.get_clinic_by_slug("demo")
    assert clinic is not None and clinic.name == "Demo Pain Clinic"

    second = run(sqlite_app, ["demo"])
    assert second.exit_code == 0
    assert "already exist" in second.output
    assert password not in second.output and "Password" not in second.output
    assert len(users()) == 1


# --- the console script ----------------------------------------------------------------------


def test_the_console_script_runs_the_commands_on_the_configured_database(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'operator.sqlite3'}",
        "QUESTIONNAIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "operator-test-secret-key",
    }
    runner = CliRunner()
    for args in (
        ["init-db"],
        ["create-clinic", "--slug", "east", "--name", "East Clinic"],
        ["create-user", "--clinic", "east", "--email", "e@example.org", "--name", "E"],
    ):
        result = runner.invoke(cli, args, env=env, input=PASSWORD)
        assert result.exit_code == 0, result.output
    assert "Created staff account e@example.org in clinic 'east'." in result.output
    bad = runner.invoke(cli, ["purge", "--older-than", "0"], env=env)
    assert bad.exit_code == 2 and "Traceback" not in bad.output
