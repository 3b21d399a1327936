"""The audit log: ``write_audit`` and the triggers that make ``audit_log`` append-only.

The triggers live in the database, not in the application, so no code path (a bug, a shell
session, a retention job) can rewrite or remove what staff did. The Alembic migration
creates the same triggers from a copy of this SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DDL, Table, event

from questionnaire.extensions import db

if TYPE_CHECKING:
    from questionnaire.clinic.models import AuditEvent

APPEND_ONLY_MESSAGE = "audit_log is append-only"

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
)

POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
)

POSTGRESQL_DROP = "DROP FUNCTION IF EXISTS audit_log_append_only()"

_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
DETAIL_MAX = 500


def attach_immutability_triggers(
    table: Table,
    sqlite: Sequence[str] = SQLITE_TRIGGERS,
    postgresql: Sequence[str] = POSTGRESQL_TRIGGERS,
    postgresql_drop: str = POSTGRESQL_DROP,
) -> None:
    """Create a table's triggers whenever it is created (``db.create_all()`` in tests), and
    drop PostgreSQL's function with it: the audit log's by default, or those given."""
    for statement in sqlite:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in postgresql:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    event.listen(table, "after_drop", DDL(postgresql_drop).execute_if(dialect="postgresql"))


def write_audit(
    action: str,
    *,
    user_id: int | None = None,
    clinic_id: int | None = None,
    record_id: str | int | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Add one audit row to the current session; the caller's commit stores it.

    Writing the row in the caller's transaction means the action and its record are stored
    together or not at all. ``action`` is a short snake_case name such as ``login_success``,
    ``submission_view`` or ``export_csv``; ``detail`` is at most 500 characters and must
    never contain patient data (names, answers, dates of birth).
    """
    # Imported here because models.py imports this module for the triggers.
    from questionnaire.clinic.models import AuditEvent

    event_row = AuditEvent(
        **audit_values(
            action, user_id=user_id, clinic_id=clinic_id, record_id=record_id, detail=detail
        )
    )
    db.session.add(event_row)
    return event_row


def audit_values(
    action: str,
    *,
    user_id: int | None = None,
    clinic_id: int | None = None,
    record_id: str | int | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """The columns of one audit row, checked as ``write_audit`` checks them; for a caller
    that inserts the row itself, in its own transaction."""
    if not _ACTION.match(action):
        raise ValueError(
            f"audit action {action!r} is not allowed: use 1-64 lower-case letters, digits "
            "and underscores, starting with a letter"
        )
    if detail is not None and len(detail) > DETAIL_MAX:
        raise ValueError(f"audit detail has {len(detail)} characters; at most {DETAIL_MAX}")
    return {
        "at": datetime.now(UTC),
        "user_id": user_id,
        "clinic_id": clinic_id,
        "action": action,
        "record_id": None if record_id is None else str(record_id),
        "detail": detail,
    }
