"""Submission reviews: every review of a submission, kept when it is reviewed again.

``submission_reviews`` is append-only, as ``audit_log`` is: triggers refuse UPDATE, and
DELETE while the review's submission exists, so that deleting a submission (retention's
purge) removes its reviews through the foreign key's ON DELETE CASCADE and nothing else can.
The submissions' own ``reviewed_at``, ``reviewed_by_id`` and ``review_note`` stay as the
latest review. Each submission reviewed before this revision gets that review as the first
row of its history.

Going down drops the table: the earlier reviews are lost, the latest stays on each
submission.

A new table and triggers only: submissions is not altered (SQLite would copy it).

Revision ID: 0006_submission_reviews
Revises: 0005_totp_new_secret
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_submission_reviews"
down_revision = "0005_totp_new_secret"
branch_labels = None
depends_on = None

# A copy of the triggers in questionnaire/clinic/models.py as they were at this revision: a
# migration must keep doing what it did even after the application code changes.
SQLITE_TRIGGERS = (
    "CREATE TRIGGER submission_reviews_no_update BEFORE UPDATE ON submission_reviews "
    "BEGIN SELECT RAISE(ABORT, 'submission_reviews is append-only'); END",
    "CREATE TRIGGER submission_reviews_no_delete BEFORE DELETE ON submission_reviews "
    "WHEN EXISTS (SELECT 1 FROM submissions WHERE submissions.id = OLD.submission_id) "
    "BEGIN SELECT RAISE(ABORT, 'submission_reviews is append-only'); END",
)
POSTGRESQL_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION submission_reviews_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'DELETE' THEN "
    "IF NOT EXISTS (SELECT 1 FROM submissions WHERE submissions.id = OLD.submission_id) THEN "
    "RETURN OLD; "
    "END IF; "
    "END IF; "
    "RAISE EXCEPTION 'submission_reviews is append-only' "
    "USING ERRCODE = 'insufficient_privilege'; "
    "END $$",
    "CREATE TRIGGER submission_reviews_no_update_delete "
    "BEFORE UPDATE OR DELETE ON submission_reviews "
    "FOR EACH ROW EXECUTE FUNCTION submission_reviews_append_only()",
    "CREATE TRIGGER submission_reviews_no_truncate BEFORE TRUNCATE ON submission_reviews "
    "FOR EACH STATEMENT EXECUTE FUNCTION submission_reviews_append_only()",
)

# The latest review of every reviewed submission, oldest submission first.
COPY_REVIEWS = (
    "INSERT INTO submission_reviews "
    "(submission_id, clinic_id, reviewed_by_id, reviewed_at, note) "
    "SELECT id, clinic_id, reviewed_by_id, reviewed_at, review_note FROM submissions "
    "WHERE reviewed_at IS NOT NULL ORDER BY id"
)


def upgrade() -> None:
    op.create_table(
        "submission_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name="fk_submission_reviews_submission_id",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name="fk_submission_reviews_clinic_id"
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"], ["staff_users.id"], name="fk_submission_reviews_reviewed_by_id"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_submission_reviews_submission_id", "submission_reviews", ["submission_id", "id"]
    )
    # Copied before the triggers exist; INSERT is allowed either way.
    op.execute(COPY_REVIEWS)
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(
        dialect, ()
    ):
        op.execute(statement)


def downgrade() -> None:
    # Dropping a table fires no DELETE trigger (on SQLite its implicit DELETE fires none
    # either), and its triggers go with it.
    op.drop_table("submission_reviews")
    if op.get_bind().dialect.name == "postgresql":
        # The function the triggers called is not the table's: it stays unless dropped.
        op.execute("DROP FUNCTION IF EXISTS submission_reviews_append_only()")
