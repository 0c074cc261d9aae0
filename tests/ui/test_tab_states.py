"""The caps on tabs' server-side states (app/ui/tab_states.py), over Reflex's real state
managers (memory, disk, Redis): who loses a state when a cap is reached, and what
dropping or expiring one leaves behind."""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from reflex.istate.manager import StateManager
from reflex.istate.manager.disk import StateManagerDisk
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State

import app.ui.state  # noqa: F401  (the app's states: a tab's tree as the app has it)
from app.ui.state.auth import AuthState
from app.ui.tab_states import TabStates, TabStore, state_classes
from tests.conftest import TEST_REDIS_URL

UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


def new_token() -> str:
    return f"test-tab-{secrets.token_hex(8)}"


def root(token: str) -> BaseStateToken:
    return BaseStateToken(ident=token, cls=State)


async def open_state(manager: StateManager, token: str) -> None:
    """What a tab's first event leaves in the manager: its whole tree, written."""
    async with manager.modify_state(root(token)) as state:
        auth = await state.get_state(AuthState)
        assert isinstance(auth, AuthState)
        auth.device_token = "written"


async def has_state(manager: StateManager, token: str) -> bool:
    if isinstance(manager, StateManagerRedis):
        return bool(await manager.redis.exists(root(token)._state_key(AuthState)))
    if isinstance(manager, StateManagerDisk):
        file = manager.token_path(root(token).with_cls(AuthState))
        return token in manager.states or file.exists()
    assert isinstance(manager, StateManagerMemory)
    return token in manager.states


@pytest.fixture
async def memory() -> AsyncIterator[StateManagerMemory]:
    manager = StateManagerMemory(token_expiration=3600)  # type: ignore[abstract]
    yield manager
    await manager.close()  # type: ignore[no-untyped-call]


class Closed(list[str]):
    """The connections a registry closed, in order."""

    async def __call__(self, sid: str) -> None:
        self.append(sid)


def registry(
    manager: StateManager, signed_in: set[str], per_address: int = 3, per_process: int = 100
) -> tuple[TabStates, Closed]:
    tabs = TabStates(per_address, per_process, 60, signed_in.__contains__)
    tabs.store = TabStore(lambda: manager)
    tabs.close = closed = Closed()
    return tabs, closed


async def connect(tabs: TabStates, manager: StateManager, address: str) -> str:
    token = new_token()
    await open_state(manager, token)
    await tabs.connected(token, f"sid-{token}", address)
    # Distinct activity times, however coarse the clock.
    await asyncio.sleep(0.01)
    return token


async def test_over_the_address_cap_its_oldest_idle_anonymous_tab_goes(
    memory: StateManagerMemory,
) -> None:
    tabs, closed = registry(memory, set())
    first, second, third = [await connect(tabs, memory, "10.0.0.1") for _ in range(3)]
    tabs.active(first)  # the first tab acts: the second is now the one idle longest
    fourth = await connect(tabs, memory, "10.0.0.1")
    assert closed == [f"sid-{second}"]
    assert not await has_state(memory, second)
    for token in (first, third, fourth):
        assert await has_state(memory, token)
    assert tabs.at("10.0.0.1") == 3
    assert tabs.dropped == 1


async def test_a_connected_signed_in_tab_is_never_dropped(memory: StateManagerMemory) -> None:
    signed_in: set[str] = set()
    tabs, closed = registry(memory, signed_in, per_address=2)
    account = await connect(tabs, memory, "10.0.0.1")
    signed_in.add(account)
    anonymous = await connect(tabs, memory, "10.0.0.1")
    newcomer = await connect(tabs, memory, "10.0.0.1")
    # The anonymous tab goes though it is younger than the signed-in one.
    assert closed == [f"sid-{anonymous}"]
    # Only signed-in tabs and the newcomer are left: the cap cannot be kept, nothing goes.
    signed_in.add(newcomer)
    await connect(tabs, memory, "10.0.0.1")
    assert closed == [f"sid-{anonymous}"]
    assert await has_state(memory, account)


async def test_over_the_process_cap_the_address_with_most_tabs_pays(
    memory: StateManagerMemory,
) -> None:
    tabs, closed = registry(memory, set(), per_address=10, per_process=4)
    # A bystander's tab is the oldest of all.
    bystander = await connect(tabs, memory, "10.0.0.9")
    flood = [await connect(tabs, memory, "10.0.0.1") for _ in range(3)]
    more = await connect(tabs, memory, "10.0.0.1")
    assert closed == [f"sid-{flood[0]}"]
    assert await has_state(memory, bystander)
    assert await has_state(memory, more)
    assert len(tabs) == 4


async def test_a_tab_an_event_holds_is_spared(memory: StateManagerMemory) -> None:
    tabs, closed = registry(memory, set(), per_address=1)
    busy = await connect(tabs, memory, "10.0.0.1")
    async with memory.modify_state(root(busy)):
        newcomer = await connect(tabs, memory, "10.0.0.1")
    assert closed == []
    assert await has_state(memory, busy)
    # Once the event is over, the next connection applies the cap again.
    await connect(tabs, memory, "10.0.0.1")
    assert closed == [f"sid-{busy}", f"sid-{newcomer}"]


async def test_a_closed_anonymous_tab_loses_its_state_after_the_short_expiry(
    memory: StateManagerMemory,
) -> None:
    signed_in: set[str] = set()
    tabs, _ = registry(memory, signed_in)
    tabs.anonymous_expiry = 0
    anonymous = await connect(tabs, memory, "10.0.0.1")
    account = await connect(tabs, memory, "10.0.0.1")
    signed_in.add(account)
    still_open = await connect(tabs, memory, "10.0.0.1")
    tabs.disconnected(anonymous, f"sid-{anonymous}")
    tabs.disconnected(account, f"sid-{account}")
    await tabs.sweep()
    assert not await has_state(memory, anonymous)
    # The signed-in tab's state is left to STATE_EXPIRY_SECONDS, the open one's to its tab.
    assert await has_state(memory, account)
    assert await has_state(memory, still_open)
    assert tabs.tab(account) is None and tabs.tab(anonymous) is None


async def test_a_tab_back_before_the_expiry_keeps_its_state(memory: StateManagerMemory) -> None:
    tabs, _ = registry(memory, set())
    tabs.anonymous_expiry = 0
    token = await connect(tabs, memory, "10.0.0.1")
    tabs.disconnected(token, f"sid-{token}")
    await tabs.connected(token, "sid-again", "10.0.0.1")
    await tabs.sweep()
    assert await has_state(memory, token)


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StateManagerDisk]:
    monkeypatch.setenv("REFLEX_STATES_WORKDIR", str(tmp_path / "states"))
    yield StateManagerDisk(token_expiration=3600)  # type: ignore[abstract]


async def test_dropping_a_disk_state_removes_its_files(disk: StateManagerDisk) -> None:
    token, other = new_token(), new_token()
    for each in (token, other):
        await open_state(disk, each)
    await disk.close()  # type: ignore[no-untyped-call]  # writes what is queued
    assert disk.token_path(root(token).with_cls(AuthState)).exists()
    assert await TabStore(lambda: disk).drop(token)
    assert not await has_state(disk, token)
    assert not any(disk.token_path(root(token).with_cls(cls)).exists() for cls in state_classes())
    assert await has_state(disk, other)


@pytest.fixture
async def redis_manager() -> AsyncIterator[StateManagerRedis]:
    redis = Redis.from_url(TEST_REDIS_URL)
    manager = StateManagerRedis(redis=redis, token_expiration=3600)  # type: ignore[abstract]
    yield manager
    await manager.close()  # type: ignore[no-untyped-call]


def keys_of(token: str) -> list[str]:
    return [root(token)._state_key(cls) for cls in state_classes()]


async def test_a_redis_state_is_dropped_or_expires_whole(redis_manager: StateManagerRedis) -> None:
    store = TabStore(lambda: redis_manager)
    dropped, expiring, other = new_token(), new_token(), new_token()
    for each in (dropped, expiring, other):
        await open_state(redis_manager, each)
    assert await redis_manager.redis.exists(*keys_of(dropped)) > 0
    assert await store.drop(dropped)
    assert await redis_manager.redis.exists(*keys_of(dropped)) == 0
    await store.expire_in(expiring, 30)
    ttls = [await redis_manager.redis.ttl(key) for key in keys_of(expiring)]
    written = [ttl for ttl in ttls if ttl != -2]
    assert written and all(0 < ttl <= 30 for ttl in written)
    assert 3000 < await redis_manager.redis.ttl(root(other)._state_key(AuthState)) <= 3600
    await store.drop(expiring)
    await store.drop(other)


async def test_a_redis_state_an_event_holds_is_not_dropped(
    redis_manager: StateManagerRedis,
) -> None:
    token = new_token()
    await open_state(redis_manager, token)
    async with redis_manager.modify_state(root(token)):
        assert not await TabStore(lambda: redis_manager).drop(token)
    assert await has_state(redis_manager, token)
    assert await TabStore(lambda: redis_manager).drop(token)


async def test_a_failing_redis_leaves_the_tabs_alone_and_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Reflex's overloads make mypy take its managers for abstract.
    unreachable = Redis.from_url(UNREACHABLE_REDIS_URL)
    manager = StateManagerRedis(redis=unreachable, token_expiration=60)  # type: ignore[abstract]
    tabs, closed = registry(manager, set(), per_address=1)
    try:
        with caplog.at_level("WARNING", logger="app.ui.tab_states"):
            for number in range(3):
                await tabs.connected(f"tab-{number}", f"sid-{number}", "10.0.0.1")
    finally:
        # Its lock subscription failed too: what it raised is collected here.
        with contextlib.suppress(RedisError):
            await manager.close()  # type: ignore[no-untyped-call]
    assert closed == []
    assert len(tabs) == 3
    warnings = [r for r in caplog.records if r.name == "app.ui.tab_states"]
    assert len(warnings) == 1
    assert "not capped" in warnings[0].getMessage()
