"""Sheet results stored once: ``sheet_results`` keyed by the SHA-256 of the result's JSON text.

Each submission kept its own copy of the result it showed the patient, about 17 kB, though
most are the same as another's. Now ``submissions.result_sha256`` names a row of
``sheet_results``, which holds each distinct result once. Every stored result is moved over
exactly as it was stored (its text, not a copy made again), so each submission still shows
what its patient saw. ``sheet_results`` refuses UPDATE (a trigger); the foreign key refuses
deleting a result that a submission refers to.

On SQLite, dropping a column that a new foreign key replaces means copying ``submissions``
into a new table (Alembic's batch mode). migrations/env.py turns foreign keys off while
migrations run, so that dropping the old table does not cascade into ``submission_reviews``,
and checks them all before the migration commits. The triggers on ``submission_reviews``
name ``submissions``, so they are dropped before the copy and made again after it.

Going down puts each submission's result back in its own column and drops the table.

Revision ID: 0007_sheet_results
Revises: 0006_submission_reviews
Create Date: 2026-11-25
"""

import hashlib
from collections.abc import Callable, Iterator

import sqlalchemy as sa
from alembic import op

revision = "0007_sheet_results"
down_revision = "0006_submission_reviews"
branch_labels = None
depends_on = None

BATCH = 1000

# Copies of the triggers as they are at this revision (see 0006 for why copies).
REVIEWS_SQLITE_TRIGGERS = {
    "submission_reviews_no_update": (
        "CREATE TRIGGER submission_reviews_no_update BEFORE UPDATE ON submission_reviews "
        "BEGIN SELECT RAISE(ABORT, 'submission_reviews is append-only'); END"
    ),
    "submission_reviews_no_delete": (
        "CREATE TRIGGER submission_reviews_no_delete BEFORE DELETE ON submission_reviews "
        "WHEN EXISTS (SELECT 1 FROM submissions WHERE submissions.id = OLD.submission_id) "
        "BEGIN SELECT RAISE(ABORT, 'submission_reviews is append-only'); END"
    ),
}
RESULTS_SQLITE_TRIGGERS = (
    "CREATE TRIGGER sheet_results_no_update BEFORE UPDATE ON sheet_results "
    "BEGIN SELECT RAISE(ABORT, 'sheet_results are never changed'); END",
)
RESULTS_POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION sheet_results_unchanged() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'sheet_results are never changed' "
    "USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER sheet_results_no_update BEFORE UPDATE ON sheet_results "
    "FOR EACH ROW EXECUTE FUNCTION sheet_results_unchanged()",
)


def _dialect() -> str:
    return str(op.get_bind().dialect.name)


def _stored_results() -> Iterator[list[tuple[int, str]]]:
    """Every submission's id and the text of its result as stored, a batch at a time."""
    # On PostgreSQL the json column is read as its text, as it was written.
    column = "CAST(result AS TEXT)" if _dialect() == "postgresql" else "result"
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.text(
                f"SELECT id, {column} FROM submissions WHERE id > :last ORDER BY id LIMIT :n"  # noqa: S608 (no input)
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        yield [(int(row[0]), str(row[1])) for row in rows]
        last = int(rows[-1][0])


def _move_results_out() -> None:
    connection = op.get_bind()
    seen: set[str] = set()
    for batch in _stored_results():
        keys = []
        for submission_id, text in batch:
            key = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if key not in seen:
                seen.add(key)
                # Inserted as text, so the stored JSON is exactly what the submission had.
                connection.execute(
                    sa.text("INSERT INTO sheet_results (sha256, result) VALUES (:key, :text)"),
                    {"key": key, "text": text},
                )
            keys.append({"key": key, "id": submission_id})
        connection.execute(
            sa.text("UPDATE submissions SET result_sha256 = :key WHERE id = :id"), keys
        )


def _with_reviews_triggers_dropped_on_sqlite(change: Callable[[], None]) -> None:
    """Run ``change``; on SQLite, which copies ``submissions`` for it, with the triggers that
    name that table dropped, and every foreign key checked after it (env.py turns them off)."""
    sqlite = _dialect() == "sqlite"
    if sqlite:
        for name in REVIEWS_SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    change()
    if sqlite:
        for statement in REVIEWS_SQLITE_TRIGGERS.values():
            op.execute(statement)
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"copying submissions broke foreign keys: {broken[:10]}")


def upgrade() -> None:
    op.create_table(
        "sheet_results",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.add_column("submissions", sa.Column("result_sha256", sa.String(length=64), nullable=True))
    _move_results_out()

    def replace_the_column() -> None:
        with op.batch_alter_table("submissions") as batch:
            batch.alter_column("result_sha256", existing_type=sa.String(64), nullable=False)
            batch.create_foreign_key(
                "fk_submissions_result_sha256", "sheet_results", ["result_sha256"], ["sha256"]
            )
            batch.create_index("ix_submissions_result_sha256", ["result_sha256"])
            batch.drop_column("result")

    _with_reviews_triggers_dropped_on_sqlite(replace_the_column)
    triggers = {"sqlite": RESULTS_SQLITE_TRIGGERS, "postgresql": RESULTS_POSTGRESQL_TRIGGERS}
    for statement in triggers.get(_dialect(), ()):
        op.execute(statement)


def downgrade() -> None:
    op.add_column("submissions", sa.Column("result", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE submissions SET result = (SELECT sheet_results.result FROM sheet_results "
        "WHERE sheet_results.sha256 = submissions.result_sha256)"
    )

    def restore_the_column() -> None:
        with op.batch_alter_table("submissions") as batch:
            batch.alter_column("result", existing_type=sa.JSON(), nullable=False)
            batch.drop_index("ix_submissions_result_sha256")
            batch.drop_constraint("fk_submissions_result_sha256", type_="foreignkey")
            batch.drop_column("result_sha256")

    _with_reviews_triggers_dropped_on_sqlite(restore_the_column)
    # Dropping a table drops its triggers; on PostgreSQL their function stays unless dropped.
    op.drop_table("sheet_results")
    if _dialect() == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS sheet_results_unchanged()")
