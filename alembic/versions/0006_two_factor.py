"""Two-factor authentication (TOTP): the user's secret and state, and recovery codes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("two_factor_secret", "two_factor_enabled", "two_factor_last_step")


def upgrade() -> None:
    op.add_column("user", sa.Column("two_factor_secret", sa.String(length=64), nullable=True))
    op.add_column(
        "user",
        sa.Column("two_factor_enabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "user",
        sa.Column("two_factor_last_step", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        # Also the index of the foreign key's cascade.
        sa.UniqueConstraint("user_id", "code_hash"),
    )


def downgrade() -> None:
    op.drop_table("recovery_code")
    # Plain ALTER TABLEs, as in 0004: a batch would lose the triggers of 0002.
    for column in COLUMNS:
        op.drop_column("user", column)
