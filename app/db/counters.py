"""The database side of exact row counts: the triggers that keep each table's counters,
and the trigram indexes its searches use. Migrations call these (0002 for items and
users, and the migration of every entity devtools.scaffold writes), so every table is
counted the same way; app/db/counts.py reads the counters.

- `<table>_count` (app/models/counters.py): rows per owner, for tables of owned rows.
  `row_total`: rows in all, per table. Both are split into slots (PostgreSQL: the
  writing backend's pid modulo SLOTS; SQLite: slot 0, since its writers take turns
  anyway) and summed when read, so concurrent writers rarely wait on the same counter
  row, not even writers for one owner.
- PostgreSQL: statement-level triggers over transition tables, so a COPY of a million
  rows or the cascade delete of an owner with a million rows is one counter update per
  owner, not one per row. SQLite: row triggers.
- The triggers keep the counters in the same transaction as every write, whoever makes
  it (the app, psql, COPY, a cascade delete).

A migration's history must not change once it ran somewhere: change what these write
only by adding new functions, never by editing the SQL below.
"""

from alembic import op

# Enough that 256 concurrent writers rarely share one (pids spread them), few enough to
# sum in one index probe.
SLOTS = 16
_SLOT = f"(pg_backend_pid() % {SLOTS})"


def _is_postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _table(name: str) -> str:
    return f'"{name}"'


# PostgreSQL ------------------------------------------------------------------


def _pg_apply(table: str, deltas: str) -> str:
    """Add `deltas` (rows of owner_id, d) to the owners' counters, then the total.

    Always in that order, and owners in id order, so two writers never wait on each
    other's counter rows in opposite orders (no deadlock).
    """
    return f"""
    INSERT INTO {table}_count AS c (owner_id, slot, n)
        SELECT owner_id, {_SLOT}, d FROM ({deltas}) AS delta WHERE d <> 0 ORDER BY owner_id
        ON CONFLICT (owner_id, slot) DO UPDATE SET n = c.n + excluded.n;
    INSERT INTO row_total AS t (table_name, slot, n)
        SELECT '{table}', {_SLOT}, sum(d) FROM ({deltas}) AS delta HAVING sum(d) <> 0
        ON CONFLICT (table_name, slot) DO UPDATE SET n = t.n + excluded.n;
    """


def _pg_owned_functions(table: str, plural: str) -> dict[str, str]:
    return {
        f"count_{plural}_added": _pg_apply(
            table, "SELECT owner_id, count(*) AS d FROM added GROUP BY owner_id"
        ),
        # The counter rows of owners deleted meanwhile (the cascade of a user's delete
        # runs this after the user row is gone) go: no row can point at them any more.
        f"count_{plural}_removed": _pg_apply(
            table, "SELECT owner_id, -count(*) AS d FROM removed GROUP BY owner_id"
        )
        + f"""
    DELETE FROM {table}_count AS c WHERE c.owner_id IN (SELECT owner_id FROM removed)
        AND NOT EXISTS (SELECT FROM "user" WHERE "user".id = c.owner_id);
    """,
        # A row moved to another owner (no face of the app does it; psql can).
        f"count_{plural}_moved": _pg_apply(
            table,
            "SELECT owner_id, sum(d) AS d FROM (SELECT owner_id, 1 AS d FROM added"
            " UNION ALL SELECT owner_id, -1 FROM removed) AS moves GROUP BY owner_id",
        ),
        f"count_{plural}_truncated": f"""
    DELETE FROM {table}_count;
    DELETE FROM row_total WHERE table_name = '{table}';
    """,
    }


def _pg_total_functions(table: str, plural: str) -> dict[str, str]:
    return {
        f"count_{plural}_added": f"""
    INSERT INTO row_total AS t (table_name, slot, n)
        SELECT '{table}', {_SLOT}, count(*) FROM added HAVING count(*) > 0
        ON CONFLICT (table_name, slot) DO UPDATE SET n = t.n + excluded.n;
    """,
        f"count_{plural}_removed": f"""
    INSERT INTO row_total AS t (table_name, slot, n)
        SELECT '{table}', {_SLOT}, -count(*) FROM removed HAVING count(*) > 0
        ON CONFLICT (table_name, slot) DO UPDATE SET n = t.n + excluded.n;
    """,
        f"count_{plural}_truncated": f"DELETE FROM row_total WHERE table_name = '{table}';",
    }


def _pg_triggers(plural: str, owned: bool) -> list[tuple[str, str, str, str]]:
    """(trigger, event, transition tables, function) of a counted table."""
    triggers = [
        (f"{plural}_counted_on_insert", "INSERT", "NEW TABLE AS added", f"count_{plural}_added"),
        (
            f"{plural}_counted_on_delete",
            "DELETE",
            "OLD TABLE AS removed",
            f"count_{plural}_removed",
        ),
    ]
    if owned:
        triggers.append(
            (
                f"{plural}_counted_on_update",
                "UPDATE",
                "OLD TABLE AS removed NEW TABLE AS added",
                f"count_{plural}_moved",
            )
        )
    triggers.append((f"{plural}_counted_on_truncate", "TRUNCATE", "", f"count_{plural}_truncated"))
    return triggers


def _pg_create(table: str, plural: str, owned: bool) -> None:
    functions = (_pg_owned_functions if owned else _pg_total_functions)(table, plural)
    for name, body in functions.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
        )
    for trigger, event, transitions, function in _pg_triggers(plural, owned):
        referencing = f"REFERENCING {transitions} " if transitions else ""
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {event} ON {_table(table)} "
            f"{referencing}FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def _pg_drop(table: str, plural: str, owned: bool) -> None:
    for trigger, _, _, _ in _pg_triggers(plural, owned):
        op.execute(f"DROP TRIGGER {trigger} ON {_table(table)}")
    for name in (_pg_owned_functions if owned else _pg_total_functions)(table, plural):
        op.execute(f"DROP FUNCTION {name}()")


# SQLite ----------------------------------------------------------------------


def _sqlite_add(table: str, owner: str, d: int) -> str:
    return (
        f"INSERT INTO {table}_count (owner_id, slot, n) VALUES ({owner}, 0, {d})"
        f" ON CONFLICT (owner_id, slot) DO UPDATE SET n = n + {d};"
        f" DELETE FROM {table}_count WHERE owner_id = {owner} AND n = 0;" + _sqlite_total(table, d)
    )


def _sqlite_total(table: str, d: int) -> str:
    return (
        f" INSERT INTO row_total (table_name, slot, n) VALUES ('{table}', 0, {d})"
        f" ON CONFLICT (table_name, slot) DO UPDATE SET n = n + {d};"
    )


def _sqlite_triggers(table: str, plural: str, owned: bool) -> dict[str, tuple[str, str]]:
    on = _table(table)
    if not owned:
        return {
            f"{plural}_counted_on_insert": (
                f"AFTER INSERT ON {on} FOR EACH ROW",
                _sqlite_total(table, 1).strip(),
            ),
            f"{plural}_counted_on_delete": (
                f"AFTER DELETE ON {on} FOR EACH ROW",
                _sqlite_total(table, -1).strip(),
            ),
        }
    return {
        f"{plural}_counted_on_insert": (
            f"AFTER INSERT ON {on} FOR EACH ROW",
            _sqlite_add(table, "NEW.owner_id", 1),
        ),
        f"{plural}_counted_on_delete": (
            f"AFTER DELETE ON {on} FOR EACH ROW",
            _sqlite_add(table, "OLD.owner_id", -1),
        ),
        f"{plural}_counted_on_update": (
            f"AFTER UPDATE OF owner_id ON {on} FOR EACH ROW WHEN OLD.owner_id IS NOT NEW.owner_id",
            _sqlite_add(table, "OLD.owner_id", -1) + _sqlite_add(table, "NEW.owner_id", 1),
        ),
    }


# What migrations call ----------------------------------------------------------


def backfill(table: str, owned: bool) -> None:
    """Counters for the rows already there (a table counted after it had rows)."""
    if owned:
        op.execute(
            f"INSERT INTO {table}_count (owner_id, slot, n)"
            f" SELECT owner_id, 0, count(*) FROM {_table(table)} GROUP BY owner_id"
        )
    op.execute(
        f"INSERT INTO row_total (table_name, slot, n)"
        f" SELECT '{table}', 0, count(*) FROM {_table(table)}"
    )


def create_counters(table: str, plural: str, *, owned: bool) -> None:
    """Count `table`'s rows from now on: per owner (its `<table>_count`, which the
    migration creates first) when `owned`, and in all. `plural` names the triggers."""
    if _is_postgresql():
        _pg_create(table, plural, owned)
    else:
        for trigger, (when, body) in _sqlite_triggers(table, plural, owned).items():
            op.execute(f"CREATE TRIGGER {trigger} {when} BEGIN {body} END")


def drop_counters(table: str, plural: str, *, owned: bool) -> None:
    if _is_postgresql():
        _pg_drop(table, plural, owned)
    else:
        for trigger in _sqlite_triggers(table, plural, owned):
            op.execute(f"DROP TRIGGER {trigger}")
    op.execute(f"DELETE FROM row_total WHERE table_name = '{table}'")


def create_search_indexes(table: str, *columns: str) -> None:
    """Trigram (pg_trgm GIN) indexes for the ILIKE searches on `columns`, on PostgreSQL
    (SQLite scans: its databases are small). Named `ix_<table>_<column>_trgm`, which
    alembic/env.py leaves out of autogenerate's comparison."""
    if not _is_postgresql():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in columns:
        op.execute(
            f"CREATE INDEX ix_{table}_{column}_trgm ON {_table(table)}"
            f" USING gin ({column} gin_trgm_ops)"
        )


def drop_search_indexes(table: str, *columns: str) -> None:
    if _is_postgresql():
        for column in columns:
            op.execute(f"DROP INDEX ix_{table}_{column}_trgm")
