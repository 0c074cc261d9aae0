"""Email verification: the mailed link, its use, and the gate on unverified accounts."""

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import (
    MAX_CLAIM,
    InvalidTokenError,
    create_verify_token,
    decode_verify_token,
)
from app.emails import build_verify_email, schedule_email
from app.models import User
from app.services import messages, rate_limits
from app.services.errors import BadRequest, Forbidden
from app.services.rate_limits import Limit


def send_verification_email(user: User) -> None:
    """Mail `user` a link that proves their address (in the background, never failing)."""
    assert user.id is not None
    token = create_verify_token(user.id, user.email)
    schedule_email(user.email, build_verify_email(user.email, token))


def must_verify(user: User) -> bool:
    """Whether `user` is held to verifying their address before anything else."""
    return settings.REQUIRE_EMAIL_VERIFICATION and not user.email_verified


def require_verified(user: User) -> User:
    """The gate of REQUIRE_EMAIL_VERIFICATION, which every face asks before any work
    but verifying, asking for a new link, logging out and deleting the account."""
    if must_verify(user):
        raise Forbidden(messages.EMAIL_NOT_VERIFIED)
    return user


async def resend_verification_email(user: User) -> None:
    """A new link for an account that asks; counted per account, so nobody can make the
    server mail an address over and over."""
    if user.email_verified:
        raise BadRequest(messages.EMAIL_ALREADY_VERIFIED)
    await rate_limits.limiter.charge((Limit.VERIFICATION_EMAILS_PER_ACCOUNT, str(user.id)))
    send_verification_email(user)


async def verify_email(session: AsyncSession, token: str) -> User:
    """Mark the address a link was mailed to as verified; the link then stops working.

    The link counts only while the account still has that address: one mailed to an
    address it no longer has proves nothing. Written through the ORM, so the change
    notice goes out and the user's open tabs drop the banner.
    """
    try:
        claims = decode_verify_token(token)
    except InvalidTokenError:
        raise BadRequest(messages.INVALID_TOKEN) from None
    # (users.py sends these mails, so this module cannot import it.)
    user = await session.get(User, claims.user_id) if claims.user_id <= MAX_CLAIM else None
    if user is None or user.email != claims.email:
        raise BadRequest(messages.INVALID_TOKEN)
    if not user.is_active:
        raise BadRequest(messages.INACTIVE_USER)
    if user.email_verified:
        raise BadRequest(messages.EMAIL_ALREADY_VERIFIED)
    user.email_verified = True
    session.add(user)
    await session.commit()
    return user
