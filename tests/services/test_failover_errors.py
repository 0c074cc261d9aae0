"""What a failover does to pooled connections: the server shuts them down, or the member
they reach is now a read-only standby. Each answers 503 with Retry-After, never a 500, and
the pool connects anew for the next request instead of handing out the stale ones."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.core.config import settings
from app.db.rows import RowQuery
from tests.conftest import TEST_DATABASE_URL, Account, make_account

pytestmark = pytest.mark.postgres

PID = text("SELECT pg_backend_pid()")


@pytest.fixture
async def small_pool(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    """The app on an engine of its own with two pooled connections, both open."""
    monkeypatch.setattr(settings, "DB_POOL_SIZE", 2)
    monkeypatch.setattr(settings, "DB_MAX_OVERFLOW", 0)
    # No ping of idle connections unless a test asks for it: the errors are the subject.
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = db.create_async_engine(settings.async_database_url)
    monkeypatch.setattr(db, "engine", engine)
    monkeypatch.setattr(db, "replica_engine", engine)  # no replica: it is the primary
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


async def terminate(pids: set[int]) -> None:
    """End these sessions as a fast shutdown, Patroni's demotion or the death of their
    postmaster does (57P01, admin shutdown)."""
    admin = db.create_async_engine(TEST_DATABASE_URL)
    async with admin.connect() as connection:
        await connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM unnest(:pids) AS pid"), {"pids": list(pids)}
        )
    await admin.dispose()


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
    await terminate(stale)
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


async def test_the_caller_lookup_ages_the_pool_out_on_a_shutdown_error_too(
    small_pool: AsyncEngine,
) -> None:
    # app.db.rows runs below SQLAlchemy's error handling. A connection whose server
    # died with its postmaster reports 57P01 before the socket is seen closed: the
    # error alone must age the whole pool out, as the sessions' path does.
    async with small_pool.begin() as connection:
        await connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION failover_probe_shutdown() RETURNS int AS "
                "$$ BEGIN RAISE EXCEPTION 'shutting down' USING ERRCODE = '57P01'; END $$ "
                "LANGUAGE plpgsql"
            )
        )
    stale = await pooled_pids(small_pool)
    try:
        with pytest.raises(OperationalError) as shut_down:
            await RowQuery(select(func.failover_probe_shutdown())).fetch()
        assert shut_down.value.connection_invalidated
        assert not (await pooled_pids(small_pool)) & stale
    finally:
        async with small_pool.begin() as connection:
            await connection.execute(text("DROP FUNCTION failover_probe_shutdown()"))


async def test_connections_idle_since_before_a_failover_are_pinged_and_replaced_unseen(
    small_pool: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that served nothing during the failover: its first request after it
    # must not meet the dead primary's connections.
    stale = await pooled_pids(small_pool)
    await terminate(stale)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert not (await pooled_pids(small_pool)) & stale
    assert await RowQuery(select(func.pg_backend_pid())).fetch() is not None
