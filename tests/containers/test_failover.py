"""A browser session keeps working while the backend container holding it is killed."""

import re

from playwright.async_api import expect

from tests.containers.conftest import Stack, podman, wait_healthy
from tests.containers.test_deploy import ui_session
from tests.skip_policy import require_chromium
from tests.ui.browser import add_item


async def test_browser_session_survives_a_killed_backend_container(stack: Stack) -> None:
    require_chromium()
    victim, survivor = stack.replicas("backend")[:2]
    try:
        async with ui_session(stack) as page:
            await add_item(page, "Made before the kill")
            podman("kill", "--signal", "KILL", victim)
            await add_item(page, "Made after the kill")
            await expect(
                page.locator("tbody tr").filter(has_text="before the kill")
            ).to_be_visible()
            assert re.search(r"/items/?$", page.url), page.url
            await expect(page.get_by_test_id("email-input")).to_have_count(0)
            await page.reload()
            await expect(page.locator("tbody tr").filter(has_text="after the kill")).to_be_visible()
        assert podman("inspect", "--format", "{{.State.Running}}", survivor).strip() == "true"
    finally:
        # The other tests here expect two replicas, whatever order they run in.
        if (
            podman("inspect", "--format", "{{.State.Running}}", victim, check=False).strip()
            != "true"
        ):
            podman("start", victim)
            wait_healthy(victim)
