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

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Enough that 256 concurrent writers rarely share one (pids spread them), few enough to
# sum in one index probe.
SLOTS = 16

_TRIGRAM_INDEXES = {
    "ix_item_title_trgm": ("item", "title"),
    "ix_item_description_trgm": ("item", "description"),
    "ix_user_email_trgm": ("user", "email"),
    "ix_user_full_name_trgm": ("user", "full_name"),
}


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


def _backfill() -> None:
    op.execute(
        "INSERT INTO item_count (owner_id, slot, n)"
        " SELECT owner_id, 0, count(*) FROM item GROUP BY owner_id"
    )
    op.execute("INSERT INTO row_total (table_name, slot, n) SELECT 'item', 0, count(*) FROM item")
    op.execute(
        "INSERT INTO row_total (table_name, slot, n) SELECT 'user', 0, count(*) FROM \"user\""
    )


# PostgreSQL ------------------------------------------------------------------

_SLOT = f"(pg_backend_pid() % {SLOTS})"


def _pg_apply(deltas: str) -> str:
    """Add `deltas` (rows of owner_id, d) to the owners' counters, then the total.

    Always in that order, and owners in id order, so two writers never wait on each
    other's counter rows in opposite orders (no deadlock).
    """
    return f"""
    INSERT INTO item_count AS c (owner_id, slot, n)
        SELECT owner_id, {_SLOT}, d FROM ({deltas}) AS delta WHERE d <> 0 ORDER BY owner_id
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO row_total AS t (table_name, slot, n)
        SELECT 'item', {_SLOT}, sum(d) FROM ({deltas}) AS delta HAVING sum(d) <> 0
        ON CONFLICT (table_name, slot) DO UPDATE SET n = t.n + excluded.n;
    """


def _pg_function(name: str, body: str) -> None:
    op.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
    )


_PG_FUNCTIONS = {
    "count_items_added": _pg_apply("SELECT owner_id, count(*) AS d FROM added GROUP BY owner_id"),
    # The counter rows of owners deleted meanwhile (the cascade of a user's delete runs
    # this after the user row is gone) go: no item can point at them any more.
    "count_items_removed": _pg_apply(
        "SELECT owner_id, -count(*) AS d FROM removed GROUP BY owner_id"
    )
    + """
    DELETE FROM item_count AS c WHERE c.owner_id IN (SELECT owner_id FROM removed)
        AND NOT EXISTS (SELECT FROM "user" WHERE "user".id = c.owner_id);
    """,
    # An item moved to another owner (no face of the app does it; psql can).
    "count_items_moved": _pg_apply(
        "SELECT owner_id, sum(d) AS d FROM (SELECT owner_id, 1 AS d FROM added"
        " UNION ALL SELECT owner_id, -1 FROM removed) AS moves GROUP BY owner_id"
    ),
    "count_items_truncated": """
    DELETE FROM item_count;
    DELETE FROM row_total WHERE table_name = 'item';
    """,
    "count_users_added": f"""
    INSERT INTO row_total AS t (table_name, slot, n)
        SELECT 'user', {_SLOT}, count(*) FROM added HAVING count(*) > 0
        ON CONFLICT (table_name, slot) DO UPDATE SET n = t.n + excluded.n;
    """,
    "count_users_removed": f"""
    INSERT INTO row_total AS t (table_name, slot, n)
        SELECT 'user', {_SLOT}, -count(*) FROM removed HAVING count(*) > 0
        ON CONFLICT (table_name, slot) DO UPDATE SET n = t.n + excluded.n;
    """,
    "count_users_truncated": "DELETE FROM row_total WHERE table_name = 'user';",
}

_PG_TRIGGERS = [
    ("items_counted_on_insert", "INSERT", "item", "NEW TABLE AS added", "count_items_added"),
    ("items_counted_on_delete", "DELETE", "item", "OLD TABLE AS removed", "count_items_removed"),
    (
        "items_counted_on_update",
        "UPDATE",
        "item",
        "OLD TABLE AS removed NEW TABLE AS added",
        "count_items_moved",
    ),
    ("items_counted_on_truncate", "TRUNCATE", "item", "", "count_items_truncated"),
    ("users_counted_on_insert", "INSERT", "user", "NEW TABLE AS added", "count_users_added"),
    ("users_counted_on_delete", "DELETE", "user", "OLD TABLE AS removed", "count_users_removed"),
    ("users_counted_on_truncate", "TRUNCATE", "user", "", "count_users_truncated"),
]


def _pg_upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # No write may land between the backfill and the triggers taking over.
    op.execute('LOCK TABLE "user", item IN SHARE ROW EXCLUSIVE MODE')
    for name, body in _PG_FUNCTIONS.items():
        _pg_function(name, body)
    for trigger, event, table, transitions, function in _PG_TRIGGERS:
        referencing = f"REFERENCING {transitions} " if transitions else ""
        op.execute(
            f'CREATE TRIGGER {trigger} AFTER {event} ON "{table}" '
            f"{referencing}FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    _backfill()
    for index, (table, column) in _TRIGRAM_INDEXES.items():
        op.execute(f'CREATE INDEX {index} ON "{table}" USING gin ({column} gin_trgm_ops)')


def _pg_downgrade() -> None:
    for index in _TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX {index}")
    for trigger, _, table, _, _ in _PG_TRIGGERS:
        op.execute(f'DROP TRIGGER {trigger} ON "{table}"')
    for name in _PG_FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
    # pg_trgm stays: other objects may use it, and IF NOT EXISTS made no promise it was ours.


# SQLite ----------------------------------------------------------------------


def _sqlite_add(owner: str, d: int) -> str:
    return (
        f"INSERT INTO item_count (owner_id, slot, n) VALUES ({owner}, 0, {d})"
        f" ON CONFLICT (owner_id, slot) DO UPDATE SET n = n + {d};"
        f" DELETE FROM item_count WHERE owner_id = {owner} AND n = 0;"
        f" INSERT INTO row_total (table_name, slot, n) VALUES ('item', 0, {d})"
        f" ON CONFLICT (table_name, slot) DO UPDATE SET n = n + {d};"
    )


def _sqlite_user(d: int) -> str:
    return (
        f"INSERT INTO row_total (table_name, slot, n) VALUES ('user', 0, {d})"
        f" ON CONFLICT (table_name, slot) DO UPDATE SET n = n + {d};"
    )


_SQLITE_TRIGGERS = {
    "items_counted_on_insert": (
        "AFTER INSERT ON item FOR EACH ROW",
        _sqlite_add("NEW.owner_id", 1),
    ),
    "items_counted_on_delete": (
        "AFTER DELETE ON item FOR EACH ROW",
        _sqlite_add("OLD.owner_id", -1),
    ),
    "items_counted_on_update": (
        "AFTER UPDATE OF owner_id ON item FOR EACH ROW WHEN OLD.owner_id IS NOT NEW.owner_id",
        _sqlite_add("OLD.owner_id", -1) + _sqlite_add("NEW.owner_id", 1),
    ),
    "users_counted_on_insert": ('AFTER INSERT ON "user" FOR EACH ROW', _sqlite_user(1)),
    "users_counted_on_delete": ('AFTER DELETE ON "user" FOR EACH ROW', _sqlite_user(-1)),
}


def _sqlite_upgrade() -> None:
    for trigger, (when, body) in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {trigger} {when} BEGIN {body} END")
    _backfill()


def _sqlite_downgrade() -> None:
    for trigger in _SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")


def upgrade() -> None:
    _counter_tables()
    _list_indexes()
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_downgrade()
    else:
        _sqlite_downgrade()
    _previous_list_indexes()
    op.drop_table("row_total")
    op.drop_table("item_count")
