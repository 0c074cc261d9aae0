"""Two-factor in the UI: the Settings tab and the code step of the login, in the handlers
and in Chromium."""

import re

import pytest
from playwright.async_api import Page, expect

from app.services import messages
from app.services.two_factor import code_at, current_step
from app.ui.state.public import LoginState
from app.ui.state.two_factor import TwoFactorState
from tests.conftest import Account
from tests.ui.browser import at_path, expect_toast, log_in_with_form
from tests.ui.test_handlers import make_state, run, signed_in


async def turned_on(account: Account) -> tuple[str, list[str]]:
    """Two-factor on through the tab's handlers: the secret and the recovery codes."""
    state = signed_in(TwoFactorState, account)
    await run(TwoFactorState.begin_setup, state)
    assert state.qr_src.startswith("data:image/svg+xml;base64,")
    secret = state.secret
    sent = await run(TwoFactorState.confirm_setup, state, {"code": "abcdef"})
    assert messages.INVALID_TWO_FACTOR_CODE in sent and not state.recovery_codes
    await run(TwoFactorState.confirm_setup, state, {"code": code_at(secret, current_step())})
    assert len(state.recovery_codes) == 10 and state.showing_codes
    assert state.user.two_factor_enabled and state.secret == ""
    assert state.recovery_text.splitlines() == state.recovery_codes
    codes = list(state.recovery_codes)
    TwoFactorState.hide_recovery_codes.fn(state)
    assert not state.showing_codes
    return secret, codes


async def test_the_login_asks_for_a_code_after_the_password(normal_user: Account) -> None:
    secret, codes = await turned_on(normal_user)
    state = make_state(LoginState)
    form = {"email": normal_user.email, "password": normal_user.password}
    assert "redirect" not in await run(LoginState.log_in, state, form)
    assert state.two_factor_step and not state.access_token
    # The challenge never reaches the browser: a backend-only var.
    assert "_challenge" not in state.get_delta().get(LoginState.get_full_name(), {})

    await run(LoginState.submit_code, state, {})
    assert state.code_error == "Code is required"
    sent = await run(LoginState.submit_code, state, {"code": "000000x"})
    assert messages.INVALID_TWO_FACTOR_CODE in sent and not state.access_token
    sent = await run(LoginState.submit_code, state, {"code": codes[0]})
    assert 'path="/"' in sent and state.access_token


async def test_back_to_login_forgets_the_challenge(normal_user: Account) -> None:
    await turned_on(normal_user)
    state = make_state(LoginState)
    form = {"email": normal_user.email, "password": normal_user.password}
    await run(LoginState.log_in, state, form)
    LoginState.clear_errors.fn(state)
    assert not state.two_factor_step
    sent = await run(LoginState.submit_code, state, {"code": "123456"})
    assert messages.INVALID_TWO_FACTOR_CHALLENGE in sent


async def test_turning_off_from_the_tab(normal_user: Account) -> None:
    secret, codes = await turned_on(normal_user)
    state = signed_in(TwoFactorState, normal_user)
    sent = await run(TwoFactorState.disable, state, {"password": "", "code": ""})
    assert (state.password_error, state.code_error) == ("Password is required", "Code is required")
    sent = await run(
        TwoFactorState.disable, state, {"password": "wrong-password", "code": codes[1]}
    )
    assert messages.INCORRECT_PASSWORD in sent
    sent = await run(
        TwoFactorState.disable, state, {"password": normal_user.password, "code": codes[1]}
    )
    assert messages.TWO_FACTOR_DISABLED in sent and not state.user.two_factor_enabled


# In Chromium ----------------------------------------------------------------------


@pytest.mark.ui
async def test_set_up_then_log_in_with_a_code(page: Page, normal_user: Account) -> None:
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await log_in_with_form(page, normal_user.email, normal_user.password)
    await page.goto("/settings")
    await page.get_by_role("tab", name="Two-factor").click()
    await page.get_by_role("button", name="Set up two-factor authentication").click()
    qr = page.get_by_alt_text("QR code of the two-factor key")
    await expect(qr).to_be_visible()
    # Drawn: the SVG decoded into an image, not a broken one.
    assert await qr.evaluate("image => image.complete && image.naturalWidth") > 0
    secret = (await page.get_by_test_id("two-factor-secret").inner_text()).strip()
    await page.get_by_test_id("two-factor-code-input").fill(code_at(secret, current_step()))
    await page.get_by_role("button", name="Turn on").click()
    await expect_toast(page, "Two-factor authentication turned on")
    codes = page.get_by_test_id("recovery-codes")
    await expect(codes).to_be_visible()
    shown = re.findall(r"[a-z2-7]{4}(?:-[a-z2-7]{4}){3}", await codes.inner_text())
    assert len(shown) == 10
    await page.get_by_role("button", name="Copy codes").click()
    await expect_toast(page, "Recovery codes copied")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied.splitlines() == shown
    await page.get_by_role("button", name="Done").click()
    await expect(codes).to_be_hidden()

    await page.get_by_test_id("user-menu").click()
    await page.get_by_role("menuitem", name="Log Out").click()
    await expect(page).to_have_url(at_path("/login"))
    await page.get_by_test_id("email-input").fill(normal_user.email)
    await page.get_by_test_id("password-input").fill(normal_user.password)
    await page.get_by_role("button", name="Log In").click()
    await expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    await page.get_by_test_id("code-input").fill("000000")
    await page.get_by_role("button", name="Verify").click()
    await expect_toast(page, messages.INVALID_TWO_FACTOR_CODE)
    await page.get_by_test_id("code-input").fill(shown[0])
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_text("Welcome back, nice to see you again!!!")).to_be_visible()
