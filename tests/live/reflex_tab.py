"""A browser tab's Reflex session, spoken over socket.io as the frontend speaks it
(devtools.reflex_socket), that keeps every update the server sends, so tests can look at
exactly what reached the "browser".
"""

import asyncio
import json
import uuid
from typing import Any

import socketio

from app.ui.state.admin import AdminState
from app.ui.state.auth import AuthState
from app.ui.state.items import ItemsState
from app.ui.state.visibility import PasswordVisibilityState
from devtools import reflex_socket

AUTH = AuthState.get_full_name()
ITEMS = ItemsState.get_full_name()
ADMIN = AdminState.get_full_name()
VISIBILITY = PasswordVisibilityState.get_full_name()
TOKEN_VAR = f"{AUTH}.access_token_rx_state_"
WAIT_SECONDS = 20


class Tab:
    # Every client token a test used, to look for in the server's log.
    client_tokens: list[str] = []

    def __init__(self, base: str, client_token: str | None = None) -> None:
        self.base = base
        self.client_token = client_token or str(uuid.uuid4())
        Tab.client_tokens.append(self.client_token)
        self.updates: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self.client: socketio.AsyncClient | None = None

    async def open(self, path: str, access_token: str = "", *, hydrate: bool = True) -> None:
        """Load `path` in the tab with `access_token` in its localStorage (or, with
        `hydrate=False`, only connect, as no browser would)."""
        self.updates.clear()
        self.closed.clear()
        self.client = await reflex_socket.connect(
            self.base,
            self.client_token,
            path,
            {TOKEN_VAR: access_token},
            self.updates.append,
            lambda *_: self.closed.set(),
            hydrate=hydrate,
        )

    async def send(self, name: str, payload: dict[str, Any], path: str = "/") -> None:
        assert self.client is not None
        await reflex_socket.send(self.client, name, payload, path)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None
        # Give the server the time to take the disconnect in.
        await asyncio.sleep(0.3)

    def values(self, state: str, var: str) -> list[Any]:
        """Every value of `state.var` the tab received, oldest first."""
        key = f"{var}_rx_state_"
        return [
            update["delta"][state][key]
            for update in self.updates
            if key in update.get("delta", {}).get(state, {})
        ]

    def redirects(self) -> list[str]:
        """The paths the server sent the tab to, oldest first."""
        return [
            event["payload"].get("path", "")
            for update in self.updates
            for event in update.get("events", [])
            if event.get("name") == "_redirect"
        ]

    async def wait_for_redirect(self, path: str, seconds: float, after: int = 0) -> float:
        """Seconds until the server sends the tab to `path` (past the first `after`
        redirects); fails after `seconds`."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        while path not in self.redirects()[after:]:
            if loop.time() - start > seconds:
                raise AssertionError(f"no redirect to {path} in {seconds} s: {self.redirects()}")
            await asyncio.sleep(0.01)
        return loop.time() - start

    def text(self) -> str:
        """Everything the tab received, as one string to search."""
        return json.dumps(self.updates)

    async def wait_for(self, state: str, var: str, check: Any, after: int = 0) -> Any:
        """The first value of `state.var` received for which `check(value)` holds,
        among those received after the first `after` ones."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            for value in self.values(state, var)[after:]:
                if check(value):
                    return value
            if asyncio.get_running_loop().time() > deadline:
                # Short: a value may be a hostile client's megabyte.
                raise AssertionError(f"{state}.{var}: {str(self.values(state, var))[:300]}")
            await asyncio.sleep(0.05)
