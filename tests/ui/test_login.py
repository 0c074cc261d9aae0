"""Logging in and out (template-contract §7, login.spec)."""

from playwright.async_api import Page, expect

from tests.conftest import Account
from tests.ui.browser import (
    at_path,
    expect_toast,
    log_in_with_form,
    needs_chromium,
    sign_in_as,
    store_token,
)

pytestmark = needs_chromium


async def test_inputs_are_visible_empty_and_editable(page: Page) -> None:
    await page.goto("/login")
    for testid in ("email-input", "password-input"):
        field = page.get_by_test_id(testid)
        await expect(field).to_be_visible()
        await expect(field).to_have_value("")
        await expect(field).to_be_editable()
    await expect(page.get_by_placeholder("user@example.com")).to_be_visible()
    await expect(page).to_have_title("Log In - Full Stack Reflex")
    await expect(page.get_by_role("heading", name="Login to your account")).to_be_visible()


async def test_the_page_says_what_the_templates_says(page: Page) -> None:
    await page.goto("/login")
    await expect(page.get_by_role("heading", name="Login to your account")).to_be_visible()
    # A heading with no subtitle under it, and the theme button's sr-only name.
    await expect(page.get_by_text("Enter your email and password")).to_have_count(0)
    await expect(page.get_by_role("button", name="Toggle theme")).to_have_attribute(
        "data-testid", "theme-button"
    )


async def test_log_in_button_is_visible(page: Page) -> None:
    await page.goto("/login")
    await expect(page.get_by_role("button", name="Log In")).to_be_visible()


async def test_forgot_password_link_leads_to_recovery(page: Page) -> None:
    await page.goto("/login")
    link = page.get_by_role("link", name="Forgot your password?")
    await expect(link).to_be_visible()
    await link.click()
    await expect(page).to_have_url(at_path("/recover-password"))


async def test_valid_login_shows_the_dashboard(page: Page, normal_user: Account) -> None:
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await expect(page).to_have_url(at_path("/"))
    await expect(page.get_by_role("heading", name=f"Hi, {normal_user.email}")).to_be_visible()
    token = await page.evaluate("localStorage.getItem('access_token')")
    assert token


async def test_invalid_email_shows_a_message(page: Page) -> None:
    await page.goto("/login")
    await page.get_by_test_id("email-input").fill("invalidemail")
    await page.get_by_test_id("password-input").fill("changethis")
    await page.get_by_role("button", name="Log In").click()
    await expect(page.get_by_text("Invalid email address")).to_be_visible()


async def test_short_or_missing_password_shows_a_message(page: Page) -> None:
    await page.goto("/login")
    await page.get_by_test_id("password-input").fill("short")
    await page.get_by_test_id("email-input").click()
    await expect(page.get_by_text("Password must be at least 8 characters")).to_be_visible()
    await page.get_by_test_id("password-input").fill("")
    await page.get_by_test_id("email-input").click()
    await expect(page.get_by_text("Password is required")).to_be_visible()


async def test_wrong_password_shows_the_server_message(page: Page, normal_user: Account) -> None:
    await page.goto("/login")
    await page.get_by_test_id("email-input").fill(normal_user.email)
    await page.get_by_test_id("password-input").fill("wrong-password")
    await page.get_by_role("button", name="Log In").click()
    await expect_toast(page, "Incorrect email or password")
    await expect(page).to_have_url(at_path("/login"))


async def test_password_can_be_shown_and_hidden(page: Page) -> None:
    await page.goto("/login")
    field = page.get_by_test_id("password-input")
    await field.fill("secret-password")
    await expect(field).to_have_attribute("type", "password")
    await page.get_by_role("button", name="Show password").click()
    await expect(field).to_have_attribute("type", "text")
    await page.get_by_role("button", name="Hide password").click()
    await expect(field).to_have_attribute("type", "password")


async def test_log_out_from_the_user_menu(page: Page, normal_user: Account) -> None:
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Log Out").click()
    await expect(page).to_have_url(at_path("/login"))
    assert await page.evaluate("localStorage.getItem('access_token')") is None
    await page.goto("/settings")
    await expect(page).to_have_url(at_path("/login"))


async def test_logged_out_user_is_sent_to_login(page: Page) -> None:
    await page.goto("/settings")
    await expect(page).to_have_url(at_path("/login"))


async def test_invalid_token_is_dropped(page: Page) -> None:
    await store_token(page, "invalid_token")
    await page.goto("/settings")
    await expect(page).to_have_url(at_path("/login"))
    assert await page.evaluate("localStorage.getItem('access_token')") is None


async def test_signed_in_user_skips_the_public_pages(page: Page, normal_user: Account) -> None:
    await sign_in_as(page, normal_user.id)
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
    for path in ("/login", "/signup", "/recover-password"):
        await page.goto(path)
        await expect(page).to_have_url(at_path("/"))
