"""SQLite settings for a web app with several writers: WAL, a busy timeout, foreign keys,
and a write lock taken up front by the transactions that will write.

In WAL mode a reader never waits and is never refused, so a transaction that only reads
begins with a plain ``BEGIN``. A deferred transaction that reads first and writes later
cannot wait for the lock, though: it fails at once with "database is locked" when another
writer holds the lock or has committed since its read. So a transaction begun inside
``transactions.writing()`` (or ``write_lock()``) begins with ``BEGIN IMMEDIATE``, and a
second writer waits up to ``BUSY_TIMEOUT_MS`` instead. This is the pysqlite recipe from the
SQLAlchemy documentation: the driver's own transaction handling is switched off on connect
and SQLAlchemy's begin event emits the BEGIN.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

from questionnaire.clinic.transactions import intends_to_write
from questionnaire.extensions import db

BUSY_TIMEOUT_MS = 10_000

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    # With WAL, NORMAL loses no committed data on an application crash and is much faster.
    "PRAGMA synchronous=NORMAL",
)


def configure_sqlite(app: Flask) -> None:
    """Attach the SQLite listeners to every SQLite engine of ``app`` (other databases skip)."""
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        configure_engine(engine)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _on_connect):
        return
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # None hands transaction control to SQLAlchemy (see _on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if intends_to_write() else "BEGIN")
