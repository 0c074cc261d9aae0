"""Database engines (primary and optional read replica) and session helpers.

The package holds the rest of the data layer beside them: the connection pool, the raw
single-row reads, paging, the trigger-kept counts, change notices and the replica's
health. Importing it watches every ORM session, so each committed write publishes its
change notice whoever made it (REST, UI, scripts): see changes.py.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from psycopg import errors as pg_errors
from sqlalchemy import event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import InterfaceError, InvalidatePoolError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.db import recent_writes
from app.db.pool import FairAsyncQueuePool
from app.db.replica_health import PrimaryUnreachable, ReplicaHealth
from app.observability.metrics import REPLICA_READS


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _: ConnectionPoolEntry) -> None:
    # SQLite ignores ON DELETE CASCADE unless every connection opts in.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# What a server that stopped being the primary answers: shut down (Patroni stopping or
# demoting it, a fast shutdown), crashed, still starting, or now a read-only standby.
FAILOVER_ERRORS = (
    pg_errors.AdminShutdown,
    pg_errors.CrashShutdown,
    pg_errors.CannotConnectNow,
    pg_errors.ReadOnlySqlTransaction,
)


def _on_failover_error(context: ExceptionContext) -> BaseException | None:
    """Count a failover's errors as lost connections: SQLAlchemy then drops this
    connection and every other one the pool opened before it, so the next checkout
    connects anew and a multi-host URL finds the new primary. No pre-ping, so no round
    trip per checkout. A write refused by a standby answers 503, like a lost connection,
    instead of a 500."""
    error = context.original_exception
    if not isinstance(error, FAILOVER_ERRORS):
        return None
    context.is_disconnect = True
    if isinstance(error, pg_errors.ReadOnlySqlTransaction):
        return OperationalError(
            context.statement, context.parameters, error, connection_invalidated=True
        )
    return None


# A pooled connection unused this long is pinged before it is handed out (one round
# trip), so that after a failover a worker that served nothing meanwhile does not answer
# its next request 503 from a connection to the dead primary: a failed ping ages the whole
# pool out and this checkout connects anew. Under load connections come back within
# milliseconds and are never pinged: no round trip per request (bench/caller_lookup.py).
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    dialect = engine.dialect

    def returned(_: Any, entry: ConnectionPoolEntry) -> None:
        entry.info["returned_at"] = time.monotonic()

    def taken(dbapi_connection: Any, entry: ConnectionPoolEntry, _: Any) -> None:
        returned_at = entry.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the ping met, this connection is done
            raise InvalidatePoolError(str(error)) from error

    event.listen(engine.sync_engine.pool, "checkin", returned)
    # First, so that the pool's own checkout bookkeeping only counts a connection handed out.
    event.listen(engine.sync_engine.pool, "checkout", taken, insert=True)


def create_async_engine(url: str, **connect_args: Any) -> AsyncEngine:
    """An engine tuned for its backend: pooled PostgreSQL, or SQLite with FKs on."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = _create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    engine = _create_async_engine(
        url,
        poolclass=FairAsyncQueuePool,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
        pool_timeout=settings.DB_POOL_TIMEOUT,
        pool_pre_ping=settings.DB_POOL_PRE_PING,
        pool_recycle=1800,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine, "handle_error", _on_failover_error)
    _ping_idle_connections(engine)
    return engine


engine = create_async_engine(settings.async_database_url)
replica_engine = (
    # A replica that does not answer must not hold a read long: the read then goes to
    # the primary, and the replica is left alone for a while (ReplicaHealth).
    create_async_engine(
        settings.async_replica_url, connect_timeout=settings.REPLICA_CONNECT_TIMEOUT
    )
    if settings.async_replica_url
    else engine
)


class WriteSession(AsyncSession):
    """A write session: each commit marks the caller as a recent writer, so that their
    next reads skip the replica (app.db.recent_writes). Every service write commits
    through here, whichever face called it."""

    async def commit(self) -> None:
        await super().commit()
        caller = recent_writes.current_caller()
        if caller is not None and has_replica():
            await recent_writes.recent_writers.mark(caller)


# Writes: one transaction per session, committed by the service that writes.
SessionMaker = async_sessionmaker(engine, class_=WriteSession, expire_on_commit=False)


def read_sessions(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Autocommit sessions, so a lookup is one round trip instead of BEGIN, SELECT and
    ROLLBACK. They share the engine's pool; the mode is set per checkout."""
    return async_sessionmaker(
        bind.execution_options(isolation_level="AUTOCOMMIT"),
        class_=AsyncSession,
        expire_on_commit=False,
    )


ReadOnlySessionMaker = read_sessions(engine)
ReplicaSessionMaker = read_sessions(replica_engine)


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


replica_health = ReplicaHealth(
    retry_seconds=settings.REPLICA_RETRY_SECONDS,
    max_lag=settings.REPLICA_MAX_LAG_SECONDS,
    check_seconds=settings.REPLICA_LAG_CHECK_SECONDS,
)

_PRIMARY_POSITION = text("SELECT (pg_current_wal_lsn() - '0/0')::bigint")
# NULL on a server that is no standby (a replica URL pointing at a primary).
_REPLAY_POSITION = text(
    "SELECT CASE WHEN pg_is_in_recovery() THEN (pg_last_wal_replay_lsn() - '0/0')::bigint END"
)


async def replica_positions() -> tuple[int, int | None]:
    """The primary's WAL end, then how far the replica has replayed (ReplicaHealth's
    probe): two one-row queries, in this order."""
    try:
        async with engine.connect() as primary:
            written = int((await primary.execute(_PRIMARY_POSITION)).scalar_one())
    except DATABASE_UNAVAILABLE_ERRORS as error:
        raise PrimaryUnreachable(str(error).splitlines()[0] if str(error) else "") from error
    async with replica_engine.connect() as replica:
        replayed = (await replica.execute(_REPLAY_POSITION)).scalar_one()
    if replayed is None:
        # A primary behind the replica URL: after a failover, the standby it named was
        # promoted. Reads there stay right; new connections look for a standby again
        # (target_session_attrs=prefer-standby), so the primary is not left with them.
        await replica_engine.dispose()
        return written, None
    return written, int(replayed)


async def primary_reason(caller: int | None) -> str | None:
    """Why a read for `caller` goes to the primary, or None when the replica serves it:
    "wrote" (within the caller's read-your-writes window), "down", "lag", or "none"
    configured."""
    if not has_replica():
        return "none"
    if caller is not None and await recent_writes.recent_writers.wrote_recently(caller):
        return "wrote"
    if not await replica_health.usable(replica_positions):
        return "down" if replica_health.is_down() else "lag"
    return None


Result = TypeVar("Result")
Arguments = ParamSpec("Arguments")


class ReplicaReads:
    """Reads that may be served by the replica, for one caller: the read policy of both
    faces (API dependencies, UI handlers), for list pages and single-row reads.

    `await reads(service, *args)` runs `service(session, *args)` on the replica unless
    `primary_reason(caller)` gives a reason not to, else on the primary. A replica that
    fails midway (down, restarted, a query cancelled by recovery) is marked down and the
    read runs once more on the primary: the caller gets the primary's answer, never the
    replica's error. Without a replica, `primary` (a read session the caller already
    holds) is reused, so a request checks out one connection, not two.
    """

    def __init__(self, caller: int | None, primary: AsyncSession | None = None) -> None:
        self.caller = caller
        self.primary = primary

    async def __call__(
        self,
        read: Callable[Concatenate[AsyncSession, Arguments], Awaitable[Result]],
        *args: Arguments.args,
        **kwargs: Arguments.kwargs,
    ) -> Result:
        reason = await primary_reason(self.caller)
        if reason is None:
            try:
                async with ReplicaSessionMaker() as session:
                    result = await read(session, *args, **kwargs)
            except DATABASE_UNAVAILABLE_ERRORS as error:
                replica_health.failed(error)
                reason = "failed"
            else:
                REPLICA_READS.labels("replica", "").inc()
                return result
        if reason != "none":
            REPLICA_READS.labels("primary", reason).inc()
        if self.primary is not None:
            return await read(self.primary, *args, **kwargs)
        async with ReadOnlySessionMaker() as session:
            return await read(session, *args, **kwargs)


async def dispose_engines() -> None:
    await engine.dispose()
    if replica_engine is not engine:
        await replica_engine.dispose()
    await recent_writes.recent_writers.close()


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


# Last: changes.py needs the models, which need nothing from here.
from app.db import changes as changes  # noqa: E402
