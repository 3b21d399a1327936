"""Staff sessions' ``confirmed_at``: when the person last gave their password in the
session. Administrators' actions on other accounts need it to be recent. Sessions open at
the upgrade get none, so their first such action asks for the password.

A plain ALTER TABLE, as in 0002 and 0003.

Revision ID: 0004_session_confirmed_at
Revises: 0003_password_must_change
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_session_confirmed_at"
down_revision = "0003_password_must_change"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "staff_sessions", sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("staff_sessions", "confirmed_at")
