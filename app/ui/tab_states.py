"""What browser tabs' server-side states may cost (issue #24 part 4).

Reflex keeps a state per tab (its client token) in the state manager (memory, disk or
Redis) until STATE_EXPIRY_SECONDS pass without events, whether or not anybody signed in:
an outside probe opening tabs in a loop, without an account, made thousands of states
that stayed half an hour. Here each backend process notes the tabs it holds a socket
for, with the client's address, and:

- caps the states it holds per address (TAB_STATES_PER_ADDRESS) and in all
  (TAB_STATES_PER_PROCESS): over a cap, the anonymous tab idle longest goes first (of
  the address over its cap; over the process's cap, of the address holding the most
  tabs, so a flood costs its own tabs first, not everyone's);
- never drops the state of a signed-in tab while it is connected (a signed-in tab is
  one whose handlers resolved a user: app/ui/session_watch.py knows them);
- drops an anonymous tab's state ANONYMOUS_STATE_EXPIRY_SECONDS after its socket
  closed (with Redis the keys are also given that TTL then, so a process that dies
  leaves nothing for long).

A dropped tab still connected has its socket closed at the transport: the browser
reconnects by itself, and its hydrate finds a fresh state (the login page works as on a
first visit). The caps count per process: with N replicas a deployment holds at most
N times them.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from redis.exceptions import RedisError
from reflex.istate.manager import StateManager
from reflex.istate.manager.disk import StateManagerDisk
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState, State

from app.core.config import settings
from app.observability.outage import Outage
from app.ui.session_watch import session_tabs

logger = logging.getLogger(__name__)

Close = Callable[[str], Awaitable[None]]
# What a state store that stopped answering raises (Redis; a disk that failed).
STORE_ERRORS = (RedisError, OSError)
SignedIn = Callable[[str], bool]


def state_classes() -> list[type[BaseState]]:
    """Every state of a tab's tree, the root first: one Redis key or file each."""
    found: list[type[BaseState]] = [State]
    for state_class in found:
        found.extend(state_class.get_substates())
    return found


class TabStore:
    """A tab's states in the app's state manager: dropped now, or left to expire soon."""

    def __init__(self, manager: Callable[[], StateManager]) -> None:
        # The app's, read when used: Reflex makes it when the app is set up.
        self._manager = manager

    @property
    def manager(self) -> StateManager:
        return self._manager()

    def _root(self, token: str) -> BaseStateToken:
        return BaseStateToken(ident=token, cls=State)

    async def drop(self, token: str) -> bool:
        """Remove the tab's states; False (nothing done) while an event holds them."""
        root = self._root(token)
        manager = self.manager
        if isinstance(manager, StateManagerRedis):
            if await manager.redis.exists(StateManagerRedis._lock_key(root)):
                return False
            await manager.redis.delete(*[root._state_key(cls) for cls in state_classes()])
            return True
        if isinstance(manager, StateManagerDisk):
            if manager._is_locked(root):
                return False
            manager._purge_token(root)
            for queued in [queued for queued in manager._write_queue if queued.ident == token]:
                del manager._write_queue[queued]
            for cls in state_classes():
                manager.token_path(root.with_cls(cls)).unlink(missing_ok=True)
            return True
        if isinstance(manager, StateManagerMemory):
            lock = manager._states_locks.get(root.lock_key)
            if lock is not None and lock.locked():
                return False
            manager._purge_token(root)
            return True
        raise TypeError(f"No way to drop a state from {type(manager).__name__}")

    async def expire_in(self, token: str, seconds: int) -> None:
        """Redis only: the tab's keys expire after `seconds` unless written again (each
        write sets STATE_EXPIRY_SECONDS); the other managers are swept by this process."""
        if isinstance(self.manager, StateManagerRedis):
            root = self._root(token)
            pipeline = self.manager.redis.pipeline(transaction=False)
            for cls in state_classes():
                pipeline.expire(root._state_key(cls), seconds)
            await pipeline.execute()


@dataclass
class Tab:
    address: str
    # The socket.io connection this process holds for it; None once it closed.
    sid: str | None
    last_active: float = field(default_factory=time.monotonic)


class TabStates:
    """This process's tabs, by client token, and the caps on them."""

    def __init__(
        self,
        per_address: int,
        per_process: int,
        anonymous_expiry: int,
        signed_in: SignedIn,
    ) -> None:
        self.per_address, self.per_process = per_address, per_process
        self.anonymous_expiry = anonymous_expiry
        self.signed_in = signed_in
        self.store: TabStore | None = None
        self.close: Close | None = None
        self._tabs: dict[str, Tab] = {}
        self._by_address: dict[str, set[str]] = {}
        self._running: set[asyncio.Task[None]] = set()
        # States dropped so far, for the tests.
        self.dropped = 0
        # Redis (the state store) failing: the tabs go on uncapped, said once.
        self._outage = Outage(
            logger,
            "Tab states are not capped nor expired early while the state store fails: %s",
            "Tab states are capped again",
        )

    def __len__(self) -> int:
        return len(self._tabs)

    def tab(self, token: str) -> Tab | None:
        return self._tabs.get(token)

    def at(self, address: str) -> int:
        return len(self._by_address.get(address, ()))

    async def connected(self, token: str, sid: str, address: str) -> None:
        """A socket opened for the tab: noted, then the caps are applied (to others)."""
        tab = self._tabs.get(token)
        if tab is not None and tab.address != address:
            self._forget(token)
            tab = None
        if tab is None:
            self._tabs[token] = Tab(address, sid)
            self._by_address.setdefault(address, set()).add(token)
        else:
            tab.sid, tab.last_active = sid, time.monotonic()
        if self.store is None or self._outage.skipping():
            return
        try:
            # Back from a disconnect: Redis keys given the short TTL then live as before.
            await self.store.expire_in(token, settings.STATE_EXPIRY_SECONDS)
            await self._apply_caps(token, address)
        except STORE_ERRORS as error:
            self._outage.failed(error)
        else:
            self._outage.works()

    def active(self, token: str) -> None:
        """The tab sent an event."""
        tab = self._tabs.get(token)
        if tab is not None:
            tab.last_active = time.monotonic()

    def disconnected(self, token: str, sid: str) -> None:
        """The tab's socket closed (told before app/ui/session_watch.py forgets it)."""
        tab = self._tabs.get(token)
        if tab is None or tab.sid != sid:
            return
        if self.signed_in(token):
            # Its state lives STATE_EXPIRY_SECONDS, for a reload or a flaky network.
            self._forget(token)
            return
        tab.sid, tab.last_active = None, time.monotonic()
        if self.store is not None and not self._outage.skipping():
            task = asyncio.get_running_loop().create_task(self._expire_soon(token))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _expire_soon(self, token: str) -> None:
        assert self.store is not None
        try:
            await self.store.expire_in(token, self.anonymous_expiry)
        except STORE_ERRORS as error:
            self._outage.failed(error)

    async def sweep(self) -> None:
        """Drop the states of anonymous tabs closed ANONYMOUS_STATE_EXPIRY_SECONDS ago."""
        deadline = time.monotonic() - self.anonymous_expiry
        expired = [
            token
            for token, tab in self._tabs.items()
            if tab.sid is None and tab.last_active <= deadline
        ]
        if self.store is None or isinstance(self.store.manager, StateManagerRedis):
            # Redis expires them itself (and another replica may hold the tab now).
            for token in expired:
                self._forget(token)
            return
        if self._outage.skipping():
            return
        try:
            for token in expired:
                await self._drop(token)
        except STORE_ERRORS as error:
            self._outage.failed(error)

    async def _apply_caps(self, newcomer: str, address: str) -> None:
        # The newcomer is never its own victim; nor is a tab an event holds right now.
        spared: set[str] = {newcomer}
        while self.at(address) > self.per_address:
            victim = self._oldest_anonymous(self._by_address.get(address, set()) - spared)
            if victim is None:
                break
            if not await self._drop(victim):
                spared.add(victim)
        while len(self._tabs) > self.per_process:
            victim = next(
                (
                    found
                    for crowd in sorted(self._by_address, key=self.at, reverse=True)
                    if (found := self._oldest_anonymous(self._by_address[crowd] - spared))
                ),
                None,
            )
            if victim is None:
                break
            if not await self._drop(victim):
                spared.add(victim)

    def _oldest_anonymous(self, tokens: set[str]) -> str | None:
        anonymous = [token for token in tokens if not self.signed_in(token)]
        return min(anonymous, key=lambda token: self._tabs[token].last_active, default=None)

    async def _drop(self, token: str) -> bool:
        """Drop the tab's state (and close its socket, if open); False if it is busy."""
        if self.store is None or not await self.store.drop(token):
            return False
        tab = self._forget(token)
        self.dropped += 1
        if tab is not None and tab.sid is not None and self.close is not None:
            await self.close(tab.sid)
        return True

    def _forget(self, token: str) -> Tab | None:
        tab = self._tabs.pop(token, None)
        if tab is not None:
            tokens = self._by_address.get(tab.address)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_address[tab.address]
        return tab


def is_signed_in(token: str) -> bool:
    return session_tabs.user_of(token) is not None


tab_states = TabStates(
    settings.TAB_STATES_PER_ADDRESS,
    settings.TAB_STATES_PER_PROCESS,
    # Never longer than any tab's state lives.
    min(settings.ANONYMOUS_STATE_EXPIRY_SECONDS, settings.STATE_EXPIRY_SECONDS),
    is_signed_in,
)


@contextlib.asynccontextmanager
async def sweep_anonymous_states() -> AsyncIterator[None]:
    """For the process's life: closed anonymous tabs' states go after their expiry."""
    every = max(1.0, min(tab_states.anonymous_expiry / 4, 30.0))

    async def sweep_forever() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await tab_states.sweep()
            except Exception:
                logger.exception("Could not sweep anonymous tab states")

    task = asyncio.create_task(sweep_forever(), name="sweep_anonymous_states")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
