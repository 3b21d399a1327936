"""SQLite settings for a web app with several writers: WAL, a busy timeout, foreign keys,
and transactions that take the write lock when they begin.

A deferred SQLite transaction that reads first and writes later cannot wait for the lock:
it fails at once with "database is locked". Beginning with ``BEGIN IMMEDIATE`` makes a second
writer wait up to ``BUSY_TIMEOUT_MS`` instead. This is the pysqlite recipe from the
SQLAlchemy documentation: the driver's own transaction handling is switched off on connect
and SQLAlchemy's begin event emits the BEGIN.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

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
    connection.exec_driver_sql("BEGIN IMMEDIATE")
