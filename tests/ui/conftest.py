"""The app in prod mode (one port) on the run's database, a mail catcher, and Chromium.

One server and one browser serve the whole session; every test gets a fresh browser
context (its own localStorage, so its own Reflex session) and leaves the tables empty
(tests/conftest.py does that). Without /usr/bin/chromium every browser test here skips
(and fails in CI).
"""

import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from app.core.config import settings
from devtools import oidc as local_oidc
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.servers import (
    reflex_prod,
    serve_on_free_port,
    start_logged,
    stop_process_group,
    tool_path,
    wait_until_ok,
)
from tests.emails.conftest import BoundController, Mailbox, loopback_listener
from tests.skip_policy import require_chromium

# The app answers over a websocket on a shared 2-core machine: allow for slow moments.
expect.set_options(timeout=15_000)
START_TIMEOUT = 300
# The one footer link this run configures (X and LinkedIn stay unset, so hidden).
GITHUB_URL = "https://github.com/example/full-stack-reflex"


@dataclass
class MailCatcher:
    mailbox: Mailbox
    port: int


@dataclass
class UiApp:
    url: str
    log: Path
    mail: Mailbox


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    """A real SMTP server the app process delivers to (what Mailcatcher is in compose)."""
    mailbox = Mailbox()
    controller = BoundController(mailbox, loopback_listener())
    controller.start()
    yield MailCatcher(mailbox, controller.port)
    controller.stop()


def run_ui_app(
    database: str,
    mail_catcher: MailCatcher,
    work: Path,
    issuer: str | None = None,
    **settings_env: str,
) -> Iterator[UiApp]:
    """`reflex run --env prod` (frontend and backend on one port) in its own process
    group, with its build, states and log in `work`, as long as the generator runs; with
    `issuer`, that OpenID provider as sign-on provider "test" ("Test IdP")."""
    log = work / "reflex.log"

    def start(port: int) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PATH": tool_path(),
            "REFLEX_USE_SYSTEM_BUN": "1",
            "REFLEX_TELEMETRY_ENABLED": "false",
            # Its own build and state folders, so a dev server or tests/live can run meanwhile.
            "REFLEX_WEB_WORKDIR": str(work / "web"),
            "REFLEX_STATES_WORKDIR": str(work / "states"),
            "DATABASE_URL": database,
            "SECRET_KEY": settings.SECRET_KEY,
            # Reset links in the emails point at this server.
            "FRONTEND_HOST": f"http://127.0.0.1:{port}",
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail_catcher.port),
            "SMTP_TLS": "false",
            "SMTP_SSL": "false",
            "EMAILS_FROM_EMAIL": "info@example.com",
            "SOCIAL_GITHUB_URL": GITHUB_URL,
            "SOCIAL_X_URL": "",
            "SOCIAL_LINKEDIN_URL": "",
            **settings_env,
        }
        if issuer:
            provider = {"name": "test", "display_name": "Test IdP", "issuer": issuer,
                        "client_id": local_oidc.CLIENT_ID,
                        "client_secret": local_oidc.CLIENT_SECRET}  # fmt: skip
            env["OIDC_PROVIDERS"] = json.dumps([provider])
            env["OIDC_CALLBACK_ORIGIN"] = f"http://127.0.0.1:{port}"
        return start_logged(reflex_prod(port), env, log)

    # The backend answers first; the pages once the production build is done.
    process, port = serve_on_free_port(
        start, lambda port: f"http://127.0.0.1:{port}/api/ping", log, START_TIMEOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(process, f"{url}/login", log, START_TIMEOUT)
        yield UiApp(url, log, mail_catcher.mailbox)
    finally:
        stop_process_group(process)


@pytest.fixture(scope="session")
def ui_app(
    database: str,
    mail_catcher: MailCatcher,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[UiApp]:
    """The app the browser tests use, with the local OpenID provider when it can run here
    (tests/ui/test_sso.py asks for it, and skips or fails without)."""
    require_chromium()
    issuer = None if local_oidc.missing() else request.getfixturevalue("oidc_provider").issuer
    yield from run_ui_app(database, mail_catcher, tmp_path_factory.mktemp("ui-app"), issuer)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


async def new_page(browser: Browser, app: UiApp) -> AsyncIterator[Page]:
    """A new tab on `app` in a fresh context: empty localStorage, so a new Reflex session."""
    context = await browser.new_context(base_url=app.url, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(15_000)
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
async def page(browser: Browser, ui_app: UiApp) -> AsyncIterator[Page]:
    async for page in new_page(browser, ui_app):
        yield page
