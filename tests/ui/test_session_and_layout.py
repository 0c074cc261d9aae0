"""Session expiry, the 404 page, and the layout at desktop and phone widths."""

import httpx
from playwright.async_api import Browser, Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from tests.conftest import Account
from tests.ui.browser import at_path, needs_chromium, sign_in_as
from tests.ui.conftest import UiApp
from tests.ui.test_items import seed_items

pytestmark = needs_chromium


async def test_password_changed_elsewhere_logs_the_tab_out(
    page: Page, ui_app: UiApp, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, ["Visible before"])
    await sign_in_as(page, normal_user.id, "/items")
    await expect(page.locator("tbody tr")).to_have_count(1)

    # Another client (the REST API) changes the password: older tokens are revoked.
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        response = await client.patch(
            f"{settings.API_V1_STR}/users/me/password",
            json={"current_password": normal_user.password, "new_password": "changed-elsewhere"},
            headers=normal_user.headers,
        )
    assert response.status_code == 200, response.text

    # At once, with no action of the user: the change's notice refreshes the open table,
    # whose handler finds the token revoked (see docs/ui.md, Live tables).
    await expect(page).to_have_url(at_path("/login"))
    assert await page.evaluate("localStorage.getItem('access_token')") is None


async def test_deleted_user_is_logged_out_at_once(
    page: Page, superuser: Account, normal_user: Account
) -> None:
    await sign_in_as(page, normal_user.id, "/")
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
    async with httpx.AsyncClient(base_url=page.url) as client:
        response = await client.delete(
            f"{settings.API_V1_STR}/users/{normal_user.id}", headers=superuser.headers
        )
    assert response.status_code == 200, response.text
    # The dashboard follows the user's account: its deletion ends the session there.
    await expect(page).to_have_url(at_path("/login"))


async def test_unknown_page_shows_404(page: Page) -> None:
    await page.goto("/this-page-does-not-exist")
    not_found = page.get_by_test_id("not-found")
    await expect(not_found).to_be_visible()
    await expect(not_found).to_contain_text("404")
    await expect(not_found).to_contain_text("Oops!")
    await expect(not_found).to_contain_text("The page you are looking for was not found.")
    await not_found.get_by_role("button", name="Go Back").click()
    await expect(page).to_have_url(at_path("/login"))


async def test_sidebar_collapses_to_icons(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/")
    sidebar = page.get_by_test_id("sidebar")
    await expect(sidebar.get_by_text("Dashboard")).to_be_visible()
    wide = (await sidebar.bounding_box() or {"width": 0})["width"]
    await page.get_by_role("button", name="Toggle Sidebar").click()
    await expect(sidebar.get_by_text("Dashboard")).to_have_count(0)
    await expect(sidebar.get_by_role("link", name="Items")).to_be_visible()
    await page.wait_for_timeout(300)  # the width transition
    narrow = (await sidebar.bounding_box() or {"width": 0})["width"]
    assert narrow < wide / 2
    await page.reload()
    await expect(sidebar.get_by_role("link", name="Items")).to_be_visible()
    await expect(sidebar.get_by_text("Dashboard")).to_have_count(0)


async def test_a_collapsed_sidebar_never_flashes_open_on_reload(
    page: Page, normal_user: Account
) -> None:
    await sign_in_as(page, normal_user.id, "/")
    sidebar = page.get_by_test_id("sidebar")
    await page.get_by_role("button", name="Toggle Sidebar").click()
    await expect(sidebar.get_by_text("Dashboard")).to_have_count(0)
    # Every frame from the first paint on, the widest the sidebar has been drawn.
    await page.add_init_script(
        """
        window.__widest = 0;
        const watch = () => {
          const el = document.querySelector('[data-testid="sidebar"]');
          if (el) window.__widest = Math.max(window.__widest, el.getBoundingClientRect().width);
          requestAnimationFrame(watch);
        };
        requestAnimationFrame(watch);
        """
    )
    await page.reload()
    await expect(sidebar.get_by_role("link", name="Items")).to_be_visible()
    await page.wait_for_timeout(500)
    assert 0 < await page.evaluate("window.__widest") < 80


async def test_phone_width_uses_a_drawer(
    browser: Browser, ui_app: UiApp, normal_user: Account
) -> None:
    context = await browser.new_context(
        base_url=ui_app.url, viewport={"width": 375, "height": 812}, is_mobile=True
    )
    try:
        page = await context.new_page()
        await sign_in_as(page, normal_user.id, "/")
        await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
        await expect(page.get_by_test_id("sidebar")).to_be_hidden()
        await page.get_by_role("button", name="Open menu").click()
        drawer = page.get_by_role("dialog")
        await drawer.get_by_role("link", name="Items").click()
        await expect(page).to_have_url(at_path("/items"))
        await expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()
        await expect(drawer).to_be_hidden()
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        assert not overflow, "the page scrolls sideways at 375 px"
    finally:
        await context.close()


async def test_log_out_in_one_tab_logs_out_the_others(
    page: Page, normal_user: Account, session: AsyncSession
) -> None:
    await seed_items(session, normal_user, ["Seen in both tabs"])
    await sign_in_as(page, normal_user.id, "/items")
    other = await page.context.new_page()
    await other.goto("/items")
    await expect(other.locator("tbody tr")).to_have_count(1)

    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Log Out").click()
    await expect(page).to_have_url(at_path("/login"))
    # The other tab follows by itself, and shows nothing of the user any more.
    await expect(other).to_have_url(at_path("/login"))
    await expect(other.get_by_text("Seen in both tabs")).to_have_count(0)


async def test_pages_carry_the_security_headers(ui_app: UiApp) -> None:
    async with httpx.AsyncClient(base_url=ui_app.url) as client:
        for path in ("/login", "/items", "/no-such-page", "/favicon.svg", "/api/ping"):
            response = await client.get(path, follow_redirects=True)
            assert response.status_code in (200, 404), path
            assert response.headers.get("x-content-type-options") == "nosniff", path
            assert response.headers.get("x-frame-options") == "DENY", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
