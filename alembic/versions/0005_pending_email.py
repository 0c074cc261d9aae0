"""Email changes confirmed from the new address: `user.pending_email`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("user", sa.Column("pending_email", sa.String(length=255), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE, as in 0004: a batch would lose the triggers of 0002.
    op.drop_column("user", "pending_email")
