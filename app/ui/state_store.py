"""The UI's state store (Redis) unreachable: tabs keep their page, say why, and come
back by themselves (issue #24 part 6).

With REDIS_URL every UI event loads and saves its tab's state in Redis, so while Redis is
down every event fails before its handler runs. Reflex would show its generic "An error
occurred" and log a traceback per event, and a page loading meanwhile would never come
alive, even once Redis is back. Instead:

- the tab shows what is wrong in a toast that stays while the outage lasts (one toast
  per tab, however many events fail), and keeps the page it shows;
- the outage is one warning when it begins and one when it ends (app/observability/outage.py);
- the process tries the store every RETRY_SECONDS: once it answers, each tab that failed
  has its toast dismissed and its socket closed at the transport, so the browser
  reconnects and hydrates again with its stored token, on the page it shows.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import reflex as rx
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from reflex.event import EventSpec

from app.observability.outage import Outage

logger = logging.getLogger(__name__)

# What the Redis client raises when the server cannot be reached or does not answer.
STATE_STORE_ERRORS = (RedisConnectionError, RedisTimeoutError)
MESSAGE = "The server cannot reach its session store right now."
DETAIL = "This page stays as it is and works again by itself as soon as the store is back."
TOAST_ID = "state-store-down"
RETRY_SECONDS = 1.0
# The toast stays until the store is back (it is then dismissed), an hour at the most.
TOAST_MILLISECONDS = 3_600_000

Ping = Callable[[], Awaitable[object]]
Reconnect = Callable[[str], Awaitable[None]]


class StateStoreOutage:
    """The tabs of this process whose events failed on the store, until it is back."""

    def __init__(self, retry_seconds: float = RETRY_SECONDS) -> None:
        self.retry_seconds = retry_seconds
        # Set at install: how to try the store, and how to bring a tab back.
        self.ping: Ping | None = None
        self.reconnect: Reconnect | None = None
        self._tabs: set[str] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._outage = Outage(
            logger,
            "The UI's state store (Redis) cannot be reached; the tabs wait for it: %s",
            "The UI's state store answers again; the waiting tabs load their state again",
        )

    def __len__(self) -> int:
        return len(self._tabs)

    def failed(self, token: str | None, error: Exception) -> EventSpec:
        """An event of the tab `token` failed on the store: what the tab is shown."""
        self._outage.failed(error)
        if token is not None:
            self._tabs.add(token)
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(
                self._wait_for_the_store(), name="wait_for_the_state_store"
            )
        return rx.toast.error(
            MESSAGE,
            description=DETAIL,
            id=TOAST_ID,
            duration=TOAST_MILLISECONDS,
            position="top-center",
        )

    def forget(self, token: str) -> None:
        """The tab closed: nothing to bring back."""
        self._tabs.discard(token)

    async def _wait_for_the_store(self) -> None:
        assert self.ping is not None and self.reconnect is not None
        while True:
            await asyncio.sleep(self.retry_seconds)
            try:
                await self.ping()
            except STATE_STORE_ERRORS:
                continue
            break
        self._outage.works()
        tabs, self._tabs = self._tabs, set()
        for token in tabs:
            try:
                await self.reconnect(token)
            except Exception:
                logger.exception("Could not bring a tab back after the state store outage")


state_store = StateStoreOutage()
