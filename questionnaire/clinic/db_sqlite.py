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

import fcntl
import os
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

# Beside the database file; never the database file itself, since closing any handle on
# that file drops SQLite's own locks on it.
WRITER_LOCK_SUFFIX = "-writer.lock"
_LOCK = "questionnaire_writer_lock"


def configure_sqlite(app: Flask) -> None:
    """Attach the SQLite listeners to every SQLite engine of ``app`` (other databases skip)."""
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        configure_engine(engine)


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _on_begin):
        return
    lock_path = writer_lock_path(engine.url.database)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        _configure_connection(dbapi_connection)
        if lock_path is not None:
            record.info[_LOCK] = WriterLock(lock_path)

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "commit", _on_end)
    event.listen(engine, "rollback", _on_end)
    event.listen(engine, "checkin", _on_checkin)
    event.listen(engine, "close", _on_close)


def writer_lock_path(database: str | None) -> str | None:
    """The writers' lock file of a database file; None for an in-memory database."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + WRITER_LOCK_SUFFIX


class WriterLock:
    """An exclusive lock on a file, one per connection, held while its transaction writes.

    Writers of every process queue on it before ``BEGIN IMMEDIATE``, so SQLite's lock is
    nearly always free when they get there. The kernel hands the lock on as soon as it is
    released; SQLite's own busy handler, where writers would otherwise wait, sleeps in steps
    of up to 100 ms and lets a writer that has just arrived overtake one that has waited long.
    It is released as the transaction's COMMIT or ROLLBACK starts: the next writer then waits
    at most for that statement, in SQLite's busy handler.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.held = False

    def acquire(self) -> None:
        if not self.held:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self.held = True

    def release(self) -> None:
        if self.held:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self.held = False

    def close(self) -> None:
        self.held = False
        os.close(self._fd)


def _configure_connection(dbapi_connection: Any) -> None:
    # None hands transaction control to SQLAlchemy (see _on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_begin(connection: Connection) -> None:
    lock: WriterLock | None = connection.info.get(_LOCK)
    if intends_to_write():
        if lock is not None:
            lock.acquire()
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    if lock is not None:
        lock.release()  # the connection's last transaction wrote; this one only reads
    connection.exec_driver_sql("BEGIN")


def _on_end(connection: Connection) -> None:
    lock: WriterLock | None = connection.info.get(_LOCK)
    if lock is not None:
        lock.release()


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    # Back in the pool means the transaction has ended, whatever happened to it.
    lock: WriterLock | None = record.info.get(_LOCK)
    if lock is not None:
        lock.release()


def _on_close(_dbapi_connection: Any, record: Any) -> None:
    lock: WriterLock | None = record.info.pop(_LOCK, None)
    if lock is not None:
        lock.close()
