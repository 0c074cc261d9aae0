"""Load many users and items quickly: COPY on PostgreSQL, batched inserts on SQLite.

    python bench/seed.py --database-url postgresql://postgres@127.0.0.1:5432/bench_scale \\
        --users 1000000 --items 1000000 --owner-items 1000000

Migrates the database first (the same history as `app.prestart`). The first user is the
owner (`--owner-email`, `--owner-password`) of `--owner-items` items; the other items go
round-robin to the other users. Titles are "Item <n>", and every 100,000th item is also
called "quokka" (a rare word for searches). The database's triggers keep the list counts
while the rows stream in; VACUUM ANALYZE at the end lets index-only scans work at once.
"""

import argparse
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import bcrypt
import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RARE_WORD = "quokka"
RARE_EVERY = 100_000
OWNER_EMAIL = "owner@scale.example.com"
OWNER_PASSWORD = "scale-owner-password"
# Every row gets its own instant, so the newest-first order is the insertion order.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

USER_COLUMNS = (
    "email", "full_name", "is_active", "is_superuser", "hashed_password",
    "created_at", "updated_at", "password_changed_at",
)  # fmt: skip
ITEM_COLUMNS = ("title", "description", "owner_id", "created_at", "updated_at")
# One row's values, in the columns' order.
UserRow = tuple[str, str, bool, bool, str, datetime, datetime, datetime]
ItemRow = tuple[str, str, int, datetime, datetime]
Row = TypeVar("Row", UserRow, ItemRow)


@dataclass(frozen=True)
class Plan:
    """What to load: `users` (the first is the owner) and `items`, `owner_items` of
    them the owner's."""

    users: int
    items: int
    owner_items: int
    owner_email: str = OWNER_EMAIL
    owner_password: str = OWNER_PASSWORD


def user_rows(count: int, owner_email: str, owner_hash: str, other_hash: str) -> Iterator[UserRow]:
    for n in range(count):
        at = EPOCH + timedelta(milliseconds=n)
        if n == 0:
            yield (owner_email, "Scale Owner", True, False, owner_hash, at, at, at)
        else:
            email = f"user{n}@scale.example.com"
            yield (email, f"Scale User {n}", True, False, other_hash, at, at, at)


def item_rows(count: int, owner_items: int, owners: list[int]) -> Iterator[ItemRow]:
    others = owners[1:] or owners[:1]
    for n in range(count):
        at = EPOCH + timedelta(days=1, milliseconds=n)
        owner = owners[0] if n < owner_items else others[n % len(others)]
        title = f"Item {n} {RARE_WORD}" if n % RARE_EVERY == RARE_EVERY - 1 else f"Item {n}"
        yield (title, f"Seeded item number {n} for the scale benchmark", owner, at, at)


def _pg_copy(connection: psycopg.Connection[Any], table: str, columns: tuple[str, ...],
             rows: Iterator[UserRow] | Iterator[ItemRow]) -> None:  # fmt: skip
    names = ", ".join(columns)
    with connection.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def seed_postgresql(url: str, plan: Plan, hashes: tuple[str, str]) -> None:
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        with connection.transaction():
            _pg_copy(
                connection, "user", USER_COLUMNS, user_rows(plan.users, plan.owner_email, *hashes)
            )
            owners = [
                row[0]
                for row in connection.execute(
                    'SELECT id FROM "user" WHERE email LIKE %s ORDER BY created_at, id',
                    ("%@scale.example.com",),
                )
            ]
            _pg_copy(
                connection, "item", ITEM_COLUMNS, item_rows(plan.items, plan.owner_items, owners)
            )
        print("# VACUUM ANALYZE", flush=True)
        connection.execute('VACUUM ANALYZE "user"')
        connection.execute("VACUUM ANALYZE item")
        connection.execute("VACUUM ANALYZE item_count")
        connection.execute("VACUUM ANALYZE row_total")


def _batches(rows: Iterator[Row], size: int = 10_000) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_sqlite(url: str, plan: Plan, hashes: tuple[str, str]) -> None:
    path = make_url(url).database
    assert path, "a SQLite URL names a file"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys=ON")
    # SQLite stores the app's timestamps as text in this form (SQLAlchemy's DateTime).
    sqlite3.register_adapter(datetime, lambda at: at.strftime("%Y-%m-%d %H:%M:%S.%f"))
    with connection:
        marks = ", ".join("?" * len(USER_COLUMNS))
        for batch in _batches(user_rows(plan.users, plan.owner_email, *hashes)):
            connection.executemany(
                f'INSERT INTO "user" ({", ".join(USER_COLUMNS)}) VALUES ({marks})', batch
            )
        owners = [
            row[0]
            for row in connection.execute(
                'SELECT id FROM "user" WHERE email LIKE ? ORDER BY created_at, id',
                ("%@scale.example.com",),
            )
        ]
        marks = ", ".join("?" * len(ITEM_COLUMNS))
        for item_batch in _batches(item_rows(plan.items, plan.owner_items, owners)):
            connection.executemany(
                f"INSERT INTO item ({', '.join(ITEM_COLUMNS)}) VALUES ({marks})", item_batch
            )
    connection.execute("ANALYZE")
    connection.close()


def load(url: str, plan: Plan) -> None:
    """Migrate the database at `url`, then load `plan`'s rows into it."""
    from app.prestart import migrate

    migrate(url)
    started = time.perf_counter()
    # One real hash for the owner (who logs in); the others share a cheap one.
    owner_hash = bcrypt.hashpw(plan.owner_password.encode(), bcrypt.gensalt(12)).decode()
    other_hash = bcrypt.hashpw(b"scale-user-password", bcrypt.gensalt(4)).decode()
    sqlite = make_url(url).get_backend_name() == "sqlite"
    (seed_sqlite if sqlite else seed_postgresql)(url, plan, (owner_hash, other_hash))
    print(
        f"# seeded {plan.users} users and {plan.items} items ({plan.owner_items} owned by "
        f"{plan.owner_email}) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--owner-items", type=int, default=None,
                        help="items of the first user (default: all of them)")  # fmt: skip
    parser.add_argument("--owner-email", default=OWNER_EMAIL)
    parser.add_argument("--owner-password", default=OWNER_PASSWORD)
    args = parser.parse_args()
    if args.users < 1 or args.items < 0:
        parser.error("--users must be at least 1 (the owner) and --items at least 0")
    args.owner_items = args.items if args.owner_items is None else args.owner_items
    if not 0 <= args.owner_items <= args.items:
        parser.error("--owner-items must be between 0 and --items")

    plan = Plan(args.users, args.items, args.owner_items, args.owner_email, args.owner_password)
    load(args.database_url, plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
