"""Staff users' ``totp_new_secret`` and ``totp_new_session``: the secret for a new phone
while a person moves their sign-in code to it, and the session that asked for it. Existing
accounts have neither.

A plain ALTER TABLE, as in 0002 to 0004.

Revision ID: 0005_totp_new_secret
Revises: 0004_session_confirmed_at
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_totp_new_secret"
down_revision = "0004_session_confirmed_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_users", sa.Column("totp_new_secret", sa.String(length=64), nullable=True))
    op.add_column("staff_users", sa.Column("totp_new_session", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("staff_users", "totp_new_session")
    op.drop_column("staff_users", "totp_new_secret")
