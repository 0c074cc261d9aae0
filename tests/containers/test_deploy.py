"""Rolling deploys with scripts/deploy/deploy.sh while the stack is under load: nothing fails.

A load generator sends API requests through the proxy (a login-free health check, an
authenticated read and a write) and a Chromium session adds items through the Reflex UI
(events over the websocket) for the whole deploy. Deploying a new tag must leave every
replica on it with zero failed requests; deploying a tag whose backend cannot start must
roll back by itself (exit 1), with the old version serving and again zero failures.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from playwright.async_api import Page, async_playwright, expect

from app.core.config import PROJECT_ROOT
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.containers.conftest import FIGURES, Stack, podman
from tests.factories import random_email
from tests.skip_policy import require_chromium
from tests.ui.browser import add_item


@dataclass
class Load:
    sent: int = 0
    failed: list[str] = field(default_factory=list)


async def generate_load(stack: Stack, token: str, stop: asyncio.Event, load: Load) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    async def worker(number: int) -> None:
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    if load.sent % 3 == 0:
                        response = await client.post(
                            "/api/v1/items/", json={"title": f"load {number}"}, headers=headers
                        )
                    elif load.sent % 3 == 1:
                        response = await client.get("/api/v1/items/?limit=5", headers=headers)
                    else:
                        response = await client.get("/api/v1/utils/health-check/")
                    if response.status_code != 200:
                        load.failed.append(f"{response.request.url.path} {response.status_code}")
                except httpx.HTTPError as error:
                    load.failed.append(f"{type(error).__name__}: {error}")
                load.sent += 1
                await asyncio.sleep(0.05)

    await asyncio.gather(*(worker(number) for number in range(3)))


@asynccontextmanager
async def ui_session(stack: Stack) -> AsyncIterator[Page]:
    email, password = random_email(), "deploy-ui-password"
    stack.create_user(email, password)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = await browser.new_context(base_url=stack.url)
        context.set_default_timeout(30_000)
        page = await context.new_page()
        try:
            await page.goto("/login")
            await page.get_by_test_id("email-input").fill(email)
            await page.get_by_test_id("password-input").fill(password)
            await page.get_by_role("button", name="Log In").click()
            # Signed in once the dashboard greets the user (the token is stored by then).
            await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
            await page.goto("/items")
            await expect(page.get_by_role("button", name="Add Item")).to_be_visible()
            yield page
        finally:
            await context.close()
            await browser.close()


async def ui_events(page: Page, stop: asyncio.Event, made: list[str]) -> None:
    while not stop.is_set():
        title = f"UI item {len(made) + 1}"
        await add_item(page, title)
        made.append(title)
        await asyncio.sleep(2)


async def deploy_under_load(stack: Stack, tag: str) -> tuple[int, str, Load, list[str]]:
    require_chromium()
    load, stop = Load(), asyncio.Event()
    made: list[str] = []
    token = stack.superuser_token()
    async with ui_session(stack) as page:
        await add_item(page, f"before {tag}")
        traffic = asyncio.gather(
            generate_load(stack, token, stop, load), ui_events(page, stop, made)
        )
        await asyncio.sleep(2)
        process = await asyncio.create_subprocess_exec(
            "bash", "scripts/deploy/deploy.sh", "--env", "staging", "--tag", tag,
            cwd=PROJECT_ROOT, env={**stack.env, "DEPLOY_DRAIN_SECONDS": "3"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 900)
        await asyncio.sleep(2)
        stop.set()
        await traffic
        # The same page, no new login: one more event after the deploy.
        await add_item(page, f"after {tag}")
        await expect(page.get_by_test_id("email-input")).to_have_count(0)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace"), load, made


def tags_of(stack: Stack, service: str) -> set[str]:
    return {
        podman("inspect", "--format", "{{.ImageName}}", name).strip().rsplit(":", 1)[1]
        for name in stack.replicas(service)
    }


async def test_a_new_tag_is_deployed_without_a_failed_request(
    stack: Stack, images: dict[str, str]
) -> None:
    before = set(stack.replicas("backend"))
    started = time.monotonic()
    code, output, load, made = await deploy_under_load(stack, images["next"])
    assert code == 0, output
    assert f"done: staging is at {images['next']}" in output, output
    assert not set(stack.replicas("backend")) & before, "every old replica was replaced"
    assert len(stack.replicas("backend")) == 2
    assert tags_of(stack, "backend") == tags_of(stack, "frontend") == {images["next"]}
    assert load.sent > 100, load
    assert load.failed == [], load.failed[:20]
    assert made, "the UI session sent events during the deploy"
    FIGURES["deploy v1 -> v2"] = (
        f"{len(load.failed)} failed of {load.sent} API requests, {len(made)} UI items added, "
        f"{time.monotonic() - started:.0f} s"
    )


async def test_a_broken_tag_is_rolled_back_without_a_failed_request(
    stack: Stack, images: dict[str, str]
) -> None:
    # Whatever the stack runs now (v1, or v2 after the other deploy test) must stay.
    (current,) = tags_of(stack, "backend")
    before = set(stack.replicas("backend"))
    code, output, load, made = await deploy_under_load(stack, images["broken"])
    assert code == 1, output
    assert (
        f"ROLLBACK: {images['broken']} failed (a new backend replica did not become healthy); "
        f"putting {current} back" in output
    ), output
    assert f"rolled back to {current}" in output
    assert "granian" in output, "the deploy shows why the new replica failed"
    assert set(stack.replicas("backend")) == before, "the old replicas kept serving"
    assert tags_of(stack, "backend") == tags_of(stack, "frontend") == {current}
    assert load.sent > 50, load
    assert load.failed == [], load.failed[:20]
    assert made
    FIGURES["deploy of a broken tag (rolled back)"] = (
        f"{len(load.failed)} failed of {load.sent} API requests, {len(made)} UI items added"
    )
