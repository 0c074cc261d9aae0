"""Live tables across replicas: two Chromium contexts behind the proxy, each with its
websocket on a different backend, notices through the stack's Redis.

A change made through the REST API, in the other context's UI, or by an admin shows
in the first context's Items table within a second; another user's rows never reach
it, neither on the page nor in a websocket frame.
"""

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psutil
import pytest
from playwright.async_api import BrowserContext, Page, WebSocket, async_playwright, expect

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.deploy.conftest import Server, Stack
from tests.deploy.test_stack import websocket_backend
from tests.factories import random_email
from tests.skip_policy import require_chromium
from tests.ui.browser import add_item, store_token

pytestmark = pytest.mark.ui
WITHIN_MS = 1000


def token_for(stack: Stack, email: str, password: str) -> str:
    response = httpx.post(
        f"{stack.url}/api/v1/login/access-token",
        data={"username": email, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def websocket_ports(stack: Stack) -> list[int]:
    """The backend port of every connection established to a backend (the proxy opens
    one per request otherwise, so what stays is the websockets)."""
    ports = {backend.port for backend in stack.backends}
    return [
        connection.laddr.port
        for connection in psutil.net_connections(kind="tcp")
        # (psutil types an address as possibly an empty tuple)
        if connection.status == psutil.CONN_ESTABLISHED
        and connection.laddr
        and connection.laddr.port in ports
    ]


class Frames:
    """Every websocket frame a context received."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def attach(self, page: Page) -> None:
        def on_socket(socket: WebSocket) -> None:
            socket.on("framereceived", lambda payload: self.received.append(str(payload)))

        page.on("websocket", on_socket)

    def text(self) -> str:
        return "\n".join(self.received)


async def open_items(context: BrowserContext, token: str, frames: Frames | None = None) -> Page:
    page = await context.new_page()
    if frames is not None:
        frames.attach(page)
    await store_token(page, token)
    await page.goto("/items")
    await expect(page.get_by_role("button", name="Add Item")).to_be_visible()
    return page


async def on_different_backends(stack: Stack, second: Page) -> None:
    """Reload the second page until the two websockets are held by different backends
    (the proxy deals connections out in turn)."""
    deadline = time.monotonic() + 30
    while True:
        await asyncio.sleep(0.3)
        ports = websocket_ports(stack)
        if len(ports) == 2 and len(set(ports)) == 2:
            return
        assert time.monotonic() < deadline, f"websockets on {ports}"
        await second.reload()
        await expect(second.get_by_role("button", name="Add Item")).to_be_visible()


async def shows_within_a_second(
    page: Page, write: Callable[[], Awaitable[Any]], check: Callable[[Page], Awaitable[None]]
) -> None:
    await write()
    answered = time.monotonic()
    await check(page)
    elapsed = time.monotonic() - answered
    assert elapsed < WITHIN_MS / 1000, f"shown after {elapsed:.2f} s"


async def test_changes_from_anywhere_show_in_an_open_table_on_another_backend(
    stack: Stack,
) -> None:
    require_chromium()
    email, password = random_email(), "live-tables-password"
    stack.create_user(email, password)
    other_email = random_email()
    stack.create_user(other_email, password)
    owner_token = token_for(stack, email, password)
    owner_headers = {"Authorization": f"Bearer {owner_token}"}
    other_headers = {"Authorization": f"Bearer {token_for(stack, other_email, password)}"}
    admin_headers = stack.superuser_headers()
    frames = Frames()

    async with (
        async_playwright() as playwright,
        httpx.AsyncClient(base_url=f"{stack.url}/api/v1", timeout=30) as api,
    ):

        async def call(method: str, path: str, headers: dict[str, str], **body: Any) -> Any:
            response = await api.request(method, path, headers=headers, **body)
            assert response.status_code == 200, response.text
            return response.json()

        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        watching_context = await browser.new_context(base_url=stack.url)
        acting_context = await browser.new_context(base_url=stack.url)
        for context in (watching_context, acting_context):
            context.set_default_timeout(20_000)
        try:
            watching = await open_items(watching_context, owner_token, frames)
            acting = await open_items(acting_context, owner_token)
            await on_different_backends(stack, acting)
            rows = watching.locator("tbody tr")

            # A REST create, update and delete by the owner.
            created: dict[str, Any] = {}

            async def create() -> None:
                created.update(
                    await call("POST", "/items/", owner_headers, json={"title": "Via REST"})
                )

            await shows_within_a_second(
                watching,
                create,
                lambda page: expect(rows.filter(has_text="Via REST")).to_be_visible(
                    timeout=WITHIN_MS
                ),
            )
            path = f"/items/{created['id']}"
            await shows_within_a_second(
                watching,
                lambda: call("PUT", path, owner_headers, json={"title": "Edited via REST"}),
                lambda page: expect(rows.filter(has_text="Edited via REST")).to_be_visible(
                    timeout=WITHIN_MS
                ),
            )
            await shows_within_a_second(
                watching,
                lambda: call("DELETE", path, owner_headers),
                lambda page: expect(rows.filter(has_text="Edited via REST")).to_have_count(
                    0, timeout=WITHIN_MS
                ),
            )

            # A change made in the other context's UI (its websocket on the other backend).
            await shows_within_a_second(
                watching,
                lambda: add_item(acting, "Made in the other tab"),
                lambda page: expect(rows.filter(has_text="Made in the other tab")).to_be_visible(
                    timeout=WITHIN_MS
                ),
            )

            # An admin's change to the owner's item.
            listed = await call("GET", "/items/", owner_headers)
            item_id = next(
                item["id"] for item in listed["data"] if item["title"] == "Made in the other tab"
            )
            await shows_within_a_second(
                watching,
                lambda: call(
                    "PUT", f"/items/{item_id}", admin_headers, json={"title": "Fixed by the admin"}
                ),
                lambda page: expect(rows.filter(has_text="Fixed by the admin")).to_be_visible(
                    timeout=WITHIN_MS
                ),
            )

            # Another user's write is never sent to the owner's table: once the owner's
            # later write has arrived, the other one had every chance to.
            await call("POST", "/items/", other_headers, json={"title": "Someone else's secret"})
            await call("POST", "/items/", owner_headers, json={"title": "The owner's next"})
            await expect(rows.filter(has_text="The owner's next")).to_be_visible()
            await expect(rows).to_have_count(2)
            assert "Someone else's secret" not in await watching.content()
            assert "The owner's next" in frames.text()
            assert "Someone else's secret" not in frames.text()
        finally:
            await watching_context.close()
            await acting_context.close()
            await browser.close()


async def test_a_table_is_live_again_after_its_backend_dies(stack: Stack) -> None:
    """The replica holding the tab's websocket is killed: the tab reconnects to the other
    one, reads its page again and registers there, and writes show as before."""
    require_chromium()
    email, password = random_email(), "live-failover-password"
    stack.create_user(email, password)
    token = token_for(stack, email, password)
    headers = {"Authorization": f"Bearer {token}"}
    killed: list[Server] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = await browser.new_context(base_url=stack.url)
        context.set_default_timeout(20_000)
        try:
            frames = Frames()
            page = await open_items(context, token, frames)
            rows = page.locator("tbody tr")
            deadline = time.monotonic() + 20
            while (victim := websocket_backend(stack)) is None:
                assert time.monotonic() < deadline, "no single backend holds the websocket"
                await asyncio.sleep(0.2)
            survivor = next(backend for backend in stack.backends if backend is not victim)
            killed.append(victim)
            before = len(frames.received)
            victim.stop(signal.SIGKILL)
            # Reconnected, and the page's rows read again there (which registers it).
            deadline = time.monotonic() + 30
            while websocket_backend(stack) is not survivor or not any(
                "rows_rx_state_" in frame for frame in frames.received[before:]
            ):
                assert time.monotonic() < deadline, "the tab did not reconnect and reload"
                await asyncio.sleep(0.2)

            async with httpx.AsyncClient(base_url=f"{stack.url}/api/v1", timeout=30) as api:

                async def create() -> None:
                    response = await api.post(
                        "/items/", headers=headers, json={"title": "After the restart"}
                    )
                    assert response.status_code == 200, response.text

                await shows_within_a_second(
                    page,
                    create,
                    lambda page: expect(rows.filter(has_text="After the restart")).to_be_visible(
                        timeout=WITHIN_MS
                    ),
                )
        finally:
            await context.close()
            await browser.close()
            for backend in killed:
                await asyncio.to_thread(
                    backend.restart, f"http://127.0.0.1:{backend.port}/api/ping"
                )
            if killed:
                await asyncio.to_thread(proxy_uses_every_backend, stack)


def proxy_uses_every_backend(stack: Stack) -> None:
    """The proxy skips a backend that failed for 30 s (max_fails=1): a reload forgets the
    failure, so later tests see both backends in turn again."""
    os.kill(stack.proxy.process.pid, signal.SIGHUP)
    wanted = {f"upstream=127.0.0.1:{backend.port}" for backend in stack.backends}
    deadline = time.monotonic() + 40
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        while True:
            before = stack.access_log.read_text().count("\n")
            for _ in range(4):
                client.get("/api/v1/utils/health-check/")
            lines = stack.access_log.read_text().splitlines()[before:]
            if all(any(line.endswith(port) for line in lines) for port in wanted):
                return
            assert time.monotonic() < deadline, f"the proxy does not use every backend: {lines}"
            time.sleep(0.5)
