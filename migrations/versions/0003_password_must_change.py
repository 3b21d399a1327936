"""Staff users' ``password_must_change``: a password someone else chose is replaced at the
next sign-in. Existing accounts keep the passwords they have (false).

A plain ALTER TABLE, as in 0002: batch mode would copy staff_users, which sessions and
submissions refer to.

Revision ID: 0003_password_must_change
Revises: 0002_totp_last_step
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_password_must_change"
down_revision = "0002_totp_last_step"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "staff_users",
        sa.Column("password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("staff_users", "password_must_change")
