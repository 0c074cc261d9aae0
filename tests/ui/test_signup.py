"""Signing up (template-contract §7, sign-up.spec)."""

from playwright.async_api import Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.services import users
from tests.conftest import Account
from tests.factories import random_email
from tests.ui.browser import at_path, expect_toast, needs_chromium

pytestmark = needs_chromium


async def fill_form(
    page: Page, full_name: str, email: str, password: str, confirmation: str
) -> None:
    await page.goto("/signup")
    await page.get_by_test_id("full-name-input").fill(full_name)
    await page.get_by_test_id("email-input").fill(email)
    await page.get_by_test_id("password-input").fill(password)
    await page.get_by_test_id("confirm-password-input").fill(confirmation)
    await page.get_by_role("button", name="Sign Up").click()


async def test_inputs_are_visible_empty_and_editable(page: Page) -> None:
    await page.goto("/signup")
    await expect(page).to_have_title("Sign Up - Full Stack Reflex")
    await expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    for testid in ("full-name-input", "email-input", "password-input", "confirm-password-input"):
        field = page.get_by_test_id(testid)
        await expect(field).to_be_visible()
        await expect(field).to_have_value("")
        await expect(field).to_be_editable()
    await expect(page.get_by_placeholder("User", exact=True)).to_be_visible()
    await expect(page.get_by_placeholder("Confirm Password")).to_be_visible()


async def test_sign_up_button_and_log_in_link(page: Page) -> None:
    await page.goto("/signup")
    await expect(page.get_by_role("button", name="Sign Up")).to_be_visible()
    await page.get_by_role("link", name="Log in").click()
    await expect(page).to_have_url(at_path("/login"))


async def test_valid_sign_up_leads_to_login(page: Page, session: AsyncSession) -> None:
    email = random_email()
    await fill_form(page, "Playwright Test", email, "changethis", "changethis")
    await expect(page).to_have_url(at_path("/login"))
    user = await users.get_user_by_email(session, email)
    assert user is not None
    assert user.full_name == "Playwright Test"
    assert not user.is_superuser


async def test_invalid_email(page: Page) -> None:
    await fill_form(page, "Playwright Test", "invalid-email", "changethis", "changethis")
    await expect(page.get_by_text("Invalid email address")).to_be_visible()


async def test_existing_email_shows_the_server_message(page: Page, normal_user: Account) -> None:
    await fill_form(page, "Playwright Test", normal_user.email, "changethis", "changethis")
    await expect_toast(page, "The user with this email already exists in the system")
    await expect(page).to_have_url(at_path("/signup"))


async def test_weak_password(page: Page) -> None:
    await fill_form(page, "Playwright Test", random_email(), "weak", "weak")
    await expect(page.get_by_text("Password must be at least 8 characters")).to_be_visible()


async def test_passwords_must_match(page: Page) -> None:
    await fill_form(page, "Playwright Test", random_email(), "changethis", "changethat")
    await expect(page.get_by_text("The passwords don't match")).to_be_visible()


async def test_mismatch_shows_when_leaving_the_confirmation(page: Page) -> None:
    await page.goto("/signup")
    await page.get_by_test_id("password-input").fill("changethis")
    await page.get_by_test_id("confirm-password-input").fill("changethat")
    await page.get_by_test_id("full-name-input").click()
    await expect(page.get_by_text("The passwords don't match")).to_be_visible()


async def test_missing_full_name(page: Page) -> None:
    await fill_form(page, "", random_email(), "changethis", "changethis")
    await expect(page.get_by_text("Full Name is required")).to_be_visible()


async def test_missing_email(page: Page) -> None:
    await fill_form(page, "Playwright Test", "", "changethis", "changethis")
    await expect(page.get_by_text("Invalid email address")).to_be_visible()


async def test_missing_password(page: Page) -> None:
    await fill_form(page, "Playwright Test", random_email(), "", "changethis")
    await expect(page.get_by_text("Password is required")).to_be_visible()


async def test_missing_confirmation(page: Page) -> None:
    await fill_form(page, "Playwright Test", random_email(), "changethis", "")
    await expect(page.get_by_text("Password confirmation is required")).to_be_visible()
