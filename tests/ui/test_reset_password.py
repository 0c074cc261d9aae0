"""Password recovery and reset, with the mail read from a real SMTP capture."""

import asyncio
import re

from playwright.async_api import Page, expect

from app.core.security import create_reset_token
from tests.conftest import Account
from tests.ui.browser import at_path, expect_toast, log_in_with_form, needs_chromium
from tests.ui.conftest import UiApp

pytestmark = needs_chromium

LINK = re.compile(r"https?://[^\s\"'<>]+/reset-password\?token=[A-Za-z0-9._\-]+")


async def reset_link(app: UiApp, email: str) -> str:
    """The link of the newest recovery mail to `email`, waiting for it to arrive."""
    return await mailed_link(app, email, LINK, newest_first=True)


async def mailed_link(
    app: UiApp,
    email: str,
    link: re.Pattern[str],
    *,
    subject: str = "",
    after: int = 0,
    newest_first: bool = False,
) -> str:
    """The `link` in a mail to `email` (whose subject has `subject`), among those that
    arrived past the first `after`, waiting for it to arrive."""
    for _ in range(150):
        arrived = app.mail.messages[after:]
        for message in reversed(arrived) if newest_first else arrived:
            if message["To"] == email and subject in str(message["Subject"]):
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                found = link.search(body.get_content())
                assert found, body.get_content()
                return found.group(0)
        await asyncio.sleep(0.1)
    raise AssertionError(f"no mail to {email} with a link like {link.pattern}")


async def test_recovery_page(page: Page) -> None:
    await page.goto("/recover-password")
    await expect(page).to_have_title("Recover Password - Full Stack Reflex")
    await expect(page.get_by_role("heading", name="Password Recovery")).to_be_visible()
    await expect(page.get_by_test_id("email-input")).to_be_visible()
    await expect(page.get_by_role("button", name="Continue")).to_be_visible()


async def test_recovery_checks_the_email_on_submit(page: Page) -> None:
    await page.goto("/recover-password")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_text("Invalid email address")).to_be_visible()


async def test_unknown_email_gets_the_same_answer(
    page: Page, ui_app: UiApp, normal_user: Account
) -> None:
    sent = len(ui_app.mail.envelopes)
    await page.goto("/recover-password")
    await page.get_by_test_id("email-input").fill("nobody-here@example.com")
    await page.get_by_role("button", name="Continue").click()
    await expect_toast(page, "Password recovery email sent successfully")
    # The backend is another process, so its pending mail cannot be awaited here. A
    # second request, for a real account, is handled after the first (one client's
    # events run in order), so a mail the first had queued would have been handed to
    # the delivery threads first and arrived first.
    await page.get_by_test_id("email-input").fill(normal_user.email)
    await page.get_by_role("button", name="Continue").click()
    await reset_link(ui_app, normal_user.email)
    assert [e.rcpt_tos for e in ui_app.mail.envelopes[sent:]] == [[normal_user.email]]


async def test_full_reset_flow(page: Page, ui_app: UiApp, normal_user: Account) -> None:
    await page.goto("/recover-password")
    await page.get_by_test_id("email-input").fill(normal_user.email)
    await page.get_by_role("button", name="Continue").click()
    await expect_toast(page, "Password recovery email sent successfully")

    link = await reset_link(ui_app, normal_user.email)
    assert link.startswith(ui_app.url)
    await page.goto(link)
    await expect(page).to_have_title("Reset Password - Full Stack Reflex")
    await page.get_by_test_id("new-password-input").fill("a-brand-new-password")
    await page.get_by_test_id("confirm-password-input").fill("a-brand-new-password")
    await page.get_by_role("button", name="Reset Password").click()
    await expect_toast(page, "Password updated successfully")
    await expect(page).to_have_url(at_path("/login"))

    await log_in_with_form(page, normal_user.email, "a-brand-new-password")


async def test_invalid_token(page: Page) -> None:
    await page.goto("/reset-password?token=invalidtoken")
    await page.get_by_test_id("new-password-input").fill("changethat")
    await page.get_by_test_id("confirm-password-input").fill("changethat")
    await page.get_by_role("button", name="Reset Password").click()
    await expect_toast(page, "Invalid token")


async def test_weak_new_password(page: Page, normal_user: Account) -> None:
    await page.goto(f"/reset-password?token={create_reset_token(normal_user.id)}")
    await page.get_by_test_id("new-password-input").fill("weak")
    await page.get_by_test_id("confirm-password-input").fill("weak")
    await page.get_by_role("button", name="Reset Password").click()
    await expect(page.get_by_text("Password must be at least 8 characters")).to_be_visible()


async def test_missing_token_goes_to_login(page: Page) -> None:
    await page.goto("/reset-password")
    await expect(page).to_have_url(at_path("/login"))
