"""What anonymous tabs may cost, on the real backend with its Redis state store: an
address over its cap loses its oldest anonymous tabs' states (never a connected
signed-in tab's), a dropped tab that comes back starts fresh, and the states of closed
anonymous tabs expire in seconds here (minutes by default), not in STATE_EXPIRY_SECONDS."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from redis.asyncio import Redis
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State

import app.ui.pages  # noqa: F401  (every page state: the keys a tab can have)
from app.core.config import settings
from app.ui.tab_states import state_classes
from devtools.reflex_socket import ROOT_STATE
from tests.conftest import TEST_REDIS_URL, Account
from tests.live.conftest import LiveBackend, run_own_backend
from tests.live.reflex_tab import AUTH, ITEMS, Tab

pytestmark = pytest.mark.live
PER_ADDRESS = 3
ANONYMOUS_EXPIRY = 2


@pytest.fixture(scope="module")
def backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "tab-caps",
        REDIS_URL=TEST_REDIS_URL,
        LIVE_TABLES_CHANNEL=f"test-tab-caps-{secrets.token_hex(6)}",
        TAB_STATES_PER_ADDRESS=str(PER_ADDRESS),
        ANONYMOUS_STATE_EXPIRY_SECONDS=str(ANONYMOUS_EXPIRY),
        # The caps count per worker process: one worker holds every tab of the test.
        GRANIAN_WORKERS="1",
    )


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(TEST_REDIS_URL)
    yield client
    await client.aclose()


def state_keys(tab: Tab) -> list[str]:
    root = BaseStateToken(ident=tab.client_token, cls=State)
    return [root._state_key(cls) for cls in state_classes()]


async def stored(redis: Redis, tab: Tab) -> int:
    """How many of the tab's states the backend keeps in Redis."""
    return int(await redis.exists(*state_keys(tab)))


async def hydrated(tab: Tab) -> None:
    await tab.wait_for(ROOT_STATE, "is_hydrated", lambda value: value is True)


async def anonymous_tab(backend: LiveBackend) -> Tab:
    tab = Tab(backend.url)
    await tab.open("/login")
    await hydrated(tab)
    return tab


async def test_an_address_over_its_cap_loses_its_oldest_anonymous_tabs(
    backend: LiveBackend, normal_user: Account, redis: Redis
) -> None:
    # The signed-in tab is the oldest of the address's tabs.
    signed_in = Tab(backend.url)
    await signed_in.open("/items", normal_user.token)
    await signed_in.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    anonymous = [await anonymous_tab(backend) for _ in range(PER_ADDRESS + 1)]
    tabs = [signed_in, *anonymous]
    try:
        # Five tabs, a cap of three: the two oldest anonymous ones went, sockets and states.
        for dropped in anonymous[:2]:
            await asyncio.wait_for(dropped.closed.wait(), 10)
            assert await stored(redis, dropped) == 0
        for kept in [signed_in, *anonymous[2:]]:
            assert not kept.closed.is_set()
            assert await stored(redis, kept) > 0
        # The signed-in tab goes on as before: a write elsewhere shows in its table.
        async with httpx.AsyncClient(base_url=backend.url) as client:
            response = await client.post(
                f"{settings.API_V1_STR}/items/", headers=normal_user.headers, json={"title": "Kept"}
            )
            assert response.status_code == 200
        await signed_in.wait_for(
            ITEMS, "rows", lambda rows: [r["cells"]["title"] for r in rows] == ["Kept"]
        )
        # A dropped tab that comes back starts on a fresh state, as on a first visit.
        back = anonymous[0]
        await back.open("/login")
        await hydrated(back)
        assert back.values(AUTH, "user")[-1]["id"] == 0
        assert "An error occurred" not in back.text()
    finally:
        for tab in tabs:
            await tab.close()
    log = backend.log.read_text()
    assert "Traceback" not in log
    assert "came before its connection's hydrate" not in log


async def test_a_closed_anonymous_tabs_state_expires_in_seconds(
    backend: LiveBackend, normal_user: Account, redis: Redis
) -> None:
    anonymous = await anonymous_tab(backend)
    signed_in = Tab(backend.url)
    await signed_in.open("/items", normal_user.token)
    await signed_in.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    await anonymous.close()
    await signed_in.close()
    # A closed signed-in tab keeps its state for a reload, as long as before.
    signed_in_ttls = [await redis.ttl(key) for key in state_keys(signed_in)]
    assert max(signed_in_ttls) > settings.STATE_EXPIRY_SECONDS - 60
    assert await stored(redis, anonymous) > 0
    await asyncio.sleep(ANONYMOUS_EXPIRY + 1)
    assert await stored(redis, anonymous) == 0
    assert await stored(redis, signed_in) > 0
