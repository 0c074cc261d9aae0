"""The UI's websocket against the real backend, as a hostile or careless browser uses it:
shared tabs, revoked tokens, failing handlers, floods, oversized events, expiry."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.services import users
from app.ui.state.failures import LOGIN_ROUTE
from tests.conftest import Account, make_account
from tests.factories import create_item
from tests.live.conftest import LiveBackend, run_own_backend
from tests.live.reflex_tab import ADMIN, AUTH, ITEMS, VISIBILITY, Tab

API = settings.API_V1_STR
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def ui_backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "ui-backend",
        # As behind Traefik: its X-Forwarded-Proto is believed.
        REFLEX_TRUSTED_PROXY_HOPS="1",
    )


@pytest.fixture(scope="module")
def expiring_backend(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveBackend]:
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "expiring-backend",
        STATE_EXPIRY_SECONDS="3",
    )


def token_of(account: Account) -> str:
    return account.headers["Authorization"].removeprefix("Bearer ")


def log_size(backend: LiveBackend) -> int:
    return backend.log.stat().st_size


def log_since(backend: LiveBackend, offset: int) -> str:
    with backend.log.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")


async def admin_tab_with_rows(base: str, admin: Account, shown: Account) -> Tab:
    """A tab on /admin whose table holds `shown`'s row."""
    tab = Tab(base)
    await tab.open("/admin", token_of(admin))
    await tab.wait_for(ADMIN, "users", lambda rows: shown.email in str(rows))
    return tab


# 1. What a tab read for one user reaches nobody else ----------------------------------


async def test_logout_leaves_nothing_for_the_next_user_of_the_tab(
    ui_backend: LiveBackend, superuser: Account, normal_user: Account
) -> None:
    tab = await admin_tab_with_rows(ui_backend.url, superuser, normal_user)
    await tab.send(f"{AUTH}.log_out", {}, "/admin")
    await tab.wait_for(ADMIN, "users", lambda rows: rows == [])
    await tab.close()
    # The tab is reloaded: first on the login page, then by the next user.
    await tab.open(LOGIN_ROUTE)
    await asyncio.sleep(0.5)
    await tab.close()
    await tab.open("/items", token_of(normal_user))
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    assert superuser.email not in tab.text()
    assert tab.values(ADMIN, "users") in ([], [[]])
    await tab.close()


async def test_reconnect_without_the_token_gets_nothing(
    ui_backend: LiveBackend, superuser: Account, normal_user: Account
) -> None:
    tab = await admin_tab_with_rows(ui_backend.url, superuser, normal_user)
    await tab.close()
    # Only the Reflex client token (sessionStorage) of the closed tab: no user data.
    await tab.open("/")
    await asyncio.sleep(0.5)
    assert normal_user.email not in tab.text() and superuser.email not in tab.text()
    await tab.close()
    # Nor with another user's token.
    await tab.open("/", token_of(normal_user))
    await asyncio.sleep(0.5)
    assert superuser.email not in tab.text()
    assert all(rows == [] for rows in tab.values(ADMIN, "users"))
    await tab.close()


async def test_revoked_token_forgets_the_rows_mid_session(
    ui_backend: LiveBackend, session: AsyncSession, client: httpx.AsyncClient, normal_user: Account
) -> None:
    admin = await make_account(client, session, superuser=True)
    tab = await admin_tab_with_rows(ui_backend.url, admin, normal_user)
    # A password change (not from a session of theirs) ends every session.
    user = await users.get_user_by_email(session, admin.email)
    assert user is not None
    await users.change_password(
        session, user, admin.password, "another-password-1", current_session=0
    )
    await tab.send(f"{ADMIN}.load_page", {"page": 1}, "/admin")
    await tab.wait_for(ADMIN, "users", lambda rows: rows == [])
    await tab.close()
    await tab.open("/admin", token_of(admin))
    await asyncio.sleep(0.5)
    assert normal_user.email not in tab.text()
    await tab.close()


# 6. A handler's bug leaves the page usable ----------------------------------------------


async def test_a_failing_handler_still_clears_the_busy_flag(
    ui_backend: LiveBackend, normal_user: Account
) -> None:
    tab = Tab(ui_backend.url)
    await tab.open("/items", token_of(normal_user))
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    before = len(tab.values(ITEMS, "saving"))
    # A form, as the handler takes, holding a number where text goes: the handler's own
    # code fails on it (a bug, not an expected failure). A wrong type at the top level
    # never reaches a handler (app/ui/guards.py).
    await tab.send(f"{ITEMS}.create", {"form": {"title": 5}}, "/items")
    await tab.wait_for(ITEMS, "saving", lambda busy: busy is True)
    await asyncio.sleep(1)
    assert tab.values(ITEMS, "saving")[before:][-1] is False
    await tab.close()


# 7 and 3. Floods and oversized events -----------------------------------------------------


async def test_unknown_events_are_dropped_and_logged_once_in_short(
    ui_backend: LiveBackend, normal_user: Account
) -> None:
    tab = Tab(ui_backend.url)
    await tab.open("/items", token_of(normal_user))
    start = log_size(ui_backend)
    junk = "J" * 50_000
    for _ in range(10):
        await tab.send(f"{AUTH}.no_such_handler", {"junk": junk}, "/items")
        await asyncio.sleep(0.1)
    # The connection still works afterwards.
    await tab.send(f"{VISIBILITY}.toggle", {"field_id": "password"}, "/login")
    await tab.wait_for(VISIBILITY, "shown", lambda shown: shown == ["password"])
    logged = log_since(ui_backend, start)
    assert junk[:1000] not in logged
    assert len(logged) < 2000, logged[:2000]
    assert logged.count("naming no handler") == 1
    await tab.close()


async def test_visibility_toggle_takes_only_known_fields(ui_backend: LiveBackend) -> None:
    tab = Tab(ui_backend.url)
    await tab.open(LOGIN_ROUTE)
    for index in range(5):
        await tab.send(f"{VISIBILITY}.toggle", {"field_id": f"{index}" * 40_000}, LOGIN_ROUTE)
    await tab.send(f"{VISIBILITY}.toggle", {"field_id": "password"}, LOGIN_ROUTE)
    await tab.wait_for(VISIBILITY, "shown", lambda shown: shown == ["password"])
    assert all(len(str(shown)) < 100 for shown in tab.values(VISIBILITY, "shown"))
    await tab.close()


async def test_an_event_flood_closes_the_connection(ui_backend: LiveBackend) -> None:
    tab = Tab(ui_backend.url)
    await tab.open(LOGIN_ROUTE)
    start = log_size(ui_backend)
    for _ in range(10 * settings.UI_EVENTS_PER_SECOND):
        await tab.send(f"{VISIBILITY}.toggle", {"field_id": "password"}, LOGIN_ROUTE)
    await asyncio.wait_for(tab.closed.wait(), 10)
    assert log_since(ui_backend, start).count("more messages than the rate allows") == 1
    await tab.close()


async def test_an_oversized_event_is_refused_without_being_logged(
    ui_backend: LiveBackend, normal_user: Account
) -> None:
    tab = Tab(ui_backend.url)
    await tab.open("/items", token_of(normal_user))
    start = log_size(ui_backend)
    marker = "oversized-marker-" + "Z" * (settings.MAX_EVENT_BYTES + 1)
    await tab.send(f"{ITEMS}.search_rows", {"text": marker}, "/items")
    await asyncio.wait_for(tab.closed.wait(), 10)
    logged = log_since(ui_backend, start)
    assert "oversized-marker" not in logged
    assert f"over {settings.MAX_EVENT_BYTES}" in logged
    await tab.close()


# 8. Security headers -----------------------------------------------------------------------


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def test_every_answer_carries_the_security_headers(ui_backend: LiveBackend) -> None:
    with httpx.Client(base_url=ui_backend.url) as client:
        for path in (f"{API}/utils/health-check/", f"{API}/users/me", "/api/ping", "/api/docs"):
            response = client.get(path)
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (path, name)
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert "strict-transport-security" not in response.headers
        behind_tls = client.get("/api/ping", headers={"X-Forwarded-Proto": "https"})
        assert behind_tls.headers["strict-transport-security"].startswith("max-age=")


# 9. The session does not outlive the tab ---------------------------------------------------


async def test_a_closed_tabs_state_expires(
    expiring_backend: LiveBackend, session: AsyncSession, normal_user: Account
) -> None:
    owner = await users.get_user_by_email(session, normal_user.email)
    assert owner is not None
    item = await create_item(session, owner, "expiring-item-title")
    tab = Tab(expiring_backend.url)
    await tab.open("/items", token_of(normal_user))
    await tab.wait_for(ITEMS, "rows", lambda rows: item.title in str(rows))
    await tab.close()
    await asyncio.sleep(6)
    # Even with the right token, the page's rows are read again, not kept.
    await tab.open("/", token_of(normal_user))
    await asyncio.sleep(0.5)
    assert item.title not in tab.text()
    await tab.close()


def test_the_backend_log_holds_no_token(ui_backend: LiveBackend) -> None:
    # Last in the module: every test above ran against this backend, and logged.
    logged = ui_backend.log.read_text(errors="replace")
    assert "eyJ" not in logged
    assert Tab.client_tokens
    assert not [token for token in Tab.client_tokens if token in logged]
