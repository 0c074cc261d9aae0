"""The session-free caller lookup (app.db.rows) against the ORM and the pool."""

import asyncio
import inspect

import psycopg
import pytest
from sqlalchemy import inspect as inspect_instance
from sqlalchemy import literal_column, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, PoolProxiedConnection, QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.db.rows import RowQuery
from app.models import User, UserCreate, UserUpdateMe
from app.services import users
from tests.factories import detached_user, random_email, random_lower_string

# The pooled psycopg path; SQLite takes SQLAlchemy Core.
postgres_only = pytest.mark.postgres


async def new_user(session: AsyncSession) -> User:
    data = UserCreate(email=random_email(), password=random_lower_string(), full_name="Ada")
    return await users.create_user(session, data)


async def test_caller_reads_exactly_what_the_orm_reads(session: AsyncSession) -> None:
    created = await new_user(session)
    assert created.id is not None
    caller = await detached_user(created.id)
    async with db.SessionMaker() as fresh:
        loaded = await users.get_user(fresh, created.id)
    assert caller is not None and loaded is not None
    assert caller.model_dump() == loaded.model_dump()
    assert {type(value) for value in caller.model_dump().values()} == {
        type(value) for value in loaded.model_dump().values()
    }


@pytest.mark.parametrize("user_id", [10**6, 0, -1, 2**31, 2**63])
async def test_no_caller_for_a_missing_or_impossible_id(user_id: int) -> None:
    assert await detached_user(user_id) is None


async def test_caller_is_detached_and_a_session_can_update_it(session: AsyncSession) -> None:
    created = await new_user(session)
    assert created.id is not None
    caller = await detached_user(created.id)
    assert caller is not None and inspect_instance(caller).detached
    # Taken over as the existing row: an INSERT would break the unique email.
    async with db.SessionMaker() as write:
        await users.update_me(write, caller, UserUpdateMe(full_name="Grace"))
    async with db.SessionMaker() as check:
        reloaded = await users.get_user(check, created.id)
    assert reloaded is not None and reloaded.full_name == "Grace"


async def assert_pooled_connections_are_transactional() -> None:
    """Had a read left a pooled connection in autocommit, a write on it would outlive
    its rollback. The pool hands out its idle connections in turn, so each is tried."""
    pool = db.engine.sync_engine.pool
    # The fair pool on PostgreSQL, SQLAlchemy's async queue pool on a SQLite file.
    assert isinstance(pool, QueuePool), pool
    assert pool.checkedout() == 0
    email = random_email()
    for _ in range(max(1, pool.checkedin())):
        async with db.SessionMaker() as write:
            write.add(User(email=email, hashed_password="x"))
            await write.flush()
            await write.rollback()
    async with db.SessionMaker() as check:
        assert await users.get_user_by_email(check, email) is None


@postgres_only
async def test_connection_goes_back_transactional(session: AsyncSession) -> None:
    created = await new_user(session)
    assert created.id is not None
    for _ in range(3):
        await detached_user(created.id)
    await assert_pooled_connections_are_transactional()


@postgres_only
async def test_a_cancelled_read_never_returns_its_connection_to_the_pool() -> None:
    slow = RowQuery(select(literal_column("pg_sleep(5)")))
    task = asyncio.create_task(slow.fetch())
    # Cancel only once the server runs the query: earlier, nothing would be in flight.
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as watcher:
        for _ in range(500):
            running = await watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND query LIKE '%pg_sleep(5)%' AND pid <> pg_backend_pid()"
            )
            if (await running.fetchone()) == (1,):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the slow query never started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_pooled_connections_are_transactional()


@postgres_only
async def test_a_lost_server_connection_is_a_database_error_then_recovers(
    session: AsyncSession,
) -> None:
    created = await new_user(session)
    assert created.id is not None
    await detached_user(created.id)  # the pool now holds live connections
    # A restart, as the pool sees it: every server process of this database ends.
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with pytest.raises(OperationalError) as lost:
        await detached_user(created.id)
    assert lost.value.connection_invalidated
    # The whole pool aged out with it: the next read gets a new connection at once.
    caller = await detached_user(created.id)
    assert caller is not None and caller.id == created.id


# The SQLAlchemy internals app.db.rows relies on ------------------------------------
# It runs the caller lookup on the pooled driver connection and, when that connection
# fails, invalidates it (and on a lost server ages out the whole pool) through the pool's
# private `_invalidate`. If the pinned SQLAlchemy changes any of these, these fail.


def test_the_pinned_sqlalchemy_still_has_what_rows_uses() -> None:
    invalidate = inspect.signature(Pool._invalidate)
    assert list(invalidate.parameters) == ["self", "connection", "exception", "_checkin"]
    instance = inspect.signature(DBAPIError.instance)
    assert {"connection_invalidated", "dialect"} <= set(instance.parameters)
    assert inspect.iscoroutinefunction(AsyncEngine.raw_connection)
    assert callable(PoolProxiedConnection.invalidate) and callable(PoolProxiedConnection.close)


@postgres_only
async def test_the_raw_connection_is_psycopgs_and_invalidate_ages_out_the_pool() -> None:
    pool = db.engine.sync_engine.pool
    proxied = await db.engine.raw_connection()
    try:
        assert isinstance(proxied.driver_connection, psycopg.AsyncConnection)
        assert proxied.driver_connection.autocommit is False  # what rows.py switches back to
        before = pool._invalidate_time
        await greenlet_spawn(pool._invalidate, proxied)
        # Every connection of this generation will be replaced, this one at once.
        assert pool._invalidate_time > before and not proxied.is_valid
    finally:
        await greenlet_spawn(proxied.close)
