"""Sessions against real backends over the UI's websocket: a tab follows its session
wherever it ends (another tab, the API, an admin, another replica), and a connection
that skips the hydrate gets nothing of what a closed tab read."""

import asyncio
import secrets
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.ui.state.failures import LOGIN_ROUTE
from tests.conftest import TEST_REDIS_URL, Account, login_headers, make_account
from tests.live.conftest import LiveBackend, run_own_backend
from tests.live.reflex_tab import ADMIN, AUTH, ITEMS, Tab

API = settings.API_V1_STR
pytestmark = pytest.mark.live
# The bound; each check allows it, measured from the API's answer.
REDIRECT_SECONDS = 1.0


@pytest.fixture(scope="module")
def replicas(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveBackend]]:
    """Two backend replicas sharing Redis (UI state, change notices), as in production."""
    shared = {
        "REDIS_URL": TEST_REDIS_URL,
        "LIVE_TABLES_CHANNEL": f"test-sessions-{secrets.token_hex(6)}",
    }
    first = run_own_backend(database, tmp_path_factory, "replica-a", **shared)
    second = run_own_backend(database, tmp_path_factory, "replica-b", **shared)
    try:
        yield [next(first), next(second)]
    finally:
        first.close()
        second.close()


async def items_tab(backend: LiveBackend, token: str) -> Tab:
    tab = Tab(backend.url)
    await tab.open("/items", token)
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    return tab


async def session_login(backend: LiveBackend, account: Account) -> str:
    async with httpx.AsyncClient(base_url=backend.url) as client:
        headers = await login_headers(client, account.email, account.password)
    return headers["Authorization"].removeprefix("Bearer ")


async def test_a_session_ended_through_another_replica_sends_the_tab_to_login(
    replicas: list[LiveBackend], normal_user: Account
) -> None:
    a, b = replicas
    token = await session_login(a, normal_user)
    tab = await items_tab(a, token)
    bystander = await items_tab(a, normal_user.token)
    async with httpx.AsyncClient(base_url=b.url) as client:
        # The account's other session ends all the rest, this tab's among them.
        r = await client.delete(f"{API}/users/me/sessions", headers=normal_user.headers)
        assert r.status_code == 200
    took = await tab.wait_for_redirect(LOGIN_ROUTE, REDIRECT_SECONDS)
    await tab.wait_for(ITEMS, "rows", lambda rows: rows == [])
    assert took < REDIRECT_SECONDS
    # The session that ended the others goes on.
    await asyncio.sleep(0.3)
    assert LOGIN_ROUTE not in bystander.redirects()
    await tab.close()
    await bystander.close()


async def test_logging_out_in_one_tab_sends_its_other_tabs_to_login(
    replicas: list[LiveBackend], normal_user: Account
) -> None:
    a, b = replicas
    token = await session_login(a, normal_user)
    # Two tabs of one browser (one session), each on its own replica.
    first, second = await items_tab(a, token), await items_tab(b, token)
    await second.send(f"{AUTH}.log_out", {}, "/items")
    await first.wait_for_redirect(LOGIN_ROUTE, REDIRECT_SECONDS)
    async with httpx.AsyncClient(base_url=a.url) as client:
        r = await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403
    await first.close()
    await second.close()


async def test_an_admin_ending_a_users_sessions_sends_their_tabs_to_login(
    replicas: list[LiveBackend],
    client: httpx.AsyncClient,
    session: AsyncSession,
    normal_user: Account,
) -> None:
    a, b = replicas
    admin = await make_account(client, session, superuser=True)
    tab = await items_tab(b, normal_user.token)
    admin_tab = Tab(a.url)
    await admin_tab.open("/admin", admin.token)
    await admin_tab.wait_for(ADMIN, "users", lambda rows: len(rows) > 0)
    await admin_tab.send(f"{ADMIN}.end_sessions", {"user_id": normal_user.id}, "/admin")
    await tab.wait_for_redirect(LOGIN_ROUTE, REDIRECT_SECONDS)
    assert LOGIN_ROUTE not in admin_tab.redirects()
    await tab.close()
    await admin_tab.close()


async def test_a_connection_that_skips_the_hydrate_gets_nothing(
    replicas: list[LiveBackend], client: httpx.AsyncClient, session: AsyncSession
) -> None:
    a, _ = replicas
    admin = await make_account(client, session, superuser=True)
    shown = await make_account(client, session)
    tab = Tab(a.url)
    await tab.open("/admin", admin.token)
    await tab.wait_for(ADMIN, "users", lambda rows: shown.email in str(rows))
    await tab.close()
    # The closed tab's client token (sessionStorage, or sniffed), with no hydrate: the
    # events act for nobody.
    await tab.open("/admin", hydrate=False)
    await tab.send(f"{ADMIN}.load_page", {"page": 1}, "/admin")
    await tab.send(f"{ADMIN}.search_rows", {"text": shown.email}, "/admin")
    await asyncio.sleep(1)
    assert shown.email not in tab.text() and admin.email not in tab.text()
    assert LOGIN_ROUTE in tab.redirects()
    await tab.close()
    # The real tab, reopened with its token, is itself again.
    await tab.open("/admin", admin.token)
    await tab.wait_for(ADMIN, "users", lambda rows: shown.email in str(rows))
    await tab.close()
