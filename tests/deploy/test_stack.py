"""The whole stack behind the proxy: smoke tests, static fallbacks, round robin, failover.

The failover test kills a backend and starts it again before it ends, so the tests
here and elsewhere in the package see both backends whatever order they run in.
"""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
import redis
from playwright.async_api import async_playwright, expect

from app.core.config import PROJECT_ROOT
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.deploy.conftest import Server, Stack
from tests.factories import random_email
from tests.skip_policy import require_chromium
from tests.ui.browser import add_item


def run_smoke(stack: Stack, email: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMOKE_USER_EMAIL": email, "SMOKE_USER_PASSWORD": password}
    return subprocess.run(
        [sys.executable, "scripts/deploy/smoke.py", stack.url, "--retries", "2", "--delay", "1"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_smoke_script_passes_through_the_proxy(stack: Stack) -> None:
    email, password = random_email(), "smoke-user-password"
    stack.create_user(email, password)
    result = run_smoke(stack, email, password)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("health", "frontend", "login", "websocket"):
        assert re.search(rf"PASS  {check}\b", result.stdout), result.stdout
    assert "4 passed, 0 failed" in result.stdout


def test_smoke_script_fails_on_a_wrong_password(stack: Stack) -> None:
    email = random_email()
    stack.create_user(email, "the-right-password")
    result = run_smoke(stack, email, "a-wrong-password")
    assert result.returncode == 1
    assert re.search(r"FAIL  login\b", result.stdout), result.stdout
    assert "3 passed, 1 failed: login" in result.stdout


def test_client_side_routes_fall_back_like_the_frontend_image(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        for path in ("/", "/login", "/items", "/items/", "/signup"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html"), path
            assert page.headers["cache-control"] == "no-cache", path
        # Unknown paths: the SPA fallback (404.html) with status 404.
        unknown = client.get("/no/such/page")
        assert unknown.status_code == 404
        assert unknown.text == (stack.static_root / "404.html").read_text()


def test_static_files_are_compressed_cached_and_carry_security_headers(stack: Stack) -> None:
    asset = next(stack.static_root.glob("assets/*.js"))
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        response = client.get(f"/assets/{asset.name}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        # The precompressed file that `reflex export` wrote is what was sent.
        gz = asset.with_name(asset.name + ".gz")
        assert int(response.headers["content-length"]) == gz.stat().st_size
        assert response.content == asset.read_bytes()
        page = client.get("/login")
        for header, value in {
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": "strict-origin-when-cross-origin",
        }.items():
            assert page.headers[header] == value
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_metrics_are_not_routed_from_outside(stack: Stack) -> None:
    """Like the Traefik rule: Prometheus scrapes each backend directly, the proxy never."""
    outside = httpx.get(f"{stack.url}/api/metrics", timeout=10)
    assert outside.status_code == 404
    assert "http_requests_total" not in outside.text
    inside = httpx.get(f"http://127.0.0.1:{stack.backends[0].port}/api/metrics", timeout=10)
    assert inside.status_code == 200 and "http_requests_total" in inside.text


def test_api_requests_are_spread_over_both_backends(stack: Stack) -> None:
    before = stack.access_log.read_text().count("\n")
    with httpx.Client(base_url=stack.url, timeout=10) as client:
        for _ in range(8):
            assert client.get("/api/v1/utils/health-check/").json() is True
    lines = stack.access_log.read_text().splitlines()[before:]
    used = {
        match.group(1)
        for line in lines
        if (match := re.search(r"health-check/ 200 upstream=127\.0\.0\.1:(\d+)$", line))
    }
    assert used == {str(backend.port) for backend in stack.backends}


def websocket_backend(stack: Stack) -> Server | None:
    """The backend the browser's websocket is proxied to (the one long-lived connection)."""
    ports = {backend.port: backend for backend in stack.backends if backend.alive}
    holders = {
        connection.laddr.port
        for connection in psutil.net_connections(kind="tcp")
        # (psutil types an address as possibly an empty tuple)
        if connection.status == psutil.CONN_ESTABLISHED
        and connection.laddr
        and connection.laddr.port in ports
    }
    return ports[holders.pop()] if len(holders) == 1 else None


@pytest.mark.ui
async def test_browser_session_survives_losing_a_backend(stack: Stack) -> None:
    """Log in, use /items, kill the backend holding the websocket, keep going on the other."""
    require_chromium()
    email, password = random_email(), "failover-password"
    stack.create_user(email, password)
    killed: list[Server] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = await browser.new_context(
            base_url=stack.url, viewport={"width": 1440, "height": 900}
        )
        context.set_default_timeout(20_000)
        page = await context.new_page()
        try:
            await page.goto("/login")
            await page.get_by_test_id("email-input").fill(email)
            await page.get_by_test_id("password-input").fill(password)
            await page.get_by_role("button", name="Log In").click()
            await expect(page).not_to_have_url(re.compile(r"/login/?$"), timeout=20_000)
            await page.goto("/items")
            await expect(page.get_by_role("button", name="Add Item")).to_be_visible()
            await add_item(page, "Made before the failover")

            # The UI state lives in Redis, not in the backend process.
            keys = redis.Redis.from_url(stack.redis_url).dbsize()
            assert isinstance(keys, int) and keys > 0

            deadline = time.monotonic() + 20
            while (victim := websocket_backend(stack)) is None:
                assert time.monotonic() < deadline, "no single backend holds the websocket"
                await asyncio.sleep(0.2)
            survivor = next(backend for backend in stack.backends if backend is not victim)
            killed.append(victim)
            victim.stop(signal.SIGKILL)
            assert not victim.alive and survivor.alive

            # Same page, same session: no new login, the socket reconnects to the survivor.
            await add_item(page, "Made after the failover")
            await expect(page.locator("tbody tr").filter(has_text="before the")).to_be_visible()
            assert re.search(r"/items/?$", page.url), page.url
            await expect(page.get_by_test_id("email-input")).to_have_count(0)
            assert websocket_backend(stack) is survivor
            # And a reload is served too, still signed in.
            await page.reload()
            await expect(page.locator("tbody tr").filter(has_text="after the")).to_be_visible()
            assert re.search(r"/items/?$", page.url), page.url
        finally:
            await context.close()
            await browser.close()
            for backend in killed:
                await asyncio.to_thread(
                    backend.restart, f"http://127.0.0.1:{backend.port}/api/ping"
                )
