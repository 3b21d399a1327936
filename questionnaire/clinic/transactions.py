"""Units of work that write: ``with writing(): ...``.

Reads need nothing: they run in the session's ordinary transaction, which on SQLite begins
with a plain ``BEGIN`` and so never waits for a writer (WAL readers see a snapshot). Every
change to the database goes through ``writing()``, which commits on success, rolls back on
any error, and marks the transaction as one that writes, so that on SQLite it takes the write
lock when it begins (see ``db_sqlite``). A second writer then waits its turn instead of
failing: a transaction that has read first cannot wait for the lock, because its snapshot
may already be older than another writer's commit.

A request that has read something and then writes ends its read transaction first. The
objects it loaded keep their values, since nothing was changed: they are what the request
decided on. The write's own commit expires them as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy.orm import Session

from questionnaire.extensions import db

# Set while transactions that begin will write; and while a writing() block is open.
_WRITING: ContextVar[bool] = ContextVar("questionnaire_writing", default=False)
_IN_UNIT: ContextVar[bool] = ContextVar("questionnaire_unit_of_work", default=False)


class UnsavedChangesError(RuntimeError):
    """Objects were changed outside ``writing()``: they would be written without the lock."""


def intends_to_write() -> bool:
    """True inside ``writing()`` or ``write_lock()``: transactions begun now will write."""
    return _WRITING.get()


def in_unit_of_work() -> bool:
    """True inside a ``writing()`` block."""
    return _IN_UNIT.get()


@contextmanager
def write_lock() -> Iterator[None]:
    """Transactions begun inside take the write lock when they begin (SQLite).

    For code that runs its own connection, such as ``with write_lock(), engine.begin()``;
    work through the session uses ``writing()``, which also commits.
    """
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


@contextmanager
def writing() -> Iterator[None]:
    """Run the block as one transaction that writes; commit at the end, roll back on error.

    A ``writing()`` inside another joins it: the outermost block commits.
    """
    if _IN_UNIT.get():
        yield
        return
    session = end_reading()
    unit = _IN_UNIT.set(True)
    try:
        with write_lock():
            try:
                yield
                session.commit()
            except BaseException:
                session.rollback()
                raise
    finally:
        _IN_UNIT.reset(unit)


def end_reading() -> Session:
    """End the session's transaction, if one is open, before this request writes; it must
    not have changed anything. Returns the session.

    ``writing()`` does this itself; code that writes on a connection of its own calls it
    first, so that what the session reads afterwards includes that write.
    """
    session = db.session()
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise UnsavedChangesError(
                "objects were changed before writing() began; make every change inside "
                "'with writing():' so that it is written under the write lock"
            )
        _end_read(session)
    return session


def _end_read(session: Session) -> None:
    """End a transaction that has only read: its snapshot may be stale and could not take
    the lock. What it loaded is kept, since nothing was changed."""
    default = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = default
