"""Row counts kept by the database, list indexes with their tiebreaker, trigram search.

Lists read their `count` from counters that triggers keep in the same transaction as
every write, whoever makes it (the app, psql, COPY, a cascade delete), instead of
counting the rows on every page.

- `item_count`: items per owner. `row_total`: items and users in all. Both are split
  into slots (PostgreSQL: the writing backend's pid modulo 16; SQLite: slot 0, since its
  writers take turns anyway) and summed when read, so concurrent writers rarely wait on
  the same counter row, not even writers for one owner.
- PostgreSQL: statement-level triggers over transition tables, so a COPY of a million
  rows or the cascade delete of an owner with a million items is one counter update per
  owner, not one per row. SQLite: row triggers.
- Indexes that match each list's ORDER BY (created_at DESC, id DESC), per owner and in
  all, so a page reads only its own rows; on PostgreSQL, trigram (pg_trgm GIN) indexes
  for the ILIKE searches on item title/description and user email/full_name.

The triggers and trigram indexes are app/db/counters.py's, which every entity's
migration uses the same way.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from app.db import counters

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGRAM_INDEXES = {"item": ("title", "description"), "user": ("email", "full_name")}


def _counter_tables() -> None:
    op.create_table(
        "item_count",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "slot"),
    )
    op.create_table(
        "row_total",
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", "slot"),
    )


def _list_indexes() -> None:
    # The owner's list, and the owner_id foreign key's lookups (cascade deletes): one
    # index serves both, so ix_item_owner_id goes.
    op.drop_index("ix_item_owner_id_created_at", table_name="item")
    op.drop_index("ix_item_owner_id", table_name="item")
    op.drop_index("ix_item_created_at", table_name="item")
    op.drop_index("ix_user_created_at", table_name="user")
    op.create_index("ix_item_owner_id_created_at_id", "item", ["owner_id", "created_at", "id"])
    op.create_index("ix_item_created_at_id", "item", ["created_at", "id"])
    op.create_index("ix_user_created_at_id", "user", ["created_at", "id"])


def _previous_list_indexes() -> None:
    op.drop_index("ix_user_created_at_id", table_name="user")
    op.drop_index("ix_item_created_at_id", table_name="item")
    op.drop_index("ix_item_owner_id_created_at_id", table_name="item")
    op.create_index("ix_user_created_at", "user", ["created_at"])
    op.create_index("ix_item_created_at", "item", ["created_at"])
    op.create_index("ix_item_owner_id", "item", ["owner_id"])
    op.create_index("ix_item_owner_id_created_at", "item", ["owner_id", "created_at"])


def upgrade() -> None:
    _counter_tables()
    _list_indexes()
    if op.get_bind().dialect.name == "postgresql":
        # No write may land between the backfill and the triggers taking over.
        op.execute('LOCK TABLE "user", item IN SHARE ROW EXCLUSIVE MODE')
    counters.create_counters("item", "items", owned=True)
    counters.create_counters("user", "users", owned=False)
    counters.backfill("item", owned=True)
    counters.backfill("user", owned=False)
    for table, columns in _TRIGRAM_INDEXES.items():
        counters.create_search_indexes(table, *columns)


def downgrade() -> None:
    for table, columns in _TRIGRAM_INDEXES.items():
        counters.drop_search_indexes(table, *columns)
    counters.drop_counters("item", "items", owned=True)
    counters.drop_counters("user", "users", owned=False)
    _previous_list_indexes()
    op.drop_table("row_total")
    op.drop_table("item_count")
