"""Live tables: which of this process's clients show which list, and their refreshes.

A page that shows a list says so each time it reads it (`watch`): which lists (topics)
the client follows, which row ids it shows and whether it searches. A committed write's
notice (app/db/changes.py) reaches every backend process; here it is routed to
the clients following its topics only, so a notice costs O(clients showing that list)
and nothing when nobody does. Each concerned client gets a `live_refresh` event, queued
as if the tab had sent it: it runs under the tab's state lock, re-reads the page through
the same service call with the tab's own token (so nobody is sent a row they may not
see), and Reflex sends the tab the delta. Refreshes are coalesced per client: the first
notice refreshes at once, the ones that follow within LIVE_REFRESH_SECONDS make one
more refresh at the end of that window. Refreshes take turns by user: one user's
hundred open tabs wait behind each other (one at a time), not in front of another
user's tab.

Nothing outlives a connection: a client is forgotten when its socket closes and when
its tab loads another page (it registers again if that page shows a list).
"""

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.app import App
from reflex.event import EventSpec
from reflex.middleware.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base.event import Event

from app.core.config import settings
from app.db.changes import Change, notices, owned_kinds
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures
from app.ui.table.shared_reads import SharedReads

if TYPE_CHECKING:
    from app.models import User

logger = logging.getLogger(__name__)

# What a client follows: (kind, owner id) for a table of owned rows (kind, ALL) for a
# superuser's view of it or a shared table, ("users", ALL) for the Admin table,
# ("me", user id) for the signed-in user. Kinds are the entities' (db/changes.py).
Topic = tuple[str, int]
ALL = 0
# The events with which a tab (re)loads a page: what it showed before is gone.
PAGE_LOAD_EVENTS = frozenset({"hydrate", "hydrate_and_load", "on_load_internal"})


def table_topics(kind: str, user: "User", *, owned: bool = True) -> frozenset[Topic]:
    """What a table of `kind` shows `user`: their own rows, or all of them."""
    assert user.id is not None
    rows = user.id if owned and not user.is_superuser else ALL
    return frozenset({(kind, rows), ("me", user.id)})


def users_topics(user: "User") -> frozenset[Topic]:
    assert user.id is not None
    return frozenset({("users", ALL), ("me", user.id)})


def me_topics(user: "User") -> frozenset[Topic]:
    assert user.id is not None
    return frozenset({("me", user.id)})


def topics_of(change: Change) -> list[Topic]:
    """The lists a change may show in."""
    if change.kind == "session":
        # No list shows sessions live; app/ui/session_watch.py hears these.
        return []
    if change.kind != "user":
        # An entity's row: its owner's list (shared rows: owner 0, the one list) and all.
        return list({(change.kind, change.owner), (change.kind, ALL)})
    topics: list[Topic] = [("users", ALL), ("me", change.id)]
    if change.action == "deleted":
        # The user's rows went with them (the foreign keys cascade).
        for kind in owned_kinds():
            topics += [(kind, change.id), (kind, ALL)]
    return topics


@dataclass(frozen=True)
class View:
    """What one client shows: enough to route a notice, nothing it could not re-read."""

    # The event that refreshes it: "<state full name>.live_refresh".
    handler: str
    path: str
    user_id: int
    topics: frozenset[Topic]
    # Ids of the rows on show, and whether a search filters them.
    rows: frozenset[int] = frozenset()
    searching: bool = False

    def concerns(self, change: Change) -> bool:
        """Whether the change can alter what the client shows. A creation or deletion
        moves rows and counts on every page of the list; an edit only its own row,
        unless a search may now match it or not; the user's own account always."""
        if change.action != "updated" or self.searching:
            return True
        if change.kind == "user" and change.id == self.user_id:
            return True
        return change.id in self.rows


Refresh = Callable[[str, str], Awaitable[Any]]
# Refreshes one process runs at once. Each reads through the database pool the requests
# use: a burst of them (hundreds of tabs, one write) must leave connections for the
# writes themselves, so the rest wait their turn here, not in the pool's queue.
MAX_REFRESHES_AT_ONCE = max(1, settings.DB_POOL_SIZE // 2)
# Turns one user holds at once: the others stay free, so another user's refresh starts
# at once and shares the process with two of this user's at most (one user's 100 open
# tabs then refresh two at a time: their own cost, not everyone's). Two, not one: while
# one of a user's refreshes waits on the database the next one runs, which took the
# p95 of a thousand tabs' refreshes from 1.6 s to 1.0 s (docs/performance.md).
MAX_REFRESHES_PER_USER = 2
# A refresh that has not finished by then gives its turn up (it still runs).
REFRESH_TURN_SECONDS = 10.0


class LiveTables:
    """This process's registry of open lists, and the coalescing of their refreshes."""

    def __init__(self, window: float, refresh: Refresh | None = None) -> None:
        self.window = window
        self.refresh = refresh
        self._views: dict[str, View] = {}
        self._followers: dict[Topic, set[str]] = {}
        self._scheduled: dict[str, asyncio.TimerHandle] = {}
        self._last_refresh: dict[str, float] = {}
        self._running: set[asyncio.Task[Any]] = set()
        # Tabs whose refresh waits for its turn: it has read nothing yet, so a notice
        # arriving meanwhile needs no refresh of its own.
        self._waiting: set[str] = set()
        # The waiting tabs by user, oldest first, and the users in turn order: each
        # free turn goes to the user with the fewest refreshes running (the first of
        # them in line), who then moves to the back of the line.
        self._queues: dict[int, deque[str]] = {}
        self._turn_order: deque[int] = deque()
        self._running_by_user: dict[int, int] = {}
        self._free_turns = MAX_REFRESHES_AT_ONCE
        # What the refreshes of one change read once for several tabs.
        self.reads = SharedReads()

    def __len__(self) -> int:
        return len(self._views)

    def view(self, token: str) -> View | None:
        return self._views.get(token)

    def followers(self, topic: Topic) -> int:
        return len(self._followers.get(topic, ()))

    def per_client_entries(self) -> int:
        """Everything kept per client, to check that a closed one leaves nothing."""
        return (
            len(self._views)
            + sum(len(tokens) for tokens in self._followers.values())
            + len(self._scheduled)
            + len(self._last_refresh)
            + len(self._waiting)
            + sum(len(tokens) for tokens in self._queues.values())
        )

    def watch(self, token: str, view: View) -> None:
        old = self._views.get(token)
        if old is not None and old.topics != view.topics:
            self._unfollow(token, old.topics)
        self._views[token] = view
        for topic in view.topics:
            self._followers.setdefault(topic, set()).add(token)

    def forget(self, token: str) -> None:
        view = self._views.pop(token, None)
        if view is not None:
            self._unfollow(token, view.topics)
            if token in self._waiting:
                self._leave_queue(token, view.user_id)
        timer = self._scheduled.pop(token, None)
        if timer is not None:
            timer.cancel()
        self._last_refresh.pop(token, None)
        self._waiting.discard(token)

    def _leave_queue(self, token: str, user_id: int) -> None:
        queue = self._queues.get(user_id)
        if queue is not None and token in queue:
            queue.remove(token)
            if not queue:
                del self._queues[user_id]
                self._turn_order.remove(user_id)

    def _unfollow(self, token: str, topics: frozenset[Topic]) -> None:
        for topic in topics:
            tokens = self._followers.get(topic)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._followers[topic]

    def hear(self, change: Change) -> None:
        topics = topics_of(change)
        # First: no refresh of this change may be given an answer read before it.
        self.reads.drop(topics if change.kind != "session" else [("me", change.owner)])
        concerned: set[str] = set()
        for topic in topics:
            concerned.update(self._followers.get(topic, ()))
        for token in concerned:
            if self._views[token].concerns(change):
                self._schedule(token)

    def _schedule(self, token: str) -> None:
        if token in self._scheduled or token in self._waiting:
            return
        loop = asyncio.get_running_loop()
        last = self._last_refresh.get(token)
        delay = 0.0 if last is None else max(0.0, last + self.window - loop.time())
        # A fresh context: the refresh belongs to no event of whoever wrote (a UI
        # write's event context would make it that event's child).
        self._scheduled[token] = loop.call_later(
            delay, self._fire, token, context=contextvars.Context()
        )

    def _fire(self, token: str) -> None:
        del self._scheduled[token]
        view = self._views.get(token)
        if view is None or self.refresh is None:
            return
        self._last_refresh[token] = asyncio.get_running_loop().time()
        self._waiting.add(token)
        queue = self._queues.get(view.user_id)
        if queue is None:
            queue = self._queues[view.user_id] = deque()
            self._turn_order.append(view.user_id)
        queue.append(token)
        self._hand_out_turns()

    def _hand_out_turns(self) -> None:
        while self._free_turns > 0:
            user_id = min(
                (u for u in self._turn_order if self._turns_of(u) < MAX_REFRESHES_PER_USER),
                key=self._turns_of,
                default=None,
            )
            if user_id is None:
                return
            self._turn_order.remove(user_id)
            queue = self._queues[user_id]
            token = queue.popleft()
            if queue:
                self._turn_order.append(user_id)
            else:
                del self._queues[user_id]
            self._waiting.discard(token)
            self._free_turns -= 1
            self._running_by_user[user_id] = self._running_by_user.get(user_id, 0) + 1
            task = asyncio.get_running_loop().create_task(
                self._run(token, self._views[token].handler, user_id)
            )
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _turns_of(self, user_id: int) -> int:
        return self._running_by_user.get(user_id, 0)

    async def _run(self, token: str, handler: str, user_id: int) -> None:
        assert self.refresh is not None
        try:
            done = await self.refresh(token, handler)
            if isinstance(done, asyncio.Future):
                await asyncio.wait({done}, timeout=REFRESH_TURN_SECONDS)
        except Exception:
            logger.exception("Could not queue a live refresh")
        finally:
            self._free_turns += 1
            running = self._running_by_user.pop(user_id) - 1
            if running:
                self._running_by_user[user_id] = running
            self._hand_out_turns()


live_tables = LiveTables(settings.LIVE_REFRESH_SECONDS)


class LiveTable(rx.State, mixin=True):
    """A page whose list refreshes itself; the page's state says what it follows
    (`_watch`, each time it reads its rows) and how it reads them (`_reload`)."""

    def _client_token(self) -> str:
        return self.router.session.client_token

    def _watch(self, user: "User", topics: frozenset[Topic], rows: list[int], search: bool) -> None:
        assert user.id is not None
        live_tables.watch(
            self._client_token(),
            View(
                handler=f"{type(self).get_full_name()}.live_refresh",
                path=self.router.url.path,
                user_id=user.id,
                topics=topics,
                rows=frozenset(rows),
                searching=search,
            ),
        )

    if TYPE_CHECKING:
        # A table's state has them (PagedTable, RowDialogs).
        page: int

        async def _reload(self) -> None: ...
        async def _recheck_selected(self) -> EventSpec | None: ...
        def _show_page_in_url(self) -> EventSpec: ...
        async def _forget_session(self) -> list[EventSpec]: ...

    async def _reload_live(self) -> None:
        """Read the rows again for a refresh; a table whose tabs can share the read
        (EntityTable) says how."""
        await self._reload()

    async def _refresh_live(self) -> Events:
        """Read the table's page again (past the end: the last page), then see whether
        an open dialog's row changed; a page that shows no table says how it refreshes."""
        page = self.page
        await self._reload_live()
        events = [event for event in [await self._recheck_selected()] if event is not None]
        if self.page != page:
            # Clamped to the new last page: the address follows.
            events.append(self._show_page_in_url())
        return events

    @event
    @reports_failures()
    async def live_refresh(self) -> Events:
        """Queued by the server when a write concerns what this tab shows."""
        if not self._on_watched_page():
            return None
        return await self._refresh_live()

    def _on_watched_page(self) -> bool:
        """Whether the tab still shows the page it registered from; if not, forget it."""
        view = live_tables.view(self._client_token())
        if view is None or view.path != self.router.url.path:
            live_tables.forget(self._client_token())
            return False
        return True


def refresh_by_event(app: App) -> Refresh:
    async def refresh(token: str, handler: str) -> asyncio.Future[Any]:
        # Queued like an event from the tab: the tab's state lock, the middlewares
        # (session checks) and the tab's own user; Reflex sends the delta. The future
        # is done when the refresh is.
        return await app.event_processor.enqueue(token, Event(name=handler))

    return refresh


class PageLoads(Middleware):
    """A tab that (re)loads a page stops following what its previous page showed."""

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        if event.name.rpartition(".")[2] in PAGE_LOAD_EVENTS:
            live_tables.forget(state.router.session.client_token)
        return None


def install(app: App) -> None:
    """Wire the registry to this app: notices in, refresh events out, page loads."""
    live_tables.refresh = refresh_by_event(app)
    app.add_middleware(PageLoads())
    app.register_lifespan_task(hear_notices)


@contextlib.asynccontextmanager
async def hear_notices() -> AsyncIterator[None]:
    """For the process's life: notices reach the registry (from Redis when configured)."""
    notices.listen(live_tables.hear)
    subscriber = (
        asyncio.create_task(notices.subscribe()) if notices.redis_url and notices.enabled else None
    )
    try:
        yield
    finally:
        notices.unlisten(live_tables.hear)
        if subscriber is not None:
            subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await subscriber
        await notices.close()
