"""Email verification in the UI's handlers: the link page, "send a new link", and the
REQUIRE_EMAIL_VERIFICATION gate (the browser tests run with the setting at its default)."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import create_reset_token, create_verify_token
from app.services import messages, users
from app.ui.state.dashboard import DashboardState
from app.ui.state.items import ItemsState
from app.ui.state.sessions import SessionsState
from app.ui.state.settings import DeleteAccountState, PasswordState, ProfileState
from app.ui.state.verification import ResendVerificationState, VerifyEmailState
from tests.conftest import Account
from tests.factories import random_email
from tests.ui.test_handlers import at_address, make_state, run, signed_in


async def is_verified(session: AsyncSession, account: Account) -> bool:
    user = await users.get_user(session, account.id)
    assert user is not None
    await session.refresh(user)
    return user.email_verified


async def test_the_link_page_verifies_and_refreshes_a_signed_in_tab(
    session: AsyncSession, normal_user: Account
) -> None:
    state = signed_in(VerifyEmailState, normal_user)
    token = create_verify_token(normal_user.id, normal_user.email)
    at_address(state, f"/verify-email?token={token}")
    await run(VerifyEmailState.open_page, state)
    assert (state.status, state.detail) == ("verified", messages.EMAIL_VERIFIED)
    assert state.user.email_verified and state.signed_in
    assert await is_verified(session, normal_user)

    await run(VerifyEmailState.open_page, state)
    assert (state.status, state.detail) == ("failed", messages.EMAIL_ALREADY_VERIFIED)


@pytest.mark.parametrize("token", ["garbage", "reset"])
async def test_the_link_page_refuses_a_bad_token(
    session: AsyncSession, normal_user: Account, token: str
) -> None:
    state = make_state(VerifyEmailState)
    value = create_reset_token(normal_user.id) if token == "reset" else token
    at_address(state, f"/verify-email?token={value}")
    await run(VerifyEmailState.open_page, state)
    assert (state.status, state.detail) == ("failed", messages.INVALID_TOKEN)
    assert not await is_verified(session, normal_user)


async def test_the_link_page_without_a_token_goes_to_login() -> None:
    state = make_state(VerifyEmailState)
    at_address(state, "/verify-email")
    assert "/login" in await run(VerifyEmailState.open_page, state)


async def test_a_new_link_from_the_banner(normal_user: Account) -> None:
    state = signed_in(ResendVerificationState, normal_user)
    assert messages.VERIFICATION_SENT in await run(ResendVerificationState.resend, state)
    assert not state.sending


async def test_no_new_link_once_verified(superuser: Account) -> None:
    state = signed_in(ResendVerificationState, superuser)
    assert messages.EMAIL_ALREADY_VERIFIED in await run(ResendVerificationState.resend, state)


async def test_the_banner_shows_only_when_verification_is_required(
    normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = signed_in(DashboardState, normal_user)
    await run(DashboardState.open_dashboard, state)
    assert not state.user.must_verify and not state.user.email_verified
    monkeypatch.setattr(settings, "REQUIRE_EMAIL_VERIFICATION", True)
    await run(DashboardState.open_dashboard, state)
    assert state.user.must_verify


async def test_an_unverified_user_is_sent_back_to_the_banner(
    normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "REQUIRE_EMAIL_VERIFICATION", True)
    items = signed_in(ItemsState, normal_user)
    sent = await run(ItemsState.open_page, items)
    assert messages.EMAIL_NOT_VERIFIED in sent and 'path="/"' in sent
    assert items.rows == []
    sessions = signed_in(SessionsState, normal_user)
    assert messages.EMAIL_NOT_VERIFIED in await run(SessionsState.open_tab, sessions, "sessions")
    password = signed_in(PasswordState, normal_user)
    new = "n" * 10
    form = {"current_password": normal_user.password, "new_password": new}
    sent = await run(PasswordState.change_password, password, {**form, "confirm_password": new})
    assert messages.EMAIL_NOT_VERIFIED in sent
    # What stays open: the dashboard, the settings page, and leaving.
    dashboard = signed_in(DashboardState, normal_user)
    assert messages.EMAIL_NOT_VERIFIED not in await run(DashboardState.open_dashboard, dashboard)
    profile = signed_in(ProfileState, normal_user)
    assert messages.EMAIL_NOT_VERIFIED not in await run(ProfileState.open_page, profile)
    delete = signed_in(DeleteAccountState, normal_user)
    assert "successfully deleted" in await run(DeleteAccountState.delete_account, delete)


async def test_a_new_address_waits_in_the_profile_until_confirmed(
    normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "CONFIRM_EMAIL_CHANGES", True)
    profile = signed_in(ProfileState, normal_user)
    await run(ProfileState.open_page, profile)
    new_email = random_email()
    await run(ProfileState.save, profile, {"full_name": "", "email": new_email})
    assert (profile.user.email, profile.user.pending_email) == (normal_user.email, new_email)

    page = signed_in(VerifyEmailState, normal_user)
    at_address(page, f"/verify-email?token={create_verify_token(normal_user.id, new_email)}")
    await run(VerifyEmailState.open_page, page)
    assert (page.status, page.detail) == ("verified", messages.EMAIL_CHANGED)
    assert (page.user.email, page.user.pending_email, page.user.email_verified) == (
        new_email,
        "",
        True,
    )
