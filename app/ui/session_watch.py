"""Tabs that follow their session: one that ends anywhere sends its tabs to /login.

Every tab whose handler resolved a user is noted here with that user (per backend
process: the one holding the tab's websocket). When any process ends sessions of a
user (logout, the sessions page, a password change, an admin, a deactivation) or
deletes the user, it publishes a change notice (app/db/changes.py, through Redis
to every replica); each process then queues a session check in each of that user's
tabs it holds. The check reads the tab's session like any event would, so a tab whose
session still lives does nothing, and one whose session ended forgets what it read and
goes to the login page, within a round trip of the notice.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.db.changes import Change

logger = logging.getLogger(__name__)

Check = Callable[[str], Awaitable[Any]]


class SessionTabs:
    """This process's signed-in tabs (client tokens) by user."""

    def __init__(self) -> None:
        self.check: Check | None = None
        self._tabs: dict[str, int] = {}
        self._by_user: dict[int, set[str]] = {}
        self._running: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tabs)

    def watch(self, token: str, user_id: int) -> None:
        if self._tabs.get(token) == user_id:
            return
        self.forget(token)
        self._tabs[token] = user_id
        self._by_user.setdefault(user_id, set()).add(token)

    def forget(self, token: str) -> None:
        user_id = self._tabs.pop(token, None)
        if user_id is None:
            return
        tokens = self._by_user.get(user_id)
        if tokens is not None:
            tokens.discard(token)
            if not tokens:
                del self._by_user[user_id]

    def user_of(self, token: str) -> int | None:
        return self._tabs.get(token)

    def tabs_of(self, user_id: int) -> frozenset[str]:
        return frozenset(self._by_user.get(user_id, ()))

    def hear(self, change: Change) -> None:
        ends_sessions = change.kind == "session" or (
            change.kind == "user" and change.action == "deleted"
        )
        if not ends_sessions or self.check is None:
            return
        loop = asyncio.get_running_loop()
        for token in self.tabs_of(change.owner):
            task = loop.create_task(self._check(token))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _check(self, token: str) -> None:
        assert self.check is not None
        try:
            await self.check(token)
        except Exception:
            logger.exception("Could not queue a session check")


session_tabs = SessionTabs()
