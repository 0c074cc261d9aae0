"""The app in prod mode with its own redis-server as the UI's state store, in Chromium:
Redis down and back (the page stays, says why, and comes back by itself; the outage is
logged once when it begins and once when it ends), and a tab whose state the tab caps
dropped (it reconnects by itself and works as on a first visit)."""

import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from app.ui.state_store import DETAIL, MESSAGE
from devtools.reflex_socket import ROOT_STATE
from devtools.servers import (
    redis_answers,
    redis_server,
    serve_on_free_port,
    start_logged,
    stop_process_group,
    wait_until_ok,
)
from tests.conftest import Account
from tests.live.reflex_tab import Tab
from tests.skip_policy import require_chromium
from tests.ui.browser import expect_toast, needs_chromium, sign_in_as
from tests.ui.conftest import MailCatcher, UiApp, new_page, run_ui_app

pytestmark = needs_chromium
PER_ADDRESS = 3


@dataclass
class PrivateRedis:
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process_group(self.process)

    def start(self) -> None:
        self.process = start_logged(redis_server(self.port), {}, self.log)
        wait_until_ok(self.process, self.url, self.log, 30, "redis-server", probe=redis_answers)


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    process, port = serve_on_free_port(
        lambda port: start_logged(redis_server(port), {}, log),
        lambda port: f"redis://127.0.0.1:{port}/0",
        log,
        30,
        "redis-server",
        probe=redis_answers,
    )
    server = PrivateRedis(port, log, process)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_app(
    database: str,
    mail_catcher: MailCatcher,
    private_redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[UiApp]:
    require_chromium()
    yield from run_ui_app(
        database,
        mail_catcher,
        tmp_path_factory.mktemp("redis-app"),
        REDIS_URL=private_redis.url,
        # One worker: its log holds the whole outage, said once, and it holds every tab.
        GRANIAN_WORKERS="1",
        TAB_STATES_PER_ADDRESS=str(PER_ADDRESS),
    )


@pytest.fixture
async def page(browser: Browser, redis_app: UiApp) -> AsyncIterator[Page]:
    """A new tab on this module's app (tests/ui/conftest.py's is on ui_app)."""
    async for page in new_page(browser, redis_app):
        yield page


async def test_a_redis_outage_keeps_the_page_says_why_and_ends_by_itself(
    redis_app: UiApp, private_redis: PrivateRedis, page: Page, normal_user: Account
) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    heading = page.get_by_role("heading", name="Items", exact=True)
    add_item = page.get_by_role("button", name="Add Item")
    await expect(heading).to_be_visible()
    await expect(add_item).to_be_enabled()
    logged_before = redis_app.log.stat().st_size
    private_redis.stop()
    try:
        await add_item.click()
        await expect_toast(page, MESSAGE)
        await expect(page.get_by_text(DETAIL)).to_be_visible()
        await expect(heading).to_be_visible()
        await expect(page.get_by_role("dialog")).to_be_hidden()
        # A page loaded during the outage cannot show its data, but says why.
        await page.reload()
        await expect_toast(page, MESSAGE)
    finally:
        private_redis.start()
    # Back: the toast goes and the page comes alive, with no reload by anyone.
    await expect(page.get_by_text(MESSAGE)).to_be_hidden()
    await expect(heading).to_be_visible()
    await add_item.click()
    await expect(page.get_by_role("dialog")).to_be_visible()
    with redis_app.log.open("rb") as log:
        log.seek(logged_before)
        lines = log.read().decode(errors="replace")
    assert lines.count("state store (Redis) cannot be reached") == 1
    assert lines.count("state store answers again") == 1
    assert "A UI event failed" not in lines
    assert "An error occurred" not in await page.content()


async def test_a_browser_tab_whose_state_was_dropped_comes_back_and_logs_in(
    redis_app: UiApp, page: Page, normal_user: Account
) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await page.goto("/login")
    log_in = page.get_by_role("button", name="Log In")
    await expect(log_in).to_be_enabled()
    assert len(sockets) == 1
    # Anonymous tabs from the same address, until the cap drops the browser's (the
    # oldest, once those of earlier tests are gone): it reconnects by itself.
    crowd: list[Tab] = []
    try:
        while len(sockets) == 1:
            assert len(crowd) < 4 * PER_ADDRESS, "the browser's tab was never dropped"
            tab = Tab(redis_app.url)
            crowd.append(tab)
            await tab.open("/login")
            await tab.wait_for(ROOT_STATE, "is_hydrated", lambda value: value is True)
            await page.wait_for_timeout(300)
        await expect(log_in).to_be_enabled()
        await page.get_by_test_id("email-input").fill(normal_user.email)
        await page.get_by_test_id("password-input").fill(normal_user.password)
        await log_in.click()
        await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
    finally:
        for tab in crowd:
            await tab.close()
    assert "Traceback" not in redis_app.log.read_text()
