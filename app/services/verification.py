"""Email verification: the mailed link, its use (which also confirms a change of
address), and the gate on unverified accounts."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import (
    MAX_CLAIM,
    InvalidTokenError,
    create_verify_token,
    decode_verify_token,
)
from app.emails import (
    build_confirm_email_change_email,
    build_email_changed_email,
    build_verify_email,
    schedule_email,
)
from app.models import User
from app.services import messages, rate_limits
from app.services.errors import BadRequest, Conflict, Forbidden
from app.services.rate_limits import Limit


def send_verification_email(user: User) -> None:
    """Mail `user` a link that proves their address (in the background, never failing)."""
    assert user.id is not None
    token = create_verify_token(user.id, user.email)
    schedule_email(user.email, build_verify_email(user.email, token))


def send_email_change_emails(user: User, old_email: str, new_email: str, *, pending: bool) -> None:
    """A change of address: a link to the new one (which makes a `pending` change, or
    verifies one made at once), and a notice to the old one, which may be the owner's
    only way to learn that someone else has the account."""
    assert user.id is not None
    token = create_verify_token(user.id, new_email)
    if pending:
        message = build_confirm_email_change_email(new_email, old_email, token)
    else:
        message = build_verify_email(new_email, token)
    schedule_email(new_email, message)
    schedule_email(old_email, build_email_changed_email(old_email, new_email, pending=pending))


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


async def verify_email(session: AsyncSession, token: str) -> str:
    """Mark the address a link was mailed to as verified, or make it the account's if
    it is the one the user asked to move to; the link then stops working. Answers what
    was done, in the contract's words.

    The link counts only while that address is the account's or its pending one: one
    mailed to an address it no longer has, or no longer asks for, proves nothing.
    Written through the ORM, so the change notice goes out and the user's open tabs
    follow (the banner goes, the new address shows).
    """
    try:
        claims = decode_verify_token(token)
    except InvalidTokenError:
        raise BadRequest(messages.INVALID_TOKEN) from None
    # (users.py sends these mails, so this module cannot import it.)
    user = await session.get(User, claims.user_id) if claims.user_id <= MAX_CLAIM else None
    if user is None or claims.email not in (user.email, user.pending_email):
        raise BadRequest(messages.INVALID_TOKEN)
    if not user.is_active:
        raise BadRequest(messages.INACTIVE_USER)
    if claims.email != user.email:
        await _move_to_pending_email(session, user)
        return messages.EMAIL_CHANGED
    if user.email_verified:
        raise BadRequest(messages.EMAIL_ALREADY_VERIFIED)
    user.email_verified = True
    session.add(user)
    await session.commit()
    return messages.EMAIL_VERIFIED


async def _taken_by_other(session: AsyncSession, email: str, user: User) -> bool:
    taken = await session.exec(
        select(col(User.id)).where(col(User.email) == email, col(User.id) != user.id)
    )
    return taken.first() is not None


async def _move_to_pending_email(session: AsyncSession, user: User) -> None:
    """The pending address becomes the account's, verified. Pending addresses are not
    reserved: if another account has it by now (a sign-up, a change confirmed first),
    409, never a 500 from the unique index, which settles a race the check misses."""
    conflict = Conflict(messages.EMAIL_TAKEN_UPDATE)
    new_email = user.pending_email
    assert new_email is not None
    if await _taken_by_other(session, new_email, user):
        raise conflict
    user.email, user.pending_email, user.email_verified = new_email, None, True
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise conflict from None
