"""What a failover does to pooled connections: the server shuts them down, or the member
they reach is now a read-only standby. Each answers 503 with Retry-After, never a 500, and
the pool connects anew for the next request instead of handing out the stale ones."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import db
from app.core.config import settings
from tests.conftest import TEST_DATABASE_URL, Account, make_account

pytestmark = pytest.mark.postgres

PID = text("SELECT pg_backend_pid()")


@pytest.fixture
async def small_pool(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    """The app on an engine of its own with two pooled connections, both open."""
    monkeypatch.setattr(settings, "DB_POOL_SIZE", 2)
    monkeypatch.setattr(settings, "DB_MAX_OVERFLOW", 0)
    engine = db.create_async_engine(settings.async_database_url)
    monkeypatch.setattr(db, "engine", engine)
    monkeypatch.setattr(
        db,
        "SessionMaker",
        async_sessionmaker(engine, class_=db.WriteSession, expire_on_commit=False),
    )
    monkeypatch.setattr(db, "ReadOnlySessionMaker", db.read_sessions(engine))
    monkeypatch.setattr(db, "ReplicaSessionMaker", db.read_sessions(engine))
    async with engine.connect() as first, engine.connect() as second:
        await first.execute(PID)
        await second.execute(PID)
    yield engine
    await engine.dispose()


async def pooled_pids(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as first, engine.connect() as second:
        return {(await first.execute(PID)).scalar_one(), (await second.execute(PID)).scalar_one()}


async def as_standby(engine: AsyncEngine) -> set[int]:
    """Every pooled connection made read-only, as connections to a demoted primary are."""
    async with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            await connection.execute(text("SET SESSION default_transaction_read_only = on"))
            await connection.commit()
        return {(await first.execute(PID)).scalar_one(), (await second.execute(PID)).scalar_one()}


async def test_a_write_refused_as_read_only_drops_the_pool_and_counts_as_unavailable(
    small_pool: AsyncEngine,
) -> None:
    stale = await as_standby(small_pool)
    with pytest.raises(OperationalError) as refused:
        async with small_pool.begin() as connection:
            await connection.execute(text("CREATE TEMPORARY TABLE failover_probe (id int)"))
    assert refused.value.connection_invalidated
    assert "read-only transaction" in str(refused.value)
    # Both stale connections are gone, not only the one that failed.
    assert not (await pooled_pids(small_pool)) & stale
    async with small_pool.begin() as connection:
        await connection.execute(text("CREATE TEMPORARY TABLE failover_probe (id int)"))


async def test_connections_shut_down_by_the_server_are_all_replaced(
    small_pool: AsyncEngine,
) -> None:
    stale = await pooled_pids(small_pool)
    async with db.create_async_engine(TEST_DATABASE_URL).connect() as admin:
        # What a fast shutdown or Patroni's demotion sends each session (57P01).
        await admin.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid"),
            {"pids": list(stale)},
        )
        await admin.commit()
    with pytest.raises(OperationalError) as shut_down:
        async with small_pool.connect() as connection:
            await connection.execute(PID)
    assert shut_down.value.connection_invalidated
    assert not (await pooled_pids(small_pool)) & stale


async def test_the_api_answers_503_then_serves_the_next_request_on_a_new_connection(
    small_pool: AsyncEngine, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account: Account = await make_account(client, session)
    await as_standby(small_pool)
    refused = await client.post(
        f"{settings.API_V1_STR}/items/", json={"title": "during"}, headers=account.headers
    )
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    accepted = await client.post(
        f"{settings.API_V1_STR}/items/", json={"title": "after"}, headers=account.headers
    )
    assert accepted.status_code == 200, accepted.text
