"""Logging in, resolving the caller from a token, and password recovery."""

import logging
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.security import (
    InvalidTokenError,
    burn_password_check,
    create_device_token,
    create_reset_token,
    create_two_factor_challenge,
    decode_device_token,
    decode_token,
    issued_before_password_change,
    verify_password,
)
from app.db.recent_writes import act_for
from app.emails import build_reset_password_email, schedule_email
from app.models import User, utcnow
from app.observability.logging import set_user
from app.observability.metrics import LOGINS
from app.services import messages, rate_limits, sessions, two_factor, users
from app.services.errors import (
    BadRequest,
    Forbidden,
    InvalidCredentials,
    NotFound,
    TwoFactorRequired,
)
from app.services.rate_limits import Limit

logger = logging.getLogger(__name__)


def known_device(device_token: str | None, email: str) -> str | None:
    """The device id of a device token issued to the account `email` logs into; None
    for a missing, bad, expired or another account's token (an unknown device)."""
    if not device_token:
        return None
    try:
        claims = decode_device_token(device_token)
    except InvalidTokenError:
        return None
    return claims.device_id if claims.account == rate_limits.identifier(email) else None


async def authenticate(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    client: str,
    device: str | None = None,
) -> User:
    """The user whose email and password these are, else `Incorrect email or password`.

    The password is checked before the active flag, as in the template, so an
    inactive account only shows itself to someone who knows its password. Wrong
    passwords count against the limits of the account and of the `client` address,
    or of the `device` alone when the login comes from a known one (known_device; see
    rate_limits.login_attempt); over a limit, TooManyRequests comes before any
    database or bcrypt work.
    """
    async with rate_limits.limiter.login_attempt(email, client, device) as attempt:
        user = await users.get_user_by_email(session, email)
        # Give the connection back before ~250 ms of hashing: a burst of logins must
        # not hold the pool that every other request needs.
        await session.commit()
        if user is None:
            await burn_password_check(password)
            attempt.failed()
            LOGINS.labels("invalid").inc()
            raise BadRequest(messages.INCORRECT_LOGIN)
        if not await verify_password(password, user.hashed_password):
            attempt.failed()
            LOGINS.labels("invalid").inc()
            raise BadRequest(messages.INCORRECT_LOGIN)
    if not user.is_active:
        LOGINS.labels("inactive").inc()
        raise BadRequest(messages.INACTIVE_USER)
    LOGINS.labels("success").inc()
    set_user(user.id)
    return user


@dataclass(frozen=True)
class Login:
    """A new session's tokens, and the device token to send on the next logins."""

    tokens: sessions.Tokens
    device_token: str


async def login(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    client: str,
    user_agent: str,
    device_token: str | None = None,
) -> Login:
    """Check the credentials and start a session (REST and UI logins alike); with
    two-factor on, TwoFactorRequired instead, whose challenge goes on at login_two_factor."""
    device = known_device(device_token, email)
    user = await authenticate(session, email, password, client=client, device=device)
    return await sign_in(
        session, user, client=client, user_agent=user_agent, device_token=device_token
    )


async def sign_in(
    session: AsyncSession,
    user: User,
    *,
    client: str,
    user_agent: str,
    device_token: str | None = None,
) -> Login:
    """Start a session for a user who proved who they are (a password, a provider's
    sign-on); with two-factor on, TwoFactorRequired instead: the account's second
    factor applies whatever proved the first."""
    if not user.is_active:
        raise BadRequest(messages.INACTIVE_USER)
    assert user.id is not None
    if user.two_factor_enabled:
        raise TwoFactorRequired(messages.TWO_FACTOR_REQUIRED, create_two_factor_challenge(user.id))
    device = known_device(device_token, user.email)
    return await _start_session(session, user, client, user_agent, device_token if device else None)


async def _start_session(
    session: AsyncSession, user: User, client: str, user_agent: str, known_token: str | None
) -> Login:
    """A new session; `known_token` is the device token of a known device, which keeps
    it, else the device gets one of its own."""
    tokens = await sessions.start(session, user, user_agent=user_agent, ip_address=client)
    device_token = known_token or create_device_token(rate_limits.identifier(user.email))
    return Login(tokens, device_token)


async def login_two_factor(
    session: AsyncSession,
    challenge: str,
    code: str,
    *,
    client: str,
    user_agent: str,
    device_token: str | None = None,
) -> Login:
    """The second step of a login: the challenge of a right password, and a TOTP or
    recovery code, taken once. A wrong code counts against the login limits as a wrong
    password does (the account's and the address's, or the known device's)."""
    try:
        claims = decode_token(challenge, "2fa")
    except InvalidTokenError:
        raise BadRequest(messages.INVALID_TWO_FACTOR_CHALLENGE) from None
    user = await users.get_user(session, claims.user_id)
    # A password changed (or two-factor turned off) since the challenge voids it.
    if (
        user is None
        or not user.two_factor_enabled
        or issued_before_password_change(claims, user.password_changed_at)
    ):
        raise BadRequest(messages.INVALID_TWO_FACTOR_CHALLENGE)
    if not user.is_active:
        raise BadRequest(messages.INACTIVE_USER)
    device = known_device(device_token, user.email)
    async with rate_limits.limiter.login_attempt(user.email, client, device) as attempt:
        if not await two_factor.take_code(session, user, code):
            attempt.failed()
            LOGINS.labels("invalid").inc()
            raise BadRequest(messages.INVALID_TWO_FACTOR_CODE)
    # Counted a success already at the password step.
    set_user(user.id)
    return await _start_session(session, user, client, user_agent, device_token if device else None)


async def caller_from_access_token(token: str) -> sessions.Caller:
    """The active user a bearer token speaks for, and its session; the one path API and
    UI share.

    It needs no session: the lookup borrows a pooled connection for the one query
    (the user and the session together) and gives it back before the request goes on.
    """
    try:
        claims = decode_token(token, "access")
    except InvalidTokenError:
        raise InvalidCredentials() from None
    found = await users.get_caller(claims.user_id, claims.session_id)
    if found is None:
        raise NotFound(messages.USER_NOT_FOUND)
    user, times = found
    if not user.is_active:
        raise BadRequest(messages.INACTIVE_USER)
    now = utcnow()
    if times is None or not times.is_live(now):
        # Ended, expired, or never this user's: refused like any bad token.
        raise InvalidCredentials()
    await sessions.touch(claims.session_id, times.last_used_at, now)
    set_user(user.id)
    act_for(user.id)
    return sessions.Caller(user, claims.session_id)


async def user_from_access_token(token: str) -> User:
    return (await caller_from_access_token(token)).user


async def logout(session: AsyncSession, caller: sessions.Caller) -> None:
    """End the caller's session: its access and refresh tokens stop working."""
    assert caller.user.id is not None
    await sessions.end(session, caller.user.id, caller.session_id)


async def refresh(session: AsyncSession, refresh_token: str) -> sessions.Tokens:
    """New tokens for a refresh token's session (see sessions.rotate)."""
    try:
        claims = decode_token(refresh_token, "refresh")
    except InvalidTokenError:
        raise InvalidCredentials() from None
    return await sessions.rotate(session, claims.user_id, claims.session_id, claims.generation)


def require_superuser(user: User) -> User:
    if not user.is_superuser:
        raise Forbidden(messages.NOT_ENOUGH_PRIVILEGES)
    return user


async def request_password_recovery(session: AsyncSession, email: str, *, client: str) -> None:
    """Mail a reset link if the account exists and is active; say nothing either way.

    Every request counts, known email or not, so the limits tell nothing either.
    """
    await rate_limits.limiter.charge(
        (Limit.RECOVERY_PER_ADDRESS, client), (Limit.RECOVERY_PER_EMAIL, email)
    )
    user = await users.get_user_by_email(session, email)
    if user is None or not user.is_active:
        logger.info("Password recovery requested for an unknown or inactive account")
        return
    assert user.id is not None
    schedule_email(user.email, build_reset_password_email(user.email, create_reset_token(user.id)))


async def reset_password(session: AsyncSession, token: str, new_password: str) -> None:
    """Set a new password from a reset token; the token then stops working."""
    try:
        claims = decode_token(token, "reset")
    except InvalidTokenError:
        raise BadRequest(messages.INVALID_TOKEN) from None
    user = await users.get_user(session, claims.user_id)
    if user is None or issued_before_password_change(claims, user.password_changed_at):
        raise BadRequest(messages.INVALID_TOKEN)
    if not user.is_active:
        raise BadRequest(messages.INACTIVE_USER)
    await session.commit()  # no transaction held while the new password hashes
    await users.reset_password(session, user, new_password)
