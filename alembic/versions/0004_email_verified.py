"""Email verification: `user.email_verified`.

Accounts that exist before this revision are taken as verified (they were made before
anyone was asked to prove an address, and must not be locked out by
REQUIRE_EMAIL_VERIFICATION); new ones start unverified.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The server default is false, what an insert that names no value gets (as the
    # models' default); the rows already there are then marked verified.
    op.add_column(
        "user",
        sa.Column("email_verified", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(sa.text('UPDATE "user" SET email_verified = true'))


def downgrade() -> None:
    # A plain ALTER TABLE (SQLite has one since 3.35): a batch would copy the table
    # and lose the counting triggers of 0002.
    op.drop_column("user", "email_verified")
