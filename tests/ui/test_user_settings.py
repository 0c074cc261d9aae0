"""User Settings (template-contract §7, user-settings.spec), appearance and account deletion."""

import re

import httpx
from playwright.async_api import Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.services import users
from tests.conftest import Account
from tests.factories import random_email
from tests.ui.browser import at_path, expect_toast, log_in_with_form, needs_chromium, sign_in_as
from tests.ui.conftest import UiApp

pytestmark = needs_chromium


async def open_tab(page: Page, user: Account, name: str) -> None:
    await sign_in_as(page, user.id, "/settings")
    await page.get_by_role("tab", name=name).click()
    await expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


async def test_my_profile_is_the_default_tab(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/settings")
    await expect(page).to_have_title("Settings - Full Stack Reflex")
    await expect(page.get_by_role("heading", name="User Settings")).to_be_visible()
    profile = page.get_by_role("tab", name="My profile")
    await expect(profile).to_have_attribute("aria-selected", "true")
    await expect(page.get_by_role("tabpanel")).to_contain_text("User Information")
    await expect(page.get_by_role("tabpanel")).to_contain_text(normal_user.email)


async def test_all_tabs_are_visible(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/settings")
    for name in ("My profile", "Password", "Two-factor", "Sessions", "Appearance", "Danger zone"):
        await expect(page.get_by_role("tab", name=name)).to_be_visible()


async def test_edit_the_full_name(page: Page, normal_user: Account, session: AsyncSession) -> None:
    await open_tab(page, normal_user, "My profile")
    await page.get_by_role("button", name="Edit").click()
    await page.get_by_label("Full name").fill("New Name")
    await page.get_by_role("button", name="Save").click()
    await expect_toast(page, "User updated successfully")
    await expect(page.get_by_role("tabpanel")).to_contain_text("New Name")
    stored = await users.get_user_by_email(session, normal_user.email)
    assert stored is not None and stored.full_name == "New Name"


async def test_invalid_email_in_profile(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "My profile")
    await page.get_by_role("button", name="Edit").click()
    await page.get_by_label("Email").fill("invalid-email")
    await page.get_by_label("Full name").click()
    await expect(page.get_by_text("Invalid email address")).to_be_visible()


async def test_edit_the_email(page: Page, normal_user: Account) -> None:
    new_email = random_email()
    await open_tab(page, normal_user, "My profile")
    await page.get_by_role("button", name="Edit").click()
    await page.get_by_label("Email").fill(new_email)
    await page.get_by_role("button", name="Save").click()
    await expect_toast(page, "User updated successfully")
    await expect(page.get_by_role("tabpanel")).to_contain_text(new_email)
    await expect(page.get_by_test_id("user-menu")).to_contain_text(new_email)


async def test_taken_email_shows_the_server_message(
    page: Page, normal_user: Account, other_user: Account
) -> None:
    await open_tab(page, normal_user, "My profile")
    await page.get_by_role("button", name="Edit").click()
    await page.get_by_label("Email").fill(other_user.email)
    await page.get_by_role("button", name="Save").click()
    await expect_toast(page, "User with this email already exists")


async def test_cancel_restores_the_name_and_email(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "My profile")
    await page.get_by_role("button", name="Edit").click()
    await expect(page.get_by_role("button", name="Save")).to_be_disabled()
    await page.get_by_label("Full name").fill("Not Saved")
    await page.get_by_label("Email").fill(random_email())
    await page.get_by_role("button", name="Cancel").click()
    panel = page.get_by_role("tabpanel")
    await expect(panel).to_contain_text(normal_user.email)
    await expect(panel).not_to_contain_text("Not Saved")
    await expect(panel).to_contain_text("Not set")


async def change_password(page: Page, current: str, new: str, confirmation: str) -> None:
    await page.get_by_test_id("current-password-input").fill(current)
    await page.get_by_test_id("new-password-input").fill(new)
    await page.get_by_test_id("confirm-password-input").fill(confirmation)
    await page.get_by_role("button", name="Update Password").click()


async def test_change_password_then_log_in_again(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "Password")
    await expect(page.get_by_role("heading", name="Change Password")).to_be_visible()
    await change_password(page, normal_user.password, "changed-password", "changed-password")
    await expect_toast(page, "Password updated successfully")
    await expect(page.get_by_test_id("current-password-input")).to_have_value("")

    # The tab got a fresh token: it is still signed in after the old ones were revoked.
    await page.get_by_role("link", name="Items").click()
    await expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()

    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Log Out").click()
    await expect(page).to_have_url(at_path("/login"))
    await log_in_with_form(page, normal_user.email, "changed-password")


async def test_weak_new_password(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "Password")
    await change_password(page, normal_user.password, "weak", "weak")
    await expect(page.get_by_text("Password must be at least 8 characters")).to_be_visible()


async def test_new_passwords_must_match(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "Password")
    await change_password(page, normal_user.password, "new-password-1", "new-password-2")
    await expect(page.get_by_text("The passwords don't match")).to_be_visible()


async def test_wrong_current_password(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "Password")
    await change_password(page, "not-my-password", "new-password-1", "new-password-1")
    await expect_toast(page, "Incorrect password")


async def test_new_password_same_as_current(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "Password")
    await change_password(page, normal_user.password, normal_user.password, normal_user.password)
    await expect_toast(page, "New password cannot be the same as the current one")


async def choose_mode(page: Page, mode: str) -> None:
    await page.get_by_test_id("theme-button").click()
    await page.get_by_test_id(f"{mode}-mode").click()
    # A click on the trigger while the menu is still closing would be lost.
    await expect(page.get_by_test_id(f"{mode}-mode")).to_be_hidden()
    await expect(page.locator("html")).to_have_class(mode)


async def test_switch_between_dark_and_light(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id, "/")
    await expect(page.get_by_test_id("theme-button")).to_be_visible()
    await choose_mode(page, "dark")
    await choose_mode(page, "light")


async def test_theme_persists_across_logout_and_login(page: Page, normal_user: Account) -> None:
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await choose_mode(page, "dark")
    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Log Out").click()
    await expect(page).to_have_url(at_path("/login"))
    await expect(page.locator("html")).to_have_class("dark")
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await expect(page.locator("html")).to_have_class("dark")


async def test_appearance_tab_sets_the_mode(page: Page, normal_user: Account) -> None:
    await open_tab(page, normal_user, "Appearance")
    await page.get_by_test_id("appearance-dark").click()
    await expect(page.locator("html")).to_have_class("dark")
    await expect(page.get_by_test_id("appearance-dark")).to_have_attribute("aria-pressed", "true")
    await page.reload()
    await expect(page.locator("html")).to_have_class("dark")
    await page.get_by_role("tab", name="Appearance").click()
    await page.get_by_test_id("appearance-light").click()
    await expect(page.locator("html")).to_have_class("light")


async def test_delete_own_account(page: Page, normal_user: Account, session: AsyncSession) -> None:
    await open_tab(page, normal_user, "Danger zone")
    panel = page.get_by_role("tabpanel")
    await expect(panel).to_contain_text("Permanently delete your account and all associated data.")
    await panel.get_by_role("button", name="Delete Account", exact=True).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_text("Confirmation Required")).to_be_visible()
    await dialog.get_by_role("button", name="Delete", exact=True).click()
    await expect_toast(page, "Your account has been successfully deleted")
    await expect(page).to_have_url(at_path("/login"))
    assert await users.get_user_by_email(session, normal_user.email) is None


async def test_superuser_is_told_why_they_cannot_delete_themselves(
    page: Page, superuser: Account
) -> None:
    await open_tab(page, superuser, "Danger zone")
    panel = page.get_by_role("tabpanel")
    await expect(panel).to_contain_text("Super users are not allowed to delete themselves")
    await expect(panel.get_by_role("button", name="Delete Account", exact=True)).to_be_disabled()


# Sessions ------------------------------------------------------------------------------

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


async def another_session(client: httpx.AsyncClient, user: Account) -> str:
    r = await client.post(
        f"{settings.API_V1_STR}/login/access-token",
        data={"username": user.email, "password": user.password},
        headers={"User-Agent": FIREFOX},
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def still_works(client: httpx.AsyncClient, token: str) -> bool:
    r = await client.get(
        f"{settings.API_V1_STR}/users/me", headers={"Authorization": f"Bearer {token}"}
    )
    return r.status_code == 200


async def open_sessions(page: Page, user: Account) -> None:
    await log_in_with_form(page, user.email, user.password)
    await page.goto("/settings")
    await page.get_by_role("tab", name="Sessions").click()


async def test_sessions_tab_shows_this_device_and_revokes_another(
    page: Page, client: httpx.AsyncClient, normal_user: Account
) -> None:
    other = await another_session(client, normal_user)
    await open_sessions(page, normal_user)
    rows = page.get_by_test_id("session-row")
    this_device = rows.filter(has_text="This device")
    await expect(this_device).to_have_count(1)
    # Headless Chromium on Linux, in words; and its address.
    await expect(this_device).to_contain_text("Chrome on Linux")
    await expect(this_device).to_contain_text("127.0.0.1")
    await expect(this_device.get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)
    firefox = rows.filter(has_text="Firefox on Linux")
    await firefox.get_by_role("button", name=re.compile("Revoke")).click()
    await expect_toast(page, "Session ended")
    await expect(firefox).to_have_count(0)
    assert not await still_works(client, other)
    assert await still_works(client, normal_user.token)


async def test_sign_out_of_all_other_sessions(
    page: Page, client: httpx.AsyncClient, normal_user: Account
) -> None:
    others = [await another_session(client, normal_user) for _ in range(2)]
    await open_sessions(page, normal_user)
    # The two above, the fixture's login and this browser's.
    await expect(page.get_by_test_id("session-row")).to_have_count(4)
    await page.get_by_role("button", name="Sign out of all other sessions").click()
    await expect_toast(page, "Sessions ended: 3")
    await expect(page.get_by_test_id("session-row")).to_have_count(1)
    for other in others:
        assert not await still_works(client, other)


async def test_a_session_ended_elsewhere_sends_the_page_to_login(
    page: Page, ui_app: UiApp, normal_user: Account
) -> None:
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await page.goto("/items")
    await expect(page.get_by_role("heading", name="Items", exact=True)).to_be_visible()
    # Through the app's own API: the process that holds the tab hears it (across
    # replicas, Redis carries the notice: tests/live/test_sessions_live.py).
    async with httpx.AsyncClient(base_url=ui_app.url) as api:
        r = await api.delete(
            f"{settings.API_V1_STR}/users/me/sessions", headers=normal_user.headers
        )
    assert r.status_code == 200
    await expect(page).to_have_url(at_path("/login"), timeout=2_000)


async def test_log_out_ends_the_session_for_the_api(page: Page, normal_user: Account) -> None:
    await log_in_with_form(page, normal_user.email, normal_user.password)
    token = await page.evaluate("() => localStorage.getItem('access_token')")
    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Log Out").click()
    await expect(page).to_have_url(at_path("/login"))
    async with httpx.AsyncClient(base_url=page.url.split("/login")[0]) as api:
        assert not await still_works(api, token)
