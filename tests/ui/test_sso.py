"""Single sign-on in Chromium: the "Continue with ..." buttons, the local OpenID provider's
own login and consent pages (devtools/oidc), and the pages our app lands on."""

import secrets

import httpx
from playwright.async_api import Page, expect
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import UserCreate
from app.services import messages, users
from tests.api.test_two_factor import turn_on
from tests.conftest import Account
from tests.ui.browser import at_path, expect_toast, needs_chromium

pytestmark = needs_chromium


async def through_the_provider(
    page: Page, login: str, button: str = "Continue with Test IdP"
) -> None:
    """Click the app's button, then log in and consent on the provider's pages."""
    await page.get_by_role("link", name=button).click()
    await page.locator("input[name=login]").fill(login)
    await page.locator("input[name=password]").fill("any password")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()


async def test_sign_up_with_the_provider_lands_on_the_dashboard(page: Page) -> None:
    login = f"ui-{secrets.token_hex(4)}"
    await page.goto("/signup")
    await through_the_provider(page, login, "Sign up with Test IdP")
    await expect(page).to_have_url(at_path("/"))
    await expect(page.get_by_role("heading", name=f"Hi, Test {login}")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('access_token')")
    # Settings lists the provider; the only way in cannot be unlinked.
    await page.goto("/settings")
    await page.get_by_role("tab", name="Linked logins").click()
    row = page.get_by_test_id("identity-row")
    await expect(row).to_contain_text(f"{login}@example.com")
    await page.get_by_role("button", name="Unlink Test IdP").click()
    await expect_toast(page, messages.SSO_LAST_LOGIN)
    await expect(row).to_have_count(1)


async def test_existing_account_is_linked_with_its_password(
    page: Page, session: AsyncSession
) -> None:
    login = f"ui-{secrets.token_hex(4)}"
    email, password = f"{login}@example.com", secrets.token_hex(8)
    await users.create_user(session, UserCreate(email=email, password=password))
    await page.goto("/login")
    await through_the_provider(page, login)
    await expect(page).to_have_url(at_path("/login/oidc"))
    await expect(page.get_by_role("heading", name="Link your account")).to_be_visible()
    await page.get_by_test_id("password-input").fill("not-the-password")
    await page.get_by_role("button", name="Link and log in").click()
    await expect_toast(page, messages.INCORRECT_LOGIN)
    await page.get_by_test_id("password-input").fill(password)
    await page.get_by_role("button", name="Link and log in").click()
    await expect(page).to_have_url(at_path("/"))
    await expect(page.get_by_role("heading", name=f"Hi, {email}")).to_be_visible()
    # It has a password, so the provider login can go.
    await page.goto("/settings")
    await page.get_by_role("tab", name="Linked logins").click()
    await page.get_by_role("button", name="Unlink Test IdP").click()
    await expect_toast(page, messages.IDENTITY_UNLINKED)
    await expect(page.get_by_text("No linked logins.")).to_be_visible()


async def test_unverified_address_is_not_linked_and_the_page_says_why(
    page: Page, session: AsyncSession
) -> None:
    login = f"unverified-{secrets.token_hex(4)}"
    email = f"{login}@example.com"
    await users.create_user(session, UserCreate(email=email, password=secrets.token_hex(8)))
    await page.goto("/login")
    await through_the_provider(page, login)
    await expect(page.get_by_test_id("sso-error")).to_have_text(
        messages.SSO_UNVERIFIED_EMAIL.format(provider="Test IdP")
    )
    await expect(page.get_by_role("link", name="login page")).to_be_visible()


async def test_a_used_login_code_is_refused(page: Page) -> None:
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    await page.goto("/login")
    await through_the_provider(page, f"ui-{secrets.token_hex(4)}")
    await expect(page).to_have_url(at_path("/"))
    landing = next(url for url in visited if "/login/oidc?code=" in url)
    # The landing URL opened again (history, a shared link): its code was taken.
    await page.goto(landing)
    await expect(page.get_by_test_id("sso-error")).to_have_text(messages.SSO_INVALID_LOGIN_CODE)


async def test_two_factor_follows_a_link_in_the_browser(
    page: Page, client: httpx.AsyncClient, normal_user: Account
) -> None:
    _, recovery_codes = await turn_on(client, normal_user)
    await page.goto("/login")
    # The provider's account has the same (verified) address.
    await through_the_provider(page, normal_user.email.split("@")[0])
    await page.get_by_test_id("password-input").fill(normal_user.password)
    await page.get_by_role("button", name="Link and log in").click()
    await expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    await page.get_by_test_id("code-input").fill(recovery_codes[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
