"""One user's many open tabs must not slow another user's live refresh more than twice
(issue #24 part 4: a superuser's 150 Items tabs took another user's refresh from 24 ms
to 723 ms), on the real backend over real sockets."""

import asyncio
import statistics
import time
from collections.abc import Iterator

import httpx
import pytest

from app.core.config import settings
from tests.conftest import Account
from tests.live.conftest import LiveBackend, run_own_backend
from tests.live.reflex_tab import ITEMS, Tab

pytestmark = pytest.mark.live
CROWD = 100
SAMPLES = 5
# What a shared 2-core machine adds to a few-millisecond measure now and then.
SLACK_SECONDS = 0.05


@pytest.fixture(scope="module")
def backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    # Room for the crowd on one address (app/ui/tab_states.py caps tabs per address).
    yield from run_own_backend(
        database, tmp_path_factory, "refresh-fairness", TAB_STATES_PER_ADDRESS="1000"
    )


async def items_tab(backend: LiveBackend, account: Account) -> Tab:
    tab = Tab(backend.url)
    await tab.open("/items", account.token)
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    return tab


def shows(title: str) -> object:
    return lambda rows: title in [row["title"] for row in rows]


async def refresh_seconds(
    backend: LiveBackend, account: Account, tab: Tab, crowd: list[Tab], title: str
) -> float:
    """Seconds from the answer to `account`'s write until its tab shows the row; then
    the crowd's tabs are let finish their own refreshes, so samples do not overlap."""
    seen = len(tab.values(ITEMS, "items"))
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        response = await client.post(
            f"{settings.API_V1_STR}/items/", headers=account.headers, json={"title": title}
        )
    answered = time.monotonic()
    assert response.status_code == 200, response.text
    await tab.wait_for(ITEMS, "items", shows(title), after=seen)
    took = time.monotonic() - answered
    await asyncio.gather(*(other.wait_for(ITEMS, "items", shows(title)) for other in crowd))
    # Past the refresh window, so the next write refreshes at once.
    await asyncio.sleep(settings.LIVE_REFRESH_SECONDS + 0.1)
    return took


async def median_refresh(
    backend: LiveBackend, account: Account, tab: Tab, crowd: list[Tab], label: str
) -> float:
    return statistics.median(
        [
            await refresh_seconds(backend, account, tab, crowd, f"{label} {number}")
            for number in range(SAMPLES)
        ]
    )


async def test_a_crowd_of_another_users_tabs_slows_a_refresh_at_most_twice(
    backend: LiveBackend, normal_user: Account, superuser: Account
) -> None:
    tab = await items_tab(backend, normal_user)
    crowd: list[Tab] = []
    try:
        # Warm: the first reads of a fresh process are slower than any that follow.
        await refresh_seconds(backend, normal_user, tab, [], "Warm")
        alone = await median_refresh(backend, normal_user, tab, [], "Alone")
        # The superuser's Items tables show every user's rows: each write refreshes them all.
        crowd = list(await asyncio.gather(*(items_tab(backend, superuser) for _ in range(CROWD))))
        crowded = await median_refresh(backend, normal_user, tab, crowd, "Crowded")
    finally:
        await asyncio.gather(*(other.close() for other in [tab, *crowd]))
    measured = f"alone {alone * 1000:.0f} ms, beside {CROWD} tabs {crowded * 1000:.0f} ms"
    assert crowded <= 2 * alone + SLACK_SECONDS, measured
