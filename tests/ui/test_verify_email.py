"""Email verification in Chromium: the mail from a sign-up (real SMTP), its link, and
the profile's "Send verification email"."""

import re

from playwright.async_api import Page, expect

from app.core.security import create_reset_token
from tests.conftest import Account
from tests.factories import random_email
from tests.ui.browser import at_path, expect_toast, log_in_with_form, needs_chromium
from tests.ui.conftest import UiApp
from tests.ui.test_reset_password import mailed_link
from tests.ui.test_signup import fill_form

pytestmark = needs_chromium

LINK = re.compile(r"https?://[^\s\"'<>]+/verify-email\?token=[A-Za-z0-9._\-]+")


async def verify_link(app: UiApp, email: str, after: int = 0) -> str:
    """The link of the first verification mail to `email` past the first `after` mails."""
    return await mailed_link(app, email, LINK, subject="Verify your email", after=after)


async def test_the_link_from_the_sign_up_mail_verifies_once(page: Page, ui_app: UiApp) -> None:
    email = random_email()
    await fill_form(page, "Verified Person", email, "changethis", "changethis")
    await expect(page).to_have_url(at_path("/login"))
    link = await verify_link(ui_app, email)
    assert link.startswith(ui_app.url)

    await page.goto(link)
    await expect(page).to_have_title("Verify Email - Full Stack Reflex")
    await expect(page.get_by_test_id("verify-email-done")).to_have_text("Email address verified")
    await page.get_by_role("button", name="Log In").click()
    await log_in_with_form(page, email, "changethis")
    await page.goto("/settings")
    await expect(page.get_by_text("Verified", exact=True)).to_be_visible()

    await page.goto(link)
    await expect(page.get_by_test_id("verify-email-failed")).to_have_text(
        "Email address already verified"
    )
    # Signed in here: the way on is the dashboard.
    await expect(page.get_by_role("button", name="Go to the dashboard")).to_be_visible()


async def test_forged_and_wrong_kind_of_tokens_are_refused(
    page: Page, normal_user: Account
) -> None:
    for token in ("forged.token.value", create_reset_token(normal_user.id)):
        await page.goto(f"/verify-email?token={token}")
        await expect(page.get_by_test_id("verify-email-failed")).to_have_text("Invalid token")


async def test_a_new_link_from_the_profile(page: Page, ui_app: UiApp, normal_user: Account) -> None:
    sent = len(ui_app.mail.messages)
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await page.goto("/settings")
    await expect(page.get_by_text("Not verified", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Send verification email").click()
    await expect_toast(page, "Verification email sent")
    link = await verify_link(ui_app, normal_user.email, after=sent)
    await page.goto(link)
    await expect(page.get_by_test_id("verify-email-done")).to_be_visible()
    await page.goto("/settings")
    await expect(page.get_by_text("Verified", exact=True)).to_be_visible()


async def test_a_changed_address_is_verified_from_its_own_mail(
    page: Page, ui_app: UiApp, normal_user: Account
) -> None:
    """With the defaults the address changes at once (the template's behaviour),
    unverified; the new address gets a link, the old one a notice."""
    sent = len(ui_app.mail.messages)
    new_email = random_email()
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await page.goto("/settings")
    await page.get_by_role("button", name="Edit").click()
    await page.get_by_label("Email").fill(new_email)
    await page.get_by_role("button", name="Save").click()
    await expect_toast(page, "User updated successfully")
    await expect(page.get_by_text("Not verified", exact=True)).to_be_visible()

    notice = await mailed_link(
        ui_app, normal_user.email, re.compile(re.escape(new_email)), after=sent
    )
    assert notice == new_email
    await page.goto(await verify_link(ui_app, new_email, after=sent))
    await expect(page.get_by_test_id("verify-email-done")).to_have_text("Email address verified")
    await page.goto("/settings")
    await expect(page.get_by_role("tabpanel")).to_contain_text(new_email)
    await expect(page.get_by_text("Verified", exact=True)).to_be_visible()
