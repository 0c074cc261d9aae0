"""Single-row reads that skip the ORM, for the lookup behind every request.

Resolving the caller from a token is the one query every authenticated request
(API or UI) makes. Through an AsyncSession it costs ~0.5 ms of CPU — session setup,
a greenlet hop per call, ORM loading — around a ~0.1 ms query, which made it most
of the cost of `GET /users/me`. Here the statement is compiled once and run on the
pooled psycopg connection itself, in autocommit (one round trip, no BEGIN/ROLLBACK).

It borrows from the same pool as the sessions, so the connection budget is
unchanged, and its errors come out as the same SQLAlchemy exceptions a session
raises (the API turns them into 503). Other drivers (SQLite) take the Core path.

Private SQLAlchemy API, kept because it pays (issue #14; bench/caller_lookup.py, S2
`GET /users/me`, one worker, three interleaved rounds, medians at 32 connections):
this path 788 req/s, SQLAlchemy Core on an AUTOCOMMIT engine with the compiled cache
578 (this path wins by 36 %), Core on the transactional engine 406, `AsyncSession.get`
on the read session 421; timed alone, 356 µs of CPU per lookup against 569 µs for
Core on the AUTOCOMMIT engine. What it works around is the per-call cost of SQLAlchemy's
async Core and ORM layers (greenlet hops, result and row processing), which upstream
treats as expected behaviour (https://github.com/sqlalchemy/sqlalchemy/issues/7290).
It uses `AsyncEngine.raw_connection()`, the proxied connection's `driver_connection`,
`invalidate()` and `close()`, the pool's private `_invalidate()` and
`DBAPIError.instance()`; tests/services/test_rows.py fails when the pinned SQLAlchemy
changes any of them. Nothing else in the app may reach below the public API.
"""

from typing import Any, TypeVar, cast

import psycopg
from psycopg import AsyncConnection
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.util.concurrency import greenlet_spawn

from app import db

ModelT = TypeVar("ModelT")


class RowQuery:
    """A SELECT of at most one row, as a dict of its selected columns.

    Values are what the driver returns, so it suits columns SQLAlchemy passes
    through unchanged (no TypeDecorator): the tests compare it with the ORM's read.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.names = list(statement.selected_columns.keys())
        self._sql: dict[tuple[str, str], str] = {}

    def _compiled(self, dialect: Dialect) -> str:
        key = (dialect.name, dialect.driver)
        if key not in self._sql:
            self._sql[key] = str(self.statement.compile(dialect=dialect))
        return self._sql[key]

    async def fetch(self, **params: Any) -> dict[str, Any] | None:
        # Looked up per call, not bound at import: tests point it at a dead server.
        return await self.fetch_on(db.engine, params)

    async def fetch_on(self, engine: AsyncEngine, params: dict[str, Any]) -> dict[str, Any] | None:
        """The row from `engine`'s database (the primary's, or a replica's)."""
        if engine.dialect.driver != "psycopg":
            async with engine.connect() as connection:
                row = (await connection.execute(self.statement, params)).first()
        else:
            row = await _fetch_on_pooled_connection(engine, self._compiled(engine.dialect), params)
        return None if row is None else dict(zip(self.names, row, strict=True))


async def _fetch_on_pooled_connection(
    engine: AsyncEngine, sql: str, params: dict[str, Any]
) -> tuple[Any, ...] | None:
    try:
        proxied = await engine.raw_connection()
    except psycopg.Error as error:
        raise _as_sqlalchemy_error(engine, error) from error
    connection = cast(AsyncConnection[Any], proxied.driver_connection)
    clean = lost = False
    try:
        row = await _fetch_autocommit(connection, sql, params)
        clean = True
        return row
    except psycopg.Error as error:
        lost = _lost(connection, error)
        raise _as_sqlalchemy_error(engine, error, sql, params, lost) from error
    finally:
        if not clean:
            lost = lost or _lost(connection)
            await greenlet_spawn(_discard, engine.sync_engine.pool, proxied, lost)
        await greenlet_spawn(proxied.close)


def _as_sqlalchemy_error(
    engine: AsyncEngine,
    error: psycopg.Error,
    sql: str | None = None,
    params: dict[str, Any] | None = None,
    lost: bool = False,
) -> Exception:
    """The exception a session would raise, so callers (and the API's 503) see one kind."""
    return DBAPIError.instance(
        sql, params, error, psycopg.Error, connection_invalidated=lost, dialect=engine.dialect
    )


def _lost(connection: AsyncConnection[Any], error: psycopg.Error | None = None) -> bool:
    """The server is gone, or is no longer the primary (a failover: app.db)."""
    return connection.broken or connection.closed or isinstance(error, db.FAILOVER_ERRORS)


def _discard(pool: Pool, proxied: PoolProxiedConnection, server_lost: bool) -> None:
    """Keep a connection that failed or was cancelled midway out of the pool.

    It may still be in autocommit or mid-query, so it must not go back to serve a
    transaction. A lost server also ages out the rest of the pool, as a session's
    error would.
    """
    if server_lost:
        pool._invalidate(proxied)
    else:
        proxied.invalidate()


async def _fetch_autocommit(
    connection: AsyncConnection[Any], sql: str, params: dict[str, Any]
) -> tuple[Any, ...] | None:
    # Pooled connections are transactional (the sessions' default): switch for this
    # read only. Neither switch is a round trip.
    await connection.set_autocommit(True)
    cursor = connection.cursor()
    await cursor.execute(sql, params)
    row = await cursor.fetchone()
    await connection.set_autocommit(False)
    return row


def detached(model: type[ModelT], values: dict[str, Any]) -> ModelT:
    """An instance of a mapped `model` holding `values` (a row's columns, read by a
    RowQuery), as if loaded by a session and then expunged: a route's write session
    can take it over (session.add) to update or delete it.

    Built as the ORM builds what it loads, bypassing the model's __init__ and its
    per-attribute events: 6 µs for a user against 44 µs through User(**values), on the
    path of every authenticated request. Like a loaded instance, it has no pydantic
    `fields_set`.
    """
    instance: ModelT = manager_of_class(model).new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    return instance
