"""Staff users' last accepted TOTP time step, so that each sign-in code works only once.

Adding and dropping a plain nullable column is an ALTER TABLE on SQLite (3.35 or later) as
on PostgreSQL. Batch mode would copy the table instead, and on SQLite, with foreign keys on,
dropping the old copy of staff_users fails while sessions or submissions refer to it.

Revision ID: 0002_totp_last_step
Revises: 0001_initial
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_totp_last_step"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_users", sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("staff_users", "totp_last_step")
