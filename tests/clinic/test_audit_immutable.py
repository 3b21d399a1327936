"""The audit log is append-only in the database itself, on SQLite and PostgreSQL, whether the
tables were made by the migration or by ``db.create_all()``."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from questionnaire.clinic.audit import write_audit
from questionnaire.clinic.models import AuditEvent
from questionnaire.extensions import db


@pytest.fixture(params=["create_all", "migration"])
def audited_app(request: pytest.FixtureRequest, empty_app: Flask) -> Flask:
    if request.param == "migration":
        upgrade()
    else:
        db.create_all()
    write_audit("login_success", user_id=7, clinic_id=3, detail="first")
    write_audit("export_csv", user_id=7, clinic_id=3, record_id=12)
    db.session.commit()
    return empty_app


def rows() -> list[tuple[str, str | None, str | None]]:
    return [
        (event.action, event.record_id, event.detail)
        for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]


BEFORE = [("login_success", None, "first"), ("export_csv", "12", None)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET detail = 'changed'",
        "UPDATE audit_log SET action = 'nothing' WHERE action = 'export_csv'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE action = 'login_success'",
    ],
)
def test_sql_cannot_change_or_remove_audit_rows(audited_app: Flask, statement: str) -> None:
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert rows() == BEFORE


def test_the_orm_cannot_change_or_remove_audit_rows(audited_app: Flask) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(update(AuditEvent).values(user_id=None))
    db.session.rollback()
    first = db.session.scalars(select(AuditEvent)).first()
    assert first is not None
    db.session.delete(first)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(delete(AuditEvent))
    db.session.rollback()
    assert rows() == BEFORE


def test_new_rows_can_still_be_added(audited_app: Flask) -> None:
    write_audit("purge", clinic_id=3, detail="deleted 0 submissions older than 30 days")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 3


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_truncate(audited_app: Flask) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("TRUNCATE audit_log"))
    db.session.rollback()
    assert rows() == BEFORE


@pytest.mark.parametrize(
    ("action", "detail", "message"),
    [
        ("Login", None, "is not allowed"),
        ("", None, "is not allowed"),
        ("x" * 65, None, "is not allowed"),
        ("review", "x" * 501, "at most 500"),
    ],
)
def test_write_audit_refuses_bad_values(
    db_app: Flask, action: str, detail: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_audit(action, detail=detail)
