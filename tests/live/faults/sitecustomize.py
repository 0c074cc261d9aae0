"""A bug on demand, for the tests of what a handler's bug leaves behind (logs, Sentry).

On PYTHONPATH only for those tests' backends (every process of `reflex run` imports it):
creating a row titled FAULT_TITLE raises, deep in a service, as a real bug would. The
app has no bug a client can reach on purpose, so the tests bring their own.
"""

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType
from typing import Any

TARGET = "app.services.entity"
FAULT_TITLE = os.environ.get("FAULT_TITLE", "")


def _inject(module: ModuleType) -> None:
    rules = module.EntityRules
    create = rules.create

    async def failing_create(self: Any, session: Any, user: Any, data: Any) -> Any:
        if FAULT_TITLE and getattr(data, "title", None) == FAULT_TITLE:
            raise RuntimeError("an injected bug")
        return await create(self, session, user, data)

    rules.create = failing_create


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        _inject(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


sys.meta_path.insert(0, _Finder())
