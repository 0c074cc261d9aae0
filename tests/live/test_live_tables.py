"""Live tables over the real backend's websocket: a write made through the REST API shows
in an open tab's table (one process, notices handed out in process, no Redis)."""

import asyncio
import time
from collections.abc import Awaitable, Iterator
from typing import Any

import httpx
import pytest

from app.core.config import settings
from app.ui.state.admin import USER_DELETED_ELSEWHERE
from app.ui.state.items import ItemsState
from app.ui.table.dialogs import CHANGED_ELSEWHERE
from tests.conftest import Account, login_headers
from tests.factories import random_email
from tests.live.conftest import LiveBackend, run_own_backend
from tests.live.reflex_tab import ADMIN, AUTH, ITEMS, Tab
from tests.live.test_metrics import sample

API = settings.API_V1_STR
pytestmark = pytest.mark.live
ON_LOAD_INTERNAL = (
    "reflex___state____state.reflex___state____on_load_internal_state.on_load_internal"
)
# The live updates must come within a second; the wait allows for a busy machine.
WITHIN = 1.0


@pytest.fixture(scope="module")
def backend(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    yield from run_own_backend(database, tmp_path_factory, "live-tables")


def token_of(account: Account) -> str:
    return account.headers["Authorization"].removeprefix("Bearer ")


def titles(rows: list[dict[str, Any]]) -> list[str]:
    return [row["cells"]["title"] for row in rows]


async def items_tab(backend: LiveBackend, account: Account) -> Tab:
    tab = Tab(backend.url)
    await tab.open("/items", token_of(account))
    await tab.wait_for(ITEMS, "loaded", bool)
    return tab


async def rest(
    backend: LiveBackend, method: str, path: str, account: Account, **kwargs: Any
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        response = await client.request(method, f"{API}{path}", headers=account.headers, **kwargs)
    assert response.status_code == 200, response.text
    return response


async def shows(
    tab: Tab, state: str, var: str, check: Any, write: Awaitable[httpx.Response]
) -> httpx.Response:
    """Make `write`; the tab must then receive a value of `state.var` passing `check`
    within WITHIN seconds of the write's response."""
    seen = len(tab.values(state, var))
    response = await write
    answered = time.monotonic()
    await tab.wait_for(state, var, check, after=seen)
    assert time.monotonic() - answered < WITHIN, "the update came late"
    return response


async def test_rest_create_update_delete_show_in_the_open_table(
    backend: LiveBackend, normal_user: Account
) -> None:
    tab = await items_tab(backend, normal_user)
    try:
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "Live one"})
        response = await shows(tab, ITEMS, "rows", lambda r: titles(r) == ["Live one"], create)
        assert tab.values(ITEMS, "total")[-1] == 1
        item_id = response.json()["id"]
        update = rest(backend, "PUT", f"/items/{item_id}", normal_user, json={"title": "Live two"})
        await shows(tab, ITEMS, "rows", lambda r: titles(r) == ["Live two"], update)
        delete = rest(backend, "DELETE", f"/items/{item_id}", normal_user)
        await shows(tab, ITEMS, "rows", lambda rows: rows == [], delete)
        assert tab.values(ITEMS, "total")[-1] == 0
    finally:
        await tab.close()


async def test_another_users_rows_never_reach_the_tab(
    backend: LiveBackend, normal_user: Account, other_user: Account
) -> None:
    tab = await items_tab(backend, normal_user)
    try:
        await rest(backend, "POST", "/items/", other_user, json={"title": "Not yours"})
        # A write of the tab's own user afterwards: once it shows, the other one had its chance.
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "Yours"})
        await shows(tab, ITEMS, "rows", lambda rows: titles(rows) == ["Yours"], create)
        assert "Not yours" not in tab.text()
    finally:
        await tab.close()


async def test_superusers_table_shows_every_users_writes(
    backend: LiveBackend, superuser: Account, normal_user: Account
) -> None:
    tab = await items_tab(backend, superuser)
    try:
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "Anyone's"})
        await shows(tab, ITEMS, "rows", lambda rows: "Anyone's" in titles(rows), create)
    finally:
        await tab.close()


async def test_a_page_past_the_end_after_deletions_elsewhere_shows_the_last_page(
    backend: LiveBackend, normal_user: Account
) -> None:
    ids = []
    for number in range(6):
        response = await rest(
            backend, "POST", "/items/", normal_user, json={"title": f"Row {number}"}
        )
        ids.append(response.json()["id"])
    tab = await items_tab(backend, normal_user)
    try:
        await tab.send(f"{ITEMS}.change_page_size", {"size": "5"}, "/items")
        await tab.send(f"{ITEMS}.load_page", {"page": 2}, "/items")
        await tab.wait_for(ITEMS, "rows", lambda rows: titles(rows) == ["Row 0"])
        # The only row of page 2 goes: the tab clamps to page 1 and shows its rows.
        delete = rest(backend, "DELETE", f"/items/{ids[0]}", normal_user)
        await shows(tab, ITEMS, "page", lambda page: page == 1, delete)
        assert titles(tab.values(ITEMS, "rows")[-1]) == [f"Row {n}" for n in range(5, 0, -1)]
    finally:
        await tab.close()


async def test_an_open_edit_dialog_says_its_row_changed_and_closes_when_it_is_deleted(
    backend: LiveBackend, normal_user: Account
) -> None:
    response = await rest(backend, "POST", "/items/", normal_user, json={"title": "Editing"})
    item_id = response.json()["id"]
    tab = await items_tab(backend, normal_user)
    try:
        await tab.send(f"{ITEMS}.open_edit", {"row_id": item_id}, "/items")
        await tab.wait_for(ITEMS, "edit_open", bool)
        # Another row's news refreshes the table but leaves the dialog alone.
        other = rest(backend, "POST", "/items/", normal_user, json={"title": "Unrelated"})
        await shows(tab, ITEMS, "rows", lambda rows: "Unrelated" in titles(rows), other)
        assert not any(tab.values(ITEMS, "changed_elsewhere"))
        update = rest(backend, "PUT", f"/items/{item_id}", normal_user, json={"title": "Changed"})
        await shows(tab, ITEMS, "changed_elsewhere", lambda t: t == CHANGED_ELSEWHERE, update)
        # What the dialog opened with stays, so a save is the user's knowing choice.
        assert tab.values(ITEMS, "selected")[-1]["cells"]["title"] == "Editing"
        delete = rest(backend, "DELETE", f"/items/{item_id}", normal_user)
        await shows(tab, ITEMS, "edit_open", lambda is_open: is_open is False, delete)
        assert ItemsState._entity.deleted_elsewhere in tab.text()
    finally:
        await tab.close()


async def test_the_dashboard_greeting_follows_a_name_change(
    backend: LiveBackend, normal_user: Account
) -> None:
    tab = Tab(backend.url)
    try:
        await tab.open("/", token_of(normal_user))
        await tab.wait_for(AUTH, "user", lambda user: user["id"] == normal_user.id)
        rename = rest(backend, "PATCH", "/users/me", normal_user, json={"full_name": "Renamed"})
        await shows(tab, AUTH, "user", lambda user: user["display_name"] == "Renamed", rename)
    finally:
        await tab.close()


async def test_a_tab_on_another_page_gets_nothing(
    backend: LiveBackend, normal_user: Account
) -> None:
    moved = await items_tab(backend, normal_user)
    watching = await items_tab(backend, normal_user)
    try:
        # The first tab moves on to the settings page: its Items table is no longer on show.
        await moved.send(ON_LOAD_INTERNAL, {}, "/settings")
        await moved.wait_for(AUTH, "user", lambda user: user["id"] == normal_user.id)
        before = len(moved.values(ITEMS, "rows"))
        # Both tabs' refreshes would be queued by the same notice: once the tab still on
        # /items has it, the other one would have had it too.
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "Unseen"})
        await shows(watching, ITEMS, "rows", lambda rows: "Unseen" in titles(rows), create)
        assert len(moved.values(ITEMS, "rows")) == before
        assert "Unseen" not in moved.text()
    finally:
        await moved.close()
        await watching.close()


async def test_the_admin_table_shows_accounts_made_and_removed_elsewhere(
    backend: LiveBackend, superuser: Account
) -> None:
    tab = Tab(backend.url)
    try:
        await tab.open("/admin", token_of(superuser))
        await tab.wait_for(ADMIN, "loaded", bool)
        email = random_email()
        create = rest(
            backend, "POST", "/users/", superuser, json={"email": email, "password": "x" * 10}
        )
        response = await shows(tab, ADMIN, "users", lambda rows: email in str(rows), create)
        await tab.send(f"{ADMIN}.open_delete", {"row_id": response.json()["id"]}, "/admin")
        await tab.wait_for(ADMIN, "delete_open", bool)
        delete = rest(backend, "DELETE", f"/users/{response.json()['id']}", superuser)
        await shows(tab, ADMIN, "delete_open", lambda is_open: is_open is False, delete)
        assert email not in str(tab.values(ADMIN, "users")[-1])
        assert USER_DELETED_ELSEWHERE in tab.text()
    finally:
        await tab.close()


async def test_a_closed_tab_is_forgotten(backend: LiveBackend, normal_user: Account) -> None:
    closed = await items_tab(backend, normal_user)
    await closed.close()
    offset = backend.log.stat().st_size
    watching = await items_tab(backend, normal_user)
    try:
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "After close"})
        await shows(watching, ITEMS, "rows", lambda rows: "After close" in titles(rows), create)
    finally:
        await watching.close()
    with backend.log.open("rb") as log:
        log.seek(offset)
        # Reflex's word for a delta sent after a tab's socket: the closed tab got no refresh.
        assert b"disconnected client" not in log.read()


async def shared_reads(backend: LiveBackend) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        text = (await client.get("/api/metrics")).text
    return {
        read: sample(text, "live_refresh_reads_total", read=read, answer="shared")
        for read in ("caller", "page")
    }


async def shared_since(backend: LiveBackend, before: dict[str, float]) -> dict[str, float]:
    """What more was shared, once it shows: each worker writes its counts once a second."""
    for _ in range(25):
        now = await shared_reads(backend)
        if now != before:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.2)
    now = await shared_reads(backend)
    return {read: now[read] - before[read] for read in now}


async def test_tabs_of_one_session_share_the_caller_and_the_page_they_both_show(
    backend: LiveBackend, normal_user: Account
) -> None:
    first, second, searching = [await items_tab(backend, normal_user) for _ in range(3)]
    try:
        await searching.send(f"{ITEMS}.search_rows", {"text": "nothing like it"}, "/items")
        await searching.wait_for(ITEMS, "rows", lambda rows: rows == [])
        before = await shared_reads(backend)
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "For both"})
        await shows(first, ITEMS, "rows", lambda rows: titles(rows)[:1] == ["For both"], create)
        await second.wait_for(ITEMS, "rows", lambda rows: titles(rows)[:1] == ["For both"])
        # The searching tab shows another page of the list: it read its own.
        assert "For both" not in searching.text()
        assert await shared_since(backend, before) == {"caller": 2, "page": 1}
    finally:
        for tab in (first, second, searching):
            await tab.close()


async def login_token(backend: LiveBackend, account: Account) -> str:
    """A new session of the account: a login of its own."""
    async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
        headers = await login_headers(client, account.email, account.password)
    return headers["Authorization"].removeprefix("Bearer ")


async def test_another_session_of_the_user_looks_itself_up_and_shares_the_page(
    backend: LiveBackend, normal_user: Account
) -> None:
    other_session = await login_token(backend, normal_user)
    mine = await items_tab(backend, normal_user)
    theirs = Tab(backend.url)
    await theirs.open("/items", other_session)
    await theirs.wait_for(ITEMS, "loaded", bool)
    try:
        before = await shared_reads(backend)
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "Both sessions"})
        await shows(mine, ITEMS, "rows", lambda rows: "Both sessions" in titles(rows), create)
        await theirs.wait_for(ITEMS, "rows", lambda rows: "Both sessions" in titles(rows))
        assert await shared_since(backend, before) == {"caller": 0, "page": 1}
        # Its session ends: its tab is not given the next write's rows from the other's read.
        async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
            ended = await client.post(
                f"{API}/logout", headers={"Authorization": f"Bearer {other_session}"}
            )
        assert ended.status_code == 200, ended.text
        create = rest(backend, "POST", "/items/", normal_user, json={"title": "After logout"})
        await shows(mine, ITEMS, "rows", lambda rows: "After logout" in titles(rows), create)
        await asyncio.sleep(WITHIN)
        assert "After logout" not in theirs.text()
    finally:
        await mine.close()
        await theirs.close()
