"""Swaps the caller lookup and the pool class of a backend, for bench/caller_lookup.py.

On PYTHONPATH only for that benchmark's backends (every process of `reflex run` imports
it). `BENCH_CALLER_PATH` picks the lookup, `BENCH_POOL` the queue; each swap happens as
the module that defines the original finishes loading, before anything binds it.
"""

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType
from typing import Any

CALLER_PATH = os.environ.get("BENCH_CALLER_PATH", "private")
POOL = os.environ.get("BENCH_POOL", "fair")


def _patch_pool(module: ModuleType) -> None:
    if POOL != "stock":
        return
    from sqlalchemy import event
    from sqlalchemy.pool import AsyncAdaptedQueuePool

    metrics = sys.modules["app.observability.metrics"]

    class StockAsyncQueuePool(AsyncAdaptedQueuePool):
        # The same pool metrics as the fair pool, SQLAlchemy's own asyncio.Queue.
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            event.listen(self, "checkout", lambda *_: metrics.DB_POOL_IN_USE.inc())
            event.listen(self, "checkin", lambda *_: metrics.DB_POOL_IN_USE.dec())

    # Rebinds the module's global (ModuleType types reads, not assignments, of its names).
    vars(module)["FairAsyncQueuePool"] = StockAsyncQueuePool


def caller_lookups(module: ModuleType) -> dict[str, Any]:
    """Each way to read the caller, as `app.services.users.get_caller` would be."""
    from sqlalchemy.orm import make_transient_to_detached

    db = sys.modules["app.db"]
    statement = module._USER_BY_ID
    names = list(statement.selected_columns.keys())
    user_class = module.User

    def core_lookup(engine: Any) -> Any:
        async def get_caller(user_id: int) -> Any:
            if not module.is_storable_id(user_id):
                return None
            async with engine.connect() as connection:
                row = (await connection.execute(statement, {"user_id": user_id})).first()
            if row is None:
                return None
            user = user_class(**dict(zip(names, row, strict=True)))
            make_transient_to_detached(user)
            return user

        return get_caller

    async def orm_lookup(user_id: int) -> Any:
        if not module.is_storable_id(user_id):
            return None
        async with db.read_session() as session:
            user = await session.get(user_class, user_id)
            if user is not None:
                session.expunge(user)
        return user

    return {
        "private": module.get_caller,
        # One engine for every call (execution_options() builds a new one), sharing the pool.
        "core-autocommit": core_lookup(db.engine.execution_options(isolation_level="AUTOCOMMIT")),
        "core-transaction": core_lookup(db.engine),
        "orm": orm_lookup,
    }


def _patch_users(module: ModuleType) -> None:
    lookups = caller_lookups(module)
    if CALLER_PATH not in lookups:
        raise SystemExit(f"BENCH_CALLER_PATH={CALLER_PATH!r} is not a known path")
    vars(module)["get_caller"] = lookups[CALLER_PATH]


_PATCHES = {"app.db.pool": _patch_pool, "app.services.users": _patch_users}


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, patch: Any) -> None:
        self.inner, self.patch = inner, patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        self.patch(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in _PATCHES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader, _PATCHES[name])
        return spec


sys.meta_path.insert(0, _Finder())
