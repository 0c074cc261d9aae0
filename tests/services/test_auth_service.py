"""Login, token resolution and password recovery, on the services directly."""

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core import security
from app.emails import EmailMessage
from app.models import User, UserCreate
from app.services import auth, messages, sessions, users
from app.services.errors import BadRequest, Forbidden, InvalidCredentials, NotFound
from tests.factories import random_email, random_lower_string, token_without_session


async def new_user(session: AsyncSession, password: str, **fields: object) -> User:
    data = UserCreate.model_validate({"email": random_email(), "password": password, **fields})
    return await users.create_user(session, data)


async def test_unknown_email_still_pays_one_password_check(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    original = security.verify_password_sync

    def counting(password: str, hashed: str) -> bool:
        checks.append(password)
        return original(password, hashed)

    monkeypatch.setattr(security, "verify_password_sync", counting)
    with pytest.raises(BadRequest) as error:
        await auth.authenticate(session, "nobody@example.com", "some-password", client="127.0.0.1")
    assert error.value.detail == messages.INCORRECT_LOGIN
    assert checks == ["some-password"]


async def test_password_is_checked_before_the_active_flag(session: AsyncSession) -> None:
    user = await new_user(session, "right-password", is_active=False)
    with pytest.raises(BadRequest) as wrong:
        await auth.authenticate(session, user.email, "wrong-password", client="127.0.0.1")
    assert wrong.value.detail == messages.INCORRECT_LOGIN
    with pytest.raises(BadRequest) as inactive:
        await auth.authenticate(session, user.email, "right-password", client="127.0.0.1")
    assert inactive.value.detail == messages.INACTIVE_USER


async def log_in(session: AsyncSession, user: User, password: str) -> str:
    result = await auth.login(
        session, user.email, password, client="127.0.0.1", user_agent="pytest"
    )
    return result.tokens.access_token


async def test_access_token_resolves_to_its_user(session: AsyncSession) -> None:
    user = await new_user(session, "right-password")
    token = await log_in(session, user, "right-password")
    assert (await auth.user_from_access_token(token)).id == user.id


async def test_token_outcomes(session: AsyncSession) -> None:
    user = await new_user(session, "right-password")
    assert user.id is not None
    with pytest.raises(InvalidCredentials) as bad:
        await auth.user_from_access_token("garbage")
    assert bad.value.detail == "Could not validate credentials"
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(security.create_reset_token(user.id))
    with pytest.raises(NotFound) as missing:
        await auth.user_from_access_token(token_without_session(10**6))
    assert missing.value.detail == messages.USER_NOT_FOUND
    with pytest.raises(InvalidCredentials):
        # Well signed, but no session of this user has that id.
        await auth.user_from_access_token(token_without_session(user.id, 2**31 - 1))
    token = await log_in(session, user, "right-password")
    user.is_active = False
    session.add(user)
    await session.commit()
    with pytest.raises(BadRequest) as inactive:
        await auth.user_from_access_token(token)
    assert inactive.value.detail == messages.INACTIVE_USER


async def test_password_change_ends_every_other_session(session: AsyncSession) -> None:
    user = await new_user(session, "first-password")
    other = await log_in(session, user, "first-password")
    mine = await auth.caller_from_access_token(await log_in(session, user, "first-password"))
    await users.change_password(
        session, user, "first-password", "second-password", current_session=mine.session_id
    )
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(other)
    new_token = await log_in(session, user, "second-password")
    assert (await auth.user_from_access_token(new_token)).id == user.id


async def test_reset_ends_every_session(session: AsyncSession) -> None:
    user = await new_user(session, "first-password")
    assert user.id is not None
    token = await log_in(session, user, "first-password")
    await auth.reset_password(session, security.create_reset_token(user.id), "second-password")
    with pytest.raises(InvalidCredentials):
        await auth.user_from_access_token(token)


async def test_reset_token_works_once(session: AsyncSession) -> None:
    user = await new_user(session, "first-password")
    assert user.id is not None
    token = security.create_reset_token(user.id)
    await auth.reset_password(session, token, "second-password")
    assert await auth.authenticate(session, user.email, "second-password", client="127.0.0.1")
    with pytest.raises(BadRequest) as reused:
        await auth.reset_password(session, token, "third-password")
    assert reused.value.detail == messages.INVALID_TOKEN


async def test_reset_rejects_bad_tokens_and_inactive_users(session: AsyncSession) -> None:
    user = await new_user(session, "first-password", is_active=False)
    assert user.id is not None
    for token in (
        "garbage",
        token_without_session(user.id),
        security.create_reset_token(10**6),
    ):
        with pytest.raises(BadRequest) as invalid:
            await auth.reset_password(session, token, "second-password")
        assert invalid.value.detail == messages.INVALID_TOKEN
    with pytest.raises(BadRequest) as inactive:
        await auth.reset_password(session, security.create_reset_token(user.id), "second-password")
    assert inactive.value.detail == messages.INACTIVE_USER


async def test_recovery_mails_only_existing_active_users(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[str, EmailMessage]] = []
    monkeypatch.setattr(auth, "schedule_email", lambda to, message: sent.append((to, message)))
    active = await new_user(session, random_lower_string())
    inactive = await new_user(session, random_lower_string(), is_active=False)
    await auth.request_password_recovery(session, "nobody@example.com", client="127.0.0.1")
    await auth.request_password_recovery(session, inactive.email, client="127.0.0.1")
    assert sent == []
    await auth.request_password_recovery(session, active.email, client="127.0.0.1")
    [(to, message)] = sent
    assert to == active.email
    assert "/reset-password?token=" in message.text
    token = message.text.split("/reset-password?token=")[1].split()[0]
    await auth.reset_password(session, token, "a-new-password")


def test_require_superuser() -> None:
    with pytest.raises(Forbidden) as error:
        auth.require_superuser(User(email="a@example.com", hashed_password="x"))
    assert error.value.detail == messages.NOT_ENOUGH_PRIVILEGES


async def test_a_user_agent_with_unstorable_text_still_logs_in(session: AsyncSession) -> None:
    user = await new_user(session, "right-password")
    result = await auth.login(
        session,
        user.email,
        "right-password",
        client="127.0.0.1",
        user_agent="Agent\x00with a NUL\ud800" + "x" * 400,
    )
    caller = await auth.caller_from_access_token(result.tokens.access_token)
    assert caller.user.id is not None
    listed = await sessions.list_sessions(session, caller.user.id, caller.session_id)
    assert listed.data[0].user_agent.startswith("Agentwith a NUL")
    assert len(listed.data[0].user_agent) == 255
