"""List counts kept by the database's triggers stay exact, whoever writes and however."""

import asyncio
import random
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import SessionMaker, engine
from app.models import ItemCreate, User
from app.services import items, users
from tests.factories import create_item
from tests.services.test_items_service import new_user

NOW = "CURRENT_TIMESTAMP"


async def true_counts(connection: AsyncConnection) -> dict[str, Any]:
    """What the counters must say, counted the slow way."""
    per_owner: dict[int, int] = dict(
        (
            await connection.execute(text("SELECT owner_id, count(*) FROM item GROUP BY owner_id"))
        ).all()
    )
    item_total = (await connection.execute(text("SELECT count(*) FROM item"))).scalar_one()
    user_total = (await connection.execute(text('SELECT count(*) FROM "user"'))).scalar_one()
    return {"per_owner": per_owner, "items": item_total, "users": user_total}


async def kept_counts(connection: AsyncConnection) -> dict[str, Any]:
    """What the counters say (a sum is a Decimal on PostgreSQL, an int on SQLite)."""
    per_owner: dict[int, int | Decimal] = dict(
        (
            await connection.execute(
                text("SELECT owner_id, sum(n) FROM item_count GROUP BY owner_id HAVING sum(n) <> 0")
            )
        ).all()
    )
    totals: dict[str, int | Decimal] = dict(
        (
            await connection.execute(text("SELECT table_name, sum(n) FROM row_total GROUP BY 1"))
        ).all()
    )
    return {"per_owner": per_owner, "items": totals.get("item", 0), "users": totals.get("user", 0)}


async def assert_counts_exact() -> None:
    async with engine.connect() as connection:
        assert await kept_counts(connection) == await true_counts(connection)


async def listed_count(session: AsyncSession, user: User) -> int:
    return (await items.list_items(session, user, 0, 1))[1]


async def raw_user(connection: AsyncConnection, email: str) -> int:
    user_id: int = (
        await connection.execute(
            text(
                'INSERT INTO "user" (email, is_active, is_superuser, hashed_password,'
                " created_at, updated_at, password_changed_at)"
                f" VALUES (:email, true, false, 'x', {NOW}, {NOW}, {NOW}) RETURNING id"
            ),
            {"email": email},
        )
    ).scalar_one()
    return user_id


async def raw_items(connection: AsyncConnection, owner_id: int, count: int) -> None:
    """`count` items in one statement, as an import would write them."""
    await connection.execute(
        text(
            # INSERT first: Python's sqlite3 opens a transaction only before a statement
            # that starts with INSERT (one starting with WITH would commit at once).
            "INSERT INTO item (title, owner_id, created_at, updated_at)"
            " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
            f" SELECT 'raw ' || i, :owner, {NOW}, {NOW} FROM n"
        ),
        {"count": count, "owner": owner_id},
    )


async def test_counts_follow_writes_made_outside_the_app(session: AsyncSession) -> None:
    async with engine.begin() as connection:
        first = await raw_user(connection, "raw-first@example.com")
        second = await raw_user(connection, "raw-second@example.com")
        await raw_items(connection, first, 30)
        await raw_items(connection, second, 5)
    await assert_counts_exact()
    async with engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM item WHERE owner_id = :o AND title IN ('raw 1', 'raw 2')"),
            {"o": first},
        )
        # An item moved to another owner, as only a hand-written UPDATE can.
        await connection.execute(
            text("UPDATE item SET owner_id = :to WHERE owner_id = :o AND title = 'raw 3'"),
            {"o": first, "to": second},
        )
        # An update that moves nothing changes no count.
        await connection.execute(text("UPDATE item SET title = title || '!'"))
    await assert_counts_exact()
    owner = await users.get_user(session, first)
    assert owner is not None
    assert await listed_count(session, owner) == 27


async def test_a_write_rolled_back_is_not_counted(session: AsyncSession) -> None:
    owner = await new_user(session)
    assert owner.id is not None
    async with engine.connect() as connection:
        await raw_items(connection, owner.id, 4)
        await connection.rollback()
    await assert_counts_exact()
    assert await listed_count(session, owner) == 0


async def test_cascade_delete_of_a_user_leaves_no_count_behind(session: AsyncSession) -> None:
    owner, keeper = await new_user(session), await new_user(session)
    assert owner.id is not None and keeper.id is not None
    async with engine.begin() as connection:
        await raw_items(connection, owner.id, 50)
        await raw_items(connection, keeper.id, 3)
    await users.delete_user(session, keeper, owner.id)
    await assert_counts_exact()
    async with engine.connect() as connection:
        leftover = await connection.execute(
            text("SELECT count(*) FROM item_count WHERE owner_id = :o"), {"o": owner.id}
        )
        assert leftover.scalar_one() == 0
    assert await listed_count(session, keeper) == 3


async def test_list_counts_are_the_counters(session: AsyncSession) -> None:
    owner, other = await new_user(session), await new_user(session)
    admin = await new_user(session, superuser=True)
    for _ in range(3):
        await create_item(session, owner)
    await create_item(session, other)
    assert await listed_count(session, owner) == 3
    assert await listed_count(session, admin) == 4
    assert (await users.list_users(session, 0, 1))[1] == 3
    # The counters are what the lists read: a counter slot added by hand shows.
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO item_count (owner_id, slot, n) VALUES (:o, 99, 10)"),
            {"o": owner.id},
        )
        await connection.execute(
            text("INSERT INTO row_total (table_name, slot, n) VALUES ('item', 99, 100)")
        )
        await connection.execute(
            text("INSERT INTO row_total (table_name, slot, n) VALUES ('user', 99, 100)")
        )
    try:
        assert await listed_count(session, owner) == 13
        assert await listed_count(session, admin) == 104
        assert (await users.list_users(session, 0, 1))[1] == 103
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM item_count WHERE slot = 99"))
            await connection.execute(text("DELETE FROM row_total WHERE slot = 99"))


async def test_concurrent_creates_and_deletes_keep_counts_exact() -> None:
    async with SessionMaker() as session:
        owners = [await new_user(session) for _ in range(6)]
    rng = random.Random(12)

    async def writer(n: int) -> None:
        owner = owners[n % len(owners)]
        async with SessionMaker() as session:
            created = []
            for i in range(6):
                created.append(
                    await items.create_item(session, owner, ItemCreate(title=f"w{n}-{i}"))
                )
            for item in rng.sample(created, 2):
                assert item.id is not None
                await items.delete_item(session, owner, item.id)

    await asyncio.gather(*(writer(n) for n in range(24)))
    await assert_counts_exact()
    async with SessionMaker() as session:
        assert [await listed_count(session, owner) for owner in owners] == [16] * 6


@pytest.mark.postgres
async def test_a_bulk_insert_updates_each_counter_row_once() -> None:
    """Statement-level triggers: 2,000 rows for two owners are two counter updates, not
    2,000 (what a COPY of a million rows relies on)."""
    async with SessionMaker() as session:
        first, second = await new_user(session), await new_user(session)
    assert first.id is not None and second.id is not None
    # The backend's pending statistics may still hold earlier transactions' writes.
    writes = text(
        "SELECT pg_stat_get_xact_tuples_inserted(c.oid) + pg_stat_get_xact_tuples_updated(c.oid)"
        " FROM pg_class c WHERE c.relname = 'item_count'"
    )
    async with engine.begin() as connection:
        before = (await connection.execute(writes)).scalar_one()
        await raw_items(connection, first.id, 1000)
        await raw_items(connection, second.id, 1000)
        assert (await connection.execute(writes)).scalar_one() - before == 2
    await assert_counts_exact()


@pytest.mark.postgres
async def test_copy_and_truncate_are_counted() -> None:
    async with SessionMaker() as session:
        owner = await new_user(session)
    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        async with (
            raw.cursor() as cursor,
            cursor.copy("COPY item (title, owner_id, created_at, updated_at) FROM STDIN") as copy,
        ):
            for n in range(500):
                await copy.write_row((f"copied {n}", owner.id, "2026-01-01Z", "2026-01-01Z"))
        await connection.commit()
    await assert_counts_exact()
    async with engine.begin() as connection:
        # Every table that references "user" goes with it (sessions, recovery codes, and
        # any entity's owned rows).
        owned = [
            f'"{table.name}"'
            for table in SQLModel.metadata.sorted_tables
            if any(key.column.table.name == "user" for key in table.foreign_keys)
        ]
        await connection.execute(text(f'TRUNCATE {", ".join(owned)}, "user"'))
    await assert_counts_exact()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM item_count"))).scalar_one() == 0
