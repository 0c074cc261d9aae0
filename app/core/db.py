"""Database engines (primary and optional read replica) and session helpers."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.pool import FairAsyncQueuePool


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
    # SQLite ignores ON DELETE CASCADE unless every connection opts in.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_async_engine(url: str) -> AsyncEngine:
    """An engine tuned for its backend: pooled PostgreSQL, or SQLite with FKs on."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = _create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    return _create_async_engine(
        url,
        poolclass=FairAsyncQueuePool,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT,
        pool_pre_ping=settings.DB_POOL_PRE_PING,
        pool_recycle=1800,
    )


engine = create_async_engine(settings.async_database_url)
replica_engine = (
    create_async_engine(settings.async_replica_url) if settings.async_replica_url else engine
)

# Writes: one transaction per session, committed by the service that writes.
SessionMaker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
# Reads: autocommit, so a lookup is one round trip instead of BEGIN, SELECT and
# ROLLBACK. The engines share their pools; the mode is set per checkout.
ReadOnlySessionMaker = async_sessionmaker(
    engine.execution_options(isolation_level="AUTOCOMMIT"),
    class_=AsyncSession,
    expire_on_commit=False,
)
ReplicaSessionMaker = async_sessionmaker(
    replica_engine.execution_options(isolation_level="AUTOCOMMIT"),
    class_=AsyncSession,
    expire_on_commit=False,
)


# The database cannot be reached, or answers no connection within DB_POOL_TIMEOUT: not
# the caller's fault, and worth a retry. The API answers 503, the UI a toast.
DATABASE_UNAVAILABLE_ERRORS = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
)

# The session policy of both faces (API dependencies, UI handlers). The makers are looked
# up when a session is opened, so a test can swap them in one place.


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A transactional session on the primary: for writes, committed by the service."""
    async with SessionMaker() as session:
        yield session


@asynccontextmanager
async def read_session() -> AsyncIterator[AsyncSession]:
    """An autocommit session on the primary: single-row reads that must see every write."""
    async with ReadOnlySessionMaker() as session:
        yield session


def has_replica() -> bool:
    return replica_engine is not engine


@asynccontextmanager
async def list_session(primary: AsyncSession | None = None) -> AsyncIterator[AsyncSession]:
    """An autocommit session for a list page: the read replica when one is configured
    (lists may lag writes slightly), else the primary.

    Without a replica, `primary` (a read session the caller already holds) is reused, so
    a request checks out one connection, not two.
    """
    if has_replica():
        async with ReplicaSessionMaker() as session:
            yield session
    elif primary is not None:
        yield primary
    else:
        async with ReadOnlySessionMaker() as session:
            yield session


async def dispose_engines() -> None:
    await engine.dispose()
    if replica_engine is not engine:
        await replica_engine.dispose()


class DatabaseUnreachable(RuntimeError):
    """The primary database did not answer within the startup budget."""


async def wait_for_database(seconds: float) -> None:
    """`SELECT 1` on the primary until it answers, for at most `seconds`.

    Raises DatabaseUnreachable with the last error (its text never holds the password).
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except (SQLAlchemyError, OSError) as error:
            if time.monotonic() >= deadline:
                raise DatabaseUnreachable(str(error).splitlines()[0]) from error
        await asyncio.sleep(1)
