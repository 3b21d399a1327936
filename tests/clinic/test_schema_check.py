"""Servers check the database's tables before they start (questionnaire/clinic/schema.py):
missing, older or newer tables stop the server with a message saying what to do; a database
that cannot be reached does not. Every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from helpers import LATEST_REVISION
from sqlalchemy import text
from support.ports import free_port
from support.testapp import app_with

from questionnaire.clinic.schema import DatabaseNotReady, check_schema
from questionnaire.extensions import db
from questionnaire.web.config import POSTGRESQL_CONNECT_TIMEOUT

INIT_DB = "run 'questionnaire init-db' with the same settings, then start the server again."


def refusal(app: Flask) -> str:
    with pytest.raises(DatabaseNotReady) as refused:
        check_schema(app)
    message = str(refused.value)
    assert message.startswith(f"The database {db.engine.url.render_as_string(hide_password=True)} ")
    return message


def test_a_database_at_the_latest_version_passes(empty_app: Flask) -> None:
    upgrade()
    check_schema(empty_app)  # no error


def test_a_database_without_tables_is_refused_naming_init_db(empty_app: Flask) -> None:
    assert refusal(empty_app).endswith(f" has no tables yet: {INIT_DB}")


def test_an_older_database_is_refused_naming_both_versions(empty_app: Flask) -> None:
    upgrade(revision="0005_totp_new_secret")
    assert refusal(empty_app).endswith(
        " is at version 0005_totp_new_secret, and this version of the app needs "
        f"{LATEST_REVISION}: {INIT_DB}"
    )


def test_a_database_changed_by_a_newer_version_is_refused(empty_app: Flask) -> None:
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    message = refusal(empty_app)
    assert (
        " is at version 0099_from_the_future, which this version of the app does not know"
        in message
    )
    assert message.endswith("restore the database from a backup made before the change.")


def test_tables_not_made_by_init_db_are_refused(empty_app: Flask) -> None:
    db.create_all()
    assert refusal(empty_app).endswith(
        " has tables but no record of their version, so 'questionnaire init-db' did not make "
        "them: serve the app from a database that it made."
    )


def test_a_database_that_cannot_be_reached_does_not_stop_the_server(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://clinic@127.0.0.1:{free_port()}/clinic",
    )
    with caplog.at_level(logging.WARNING, logger="questionnaire.clinic.schema"):
        check_schema(app)  # no error: an outage, which the app's pages report
    assert [record.getMessage() for record in caplog.records] == [
        "could not reach the database to check its tables (OperationalError); starting anyway"
    ]


def test_a_database_that_never_answers_is_given_up_on_after_the_connect_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Connections to it are made (the kernel takes them), but nothing ever answers on them.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        app = app_with(
            tmp_path, SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://clinic@127.0.0.1:{port}/clinic"
        )
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="questionnaire.clinic.schema"):
            # In a thread, so that a check that never gives up fails this test, not hangs it.
            checking = threading.Thread(target=check_schema, args=(app,), daemon=True)
            checking.start()
            checking.join(POSTGRESQL_CONNECT_TIMEOUT + 5)
        waited = time.monotonic() - started
    assert not checking.is_alive(), "still connecting"
    assert waited >= POSTGRESQL_CONNECT_TIMEOUT
    assert "could not reach the database to check its tables" in caplog.text


@pytest.mark.parametrize(
    ("address", "connect_args", "timeout"),
    [
        ("postgresql://clinic@db.internal/clinic", {}, POSTGRESQL_CONNECT_TIMEOUT),
        ("postgresql://clinic@db.internal/clinic", {"connect_timeout": 20}, 20),
        ("postgresql://clinic@db.internal/clinic?connect_timeout=30", {}, None),
    ],
    ids=["default", "engine-option", "in-the-address"],
)
def test_postgresql_connections_have_a_timeout_unless_the_operator_set_one(
    tmp_path: Path, address: str, connect_args: dict[str, int], timeout: int | None
) -> None:
    options = {"connect_args": connect_args} if connect_args else {}
    app = app_with(tmp_path, SQLALCHEMY_DATABASE_URI=address, SQLALCHEMY_ENGINE_OPTIONS=options)
    given = app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
    assert given.get("connect_timeout") == timeout
