"""Sessions: one row per login, which its access and refresh tokens speak for.

Tokens issued before this revision carry no session and stop working: everyone logs
in again once after the upgrade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_used_at"),
        _timestamp("expires_at"),
        sa.Column("user_agent", sa.String(length=255), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        _timestamp("revoked_at", nullable=True),
        sa.Column("refresh_generation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    # A user's sessions, the one used last first (the sessions list, the pruning at
    # login); it also serves the foreign key's cascade.
    op.create_index(
        "ix_user_session_user_id_last_used_at", "user_session", ["user_id", "last_used_at"]
    )


def downgrade() -> None:
    op.drop_table("user_session")
