"""axe-core over every page, dialogs open, in both themes (#26 part 1): no violation of
WCAG 2.1 A/AA, nor of axe's best practices. Also the page metadata Lighthouse's SEO
audits read (part 2), and the keyboard: a visible focus ring, dialogs that hold focus."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.security import create_reset_token
from tests.conftest import Account
from tests.ui.browser import needs_chromium, sign_in_as
from tests.ui.conftest import UiApp
from tests.ui.test_items import seed_items

pytestmark = needs_chromium

# Installed by scripts/setup.sh (the version pinned in .tools/package.json).
AXE = Path(__file__).resolve().parents[2] / ".tools/node_modules/axe-core/axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
Theme = Literal["light", "dark"]


@pytest.fixture(params=["light", "dark"])
async def themed_page(
    request: pytest.FixtureRequest, browser: Browser, ui_app: UiApp
) -> AsyncIterator[Page]:
    """A tab whose system theme is light or dark; the app follows it ("System")."""
    theme: Theme = request.param
    context = await browser.new_context(
        base_url=ui_app.url, viewport={"width": 1280, "height": 900}, color_scheme=theme
    )
    page = await context.new_page()
    yield page
    await context.close()


async def violations(page: Page) -> list[str]:
    """axe's findings on the page as it stands, one line per rule and element."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    # Radix's closing animations: let them end before axe reads colours.
    await page.wait_for_timeout(300)
    result: dict[str, Any] = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        f"{rule['id']} ({rule['impact']}): {node['target']} {node.get('failureSummary', '')}"
        for rule in result["violations"]
        for node in rule["nodes"]
    ]


async def check(page: Page, where: str, found: list[str]) -> None:
    found.extend(f"[{where}] {line}" for line in await violations(page))


async def check_dialog(page: Page, where: str, found: list[str]) -> None:
    """Check the dialog just opened, with the page behind it, then close it."""
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await check(page, where, found)
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()


async def test_public_pages_have_no_violations(themed_page: Page, normal_user: Account) -> None:
    page, found = themed_page, list[str]()
    for path, ready in (
        ("/login", "Login to your account"),
        ("/signup", "Create an account"),
        ("/recover-password", "Password Recovery"),
        (f"/reset-password?token={create_reset_token(normal_user.id)}", "Reset Password"),
        ("/no-such-page", "Oops!"),
    ):
        await page.goto(path)
        await expect(page.get_by_role("heading", name=ready).first).to_be_visible()
        await check(page, path, found)
    assert not found, "\n".join(found)


async def test_signed_in_pages_have_no_violations(
    themed_page: Page, superuser: Account, session: AsyncSession
) -> None:
    page, found = themed_page, list[str]()
    await seed_items(session, superuser, ["Accessible item"], description="Read by everyone")
    await sign_in_as(page, superuser.id, "/")
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
    await check(page, "/", found)

    await page.goto("/items")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await check(page, "/items", found)
    await page.get_by_role("button", name="Add Item").click()
    await check_dialog(page, "/items Add Item", found)
    await page.get_by_role("button", name="Item actions").click()
    await page.get_by_role("menuitem", name="Edit Item").click()
    await check_dialog(page, "/items Edit Item", found)

    await page.goto("/admin")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await check(page, "/admin", found)
    await page.get_by_role("button", name="Add User").click()
    await check_dialog(page, "/admin Add User", found)

    await page.goto("/settings")
    for tab in ("My profile", "Password", "Two-factor", "Sessions", "Appearance", "Danger zone"):
        await page.get_by_role("tab", name=tab).click()
        await expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        await check(page, f"/settings {tab}", found)
    assert not found, "\n".join(found)


async def test_every_page_is_described_in_english(page: Page) -> None:
    for path in ("/login", "/signup", "/recover-password", "/reset-password", "/", "/items"):
        await page.goto(path)
        assert await page.get_attribute("html", "lang") == "en", path
        description = page.locator('meta[name="description"]')
        await expect(description).to_have_count(1)
        assert len(await description.get_attribute("content") or "") > 20, path


async def test_only_public_pages_may_be_indexed(ui_app: UiApp) -> None:
    # What a crawler reads: the served HTML (a signed-out browser moves on to /login).
    noindex = '<meta content="noindex, nofollow" name="robots"/>'
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        for path in ("/", "/items", "/admin", "/settings"):
            assert noindex in (await client.get(path)).text, path
        for path in ("/login", "/signup", "/recover-password"):
            assert 'name="robots"' not in (await client.get(path)).text, path
        robots = await client.get("/robots.txt")
    assert robots.status_code == 200
    assert "User-agent: *" in robots.text


async def test_keyboard_focus_is_visible_and_held_by_dialogs(
    page: Page, normal_user: Account
) -> None:
    await sign_in_as(page, normal_user.id, "/items")
    add = page.get_by_role("button", name="Add Item")
    await add.focus()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Shift+Tab")
    outline = await add.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and outline[1] != "0px", outline
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    for _ in range(12):
        await page.keyboard.press("Tab")
        assert await dialog.evaluate("d => d.contains(document.activeElement)")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    # Focus goes back where it came from.
    await expect(add).to_be_focused()
