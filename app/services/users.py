"""Accounts: creation, lookup, updates, password changes and deletion."""

from typing import Any, cast

from sqlalchemy import ColumnElement, and_, bindparam, false, or_, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.core.config import settings
from app.core.security import (
    UNUSABLE_PASSWORD,
    create_reset_token,
    hash_password,
    verify_password,
)
from app.db import counts
from app.db.paging import CountedList, PageKey, SearchList, fetch_page
from app.db.rows import RowQuery, detached
from app.emails import build_new_account_email, schedule_email
from app.models import (
    PrivateUserCreate,
    User,
    UserCreate,
    UserIdentity,
    UserRecord,
    UserRegister,
    UserSession,
    UserUpdate,
    UserUpdateMe,
    is_storable_id,
    utcnow,
)
from app.services import messages, rate_limits, sessions, verification
from app.services.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from app.services.rate_limits import Limit
from app.services.sessions import SessionTimes

# Built once: these run on every authenticated request and every login.
_USER_BY_ID = select(User).where(col(User.id) == bindparam("user_id"))
_USER_BY_EMAIL = select(User).where(col(User.email) == bindparam("email"))
_USER_COLUMNS = [column.name for column in User.__table__.columns]  # type: ignore[attr-defined]
# The user and the token's session in one round trip; no session row (ended and
# deleted, another user's, made up) leaves the session's columns NULL.
_SESSION_COLUMNS = {
    "session_last_used_at": col(UserSession.last_used_at),
    "session_expires_at": col(UserSession.expires_at),
    "session_revoked_at": col(UserSession.revoked_at),
}
_CALLER = RowQuery(
    select(User, *[column.label(name) for name, column in _SESSION_COLUMNS.items()])
    .outerjoin(
        UserSession,
        and_(
            col(UserSession.id) == bindparam("session_id"),
            col(UserSession.user_id) == col(User.id),
        ),
    )
    .where(col(User.id) == bindparam("user_id"))
)


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    if not is_storable_id(user_id):
        return None
    return (await session.exec(_USER_BY_ID, params={"user_id": user_id})).first()


async def get_caller(user_id: int, session_id: int) -> tuple[User, SessionTimes | None] | None:
    """The user behind a request and the times of the token's session (None: no such
    session of theirs), in one query read without a session (see app.db.rows).

    From the primary, so that an ended session stops at once; from the replica only while
    the primary does not answer (see docs/operations.md, failover). The user comes back
    detached, as if loaded and then expunged, so a route's session can take it over to
    update or delete it.
    """
    if not is_storable_id(user_id):
        return None
    params = {"user_id": user_id, "session_id": session_id}
    try:
        row = await _CALLER.fetch(**params)
    except (OperationalError, InterfaceError):
        # Not a pool timeout: a busy primary is no reason to read elsewhere. Looked up
        # per call, as the primary's engine is: tests swap them.
        if not db.has_replica() or db.replica_health.is_down():
            raise
        # The primary is gone (a failover under way): the synchronous standby holds
        # every acknowledged write, a session's end included, so callers keep reading.
        row = await _CALLER.fetch_on(db.replica_engine, params)
    if row is None:
        return None
    user = detached(User, {name: row[name] for name in _USER_COLUMNS})
    if row["session_expires_at"] is None:
        return user, None
    return user, SessionTimes(
        last_used_at=row["session_last_used_at"],
        expires_at=row["session_expires_at"],
        revoked_at=row["session_revoked_at"],
    )


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(_USER_BY_EMAIL, params={"email": email})).first()


async def _email_owned_by_other(session: AsyncSession, email: str, user_id: int | None) -> bool:
    owner = await get_user_by_email(session, email)
    return owner is not None and owner.id != user_id


async def _commit_unique_email(session: AsyncSession, error: DomainError) -> None:
    """Commit, turning a lost race on the unique email index into `error`."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise error from None


async def _insert_user(
    session: AsyncSession, fields: dict[str, Any], password: str, duplicate: DomainError
) -> User:
    # Hashing first keeps the connection out of the pool only for the queries,
    # and makes a taken email cost as much time as a new one.
    hashed_password = await hash_password(password)
    # The pre-check answers the common case without an exception; the unique index
    # (caught in _commit_unique_email) settles concurrent sign-ups with one email.
    if await get_user_by_email(session, fields["email"]):
        raise duplicate
    user = User(**fields, hashed_password=hashed_password)
    session.add(user)
    await _commit_unique_email(session, duplicate)
    return user


async def create_user(
    session: AsyncSession, data: UserCreate, *, email_verified: bool = False
) -> User:
    """A superuser creates an account with any flags; its address is unverified unless
    whoever configured it vouches for it (`email_verified`, the first superuser)."""
    return await _insert_user(
        session,
        {**data.model_dump(exclude={"password"}), "email_verified": email_verified},
        data.password,
        BadRequest(messages.EMAIL_TAKEN_ADMIN),
    )


async def create_user_by_admin(session: AsyncSession, data: UserCreate) -> User:
    """A superuser adds an account; its owner is mailed a link to set a password.

    The mail belongs to the rule, not to a face: the Admin page and `POST /users/`
    both come through here. It never carries the password, and goes out only when
    a real mail backend is configured.
    """
    user = await create_user(session, data)
    if settings.emails_enabled:
        assert user.id is not None
        schedule_email(user.email, build_new_account_email(user.email, create_reset_token(user.id)))
    return user


async def register_user(session: AsyncSession, data: UserRegister, *, client: str) -> User:
    """Open sign-up: always an active, ordinary user.

    Every attempt counts against the `client` address's limit, a taken email too:
    sign-up must not become a way to test which emails have accounts.
    """
    await rate_limits.limiter.charge((Limit.SIGNUPS_PER_ADDRESS, client))
    user = await _insert_user(
        session,
        {"email": data.email, "full_name": data.full_name},
        data.password,
        BadRequest(messages.EMAIL_TAKEN_SIGNUP),
    )
    verification.send_verification_email(user)
    return user


async def register_sso_user(
    session: AsyncSession,
    identity: UserIdentity,
    full_name: str | None,
    *,
    email_verified: bool,
    client: str,
) -> User:
    """Sign-up through a provider: an active, ordinary user with the identity's address
    and no password (one can be set through password recovery), linked to `identity`.

    Counted as a sign-up of the `client` address; an address the provider has not
    verified is mailed a verification link, as at sign-up with a password.
    """
    await rate_limits.limiter.charge((Limit.SIGNUPS_PER_ADDRESS, client))
    duplicate = BadRequest(messages.EMAIL_TAKEN_SIGNUP)
    if await get_user_by_email(session, identity.email):
        raise duplicate
    user = User(
        email=identity.email,
        full_name=full_name,
        email_verified=email_verified,
        hashed_password=UNUSABLE_PASSWORD,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise duplicate from None
    assert user.id is not None
    identity.user_id = user.id
    session.add(identity)
    # A race on the address or on the identity (the same login twice at once) alike.
    await _commit_unique_email(session, duplicate)
    if not email_verified:
        verification.send_verification_email(user)
    return user


async def create_private_user(session: AsyncSession, data: PrivateUserCreate) -> User:
    """Development seeding; `is_verified` (the template's field, which it ignores) says
    whether the address counts as verified."""
    return await _insert_user(
        session,
        {"email": data.email, "full_name": data.full_name, "email_verified": data.is_verified},
        data.password,
        BadRequest(messages.EMAIL_TAKEN_SIGNUP),
    )


_USER_RECORDS = select(*[getattr(User, name) for name in UserRecord.__annotations__])
_ORDER = [col(User.created_at), col(User.id)]
_NEWEST_FIRST = [column.desc() for column in _ORDER]
# The list the API and the admin table ask for; searches are built per request.
_ALL_USERS = CountedList.build(_USER_RECORDS, col(User.id), _ORDER, counts.ALL_USERS)


def _matching(search: str) -> ColumnElement[bool]:
    return or_(
        col(User.email).icontains(search, autoescape=True),
        col(User.full_name).icontains(search, autoescape=True),
    )


def list_query(search: str | None = None) -> CountedList | SearchList:
    """All accounts, or those whose email or full name contains `search` (any case)."""
    if not search:
        return _ALL_USERS
    return SearchList.build(_USER_RECORDS.where(_matching(search)), _NEWEST_FIRST)


async def list_users(
    session: AsyncSession,
    skip: int,
    limit: int,
    search: str | None = None,
    *,
    after: PageKey | None = None,
    before: PageKey | None = None,
) -> tuple[list[UserRecord], int]:
    """One page of accounts, newest first, as plain records, and how many there are;
    with `after` / `before` (an account's created_at and id), the page next to it."""
    rows, count = await fetch_page(
        session, list_query(search), skip, limit, after=after, before=before
    )
    return cast(list[UserRecord], rows), count


async def read_user(session: AsyncSession, caller: User, user_id: int) -> User:
    """Anyone may read themselves; only a superuser may read others."""
    if caller.id == user_id:
        return caller
    if not caller.is_superuser:
        raise Forbidden(messages.NOT_ENOUGH_PRIVILEGES)
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound(messages.USER_NOT_FOUND)
    return user


def _store_password_hash(user: User, hashed_password: str) -> None:
    """A new password; every token issued before this instant stops working.

    Callers hash before they open a transaction, so no connection waits on bcrypt.
    """
    user.hashed_password = hashed_password
    user.password_changed_at = utcnow()


async def _keep_a_superuser(session: AsyncSession, user: User) -> None:
    """Refuse to leave no active superuser: nobody could then run the Admin page.

    Locks the user and every active superuser (in id order, so two superusers demoting
    each other at once wait in turn rather than deadlock); the second then finds the
    first already demoted. On SQLite the write lock, taken first, serializes them.
    """
    if not (user.is_superuser and user.is_active):
        return
    if session.get_bind().dialect.name == "sqlite":
        # No row locks, and the driver begins a transaction only at the first write:
        # take the database's write lock now, so the count below is the one we write on.
        await session.exec(update(User).where(false()).values(is_active=True))
    rows = await session.exec(
        select(col(User.id))
        .where(or_(and_(col(User.is_superuser), col(User.is_active)), col(User.id) == user.id))
        .order_by(col(User.id))
        .with_for_update()
    )
    if not [row for row in rows.all() if row != user.id]:
        raise BadRequest(messages.LAST_SUPERUSER)


async def update_user(
    session: AsyncSession, user_id: int, data: UserUpdate, *, current_session: int = 0
) -> User:
    """A superuser's update. A new password ends the user's sessions (but
    `current_session`, the caller's own), deactivation ends all of them."""
    hashed_password = await hash_password(data.password) if data.password else None
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound(messages.USER_ID_NOT_FOUND)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("is_superuser") is False or changes.get("is_active") is False:
        await _keep_a_superuser(session, user)
    conflict = Conflict(messages.EMAIL_TAKEN_UPDATE)
    email = changes.get("email")
    if email and await _email_owned_by_other(session, email, user.id):
        raise conflict
    changes.pop("password", None)
    if "email" in changes and changes["email"] is None:
        # The column is NOT NULL: an explicit null means "leave as is".
        del changes["email"]
    user.sqlmodel_update(changes)
    if hashed_password:
        _store_password_hash(user, hashed_password)
    session.add(user)
    await _commit_unique_email(session, conflict)
    assert user.id is not None
    if not user.is_active:
        await sessions.end_all(session, user.id)
    elif hashed_password:
        await sessions.end_others(session, user.id, current_session)
    return user


async def update_me(session: AsyncSession, user: User, data: UserUpdateMe) -> User:
    """The caller's own name and address. A new address waits as `pending_email` for
    the link mailed to it with CONFIRM_EMAIL_CHANGES, else changes at once, unverified;
    the old address is told either way (verification.send_email_change_emails)."""
    changes = data.model_dump(exclude_unset=True)
    conflict = Conflict(messages.EMAIL_TAKEN_UPDATE)
    new_email = changes.pop("email", None)
    if new_email == user.email:
        new_email = None
    if new_email is not None and await _email_owned_by_other(session, new_email, user.id):
        raise conflict
    old_email, pending = user.email, settings.CONFIRM_EMAIL_CHANGES
    if new_email is not None and pending:
        changes["pending_email"] = new_email
    elif new_email is not None:
        changes.update(email=new_email, email_verified=False, pending_email=None)
    user.sqlmodel_update(changes)
    session.add(user)
    await _commit_unique_email(session, conflict)
    if new_email is not None:
        verification.send_email_change_emails(user, old_email, new_email, pending=pending)
    return user


async def change_password(
    session: AsyncSession,
    user: User,
    current_password: str,
    new_password: str,
    *,
    current_session: int,
) -> None:
    """Change the caller's password; every session but theirs (`current_session`) ends."""
    if not await verify_password(current_password, user.hashed_password):
        raise BadRequest(messages.INCORRECT_PASSWORD)
    if current_password == new_password:
        raise BadRequest(messages.SAME_PASSWORD)
    _store_password_hash(user, await hash_password(new_password))
    session.add(user)
    await session.commit()
    assert user.id is not None
    await sessions.end_others(session, user.id, current_session)


async def reset_password(session: AsyncSession, user: User, new_password: str) -> None:
    """A new password from a reset link: every session of the user ends (whoever
    reset it may be the owner locking a thief out)."""
    _store_password_hash(user, await hash_password(new_password))
    session.add(user)
    await session.commit()
    assert user.id is not None
    await sessions.end_all(session, user.id)


async def delete_me(session: AsyncSession, user: User) -> None:
    if user.is_superuser:
        raise Forbidden(messages.SUPERUSER_SELF_DELETE)
    session.add(user)
    await session.delete(user)
    await session.commit()


async def delete_user(session: AsyncSession, caller: User, user_id: int) -> None:
    """A superuser deletes an account; its items go with it (FK cascade)."""
    user = await get_user(session, user_id)
    if user is None:
        raise NotFound(messages.USER_NOT_FOUND)
    if user.id == caller.id:
        raise Forbidden(messages.SUPERUSER_SELF_DELETE)
    await _keep_a_superuser(session, user)
    await session.delete(user)
    await session.commit()


async def ensure_first_superuser(session: AsyncSession) -> User:
    """Create FIRST_SUPERUSER if no account has that email; idempotent."""
    user = await get_user_by_email(session, settings.FIRST_SUPERUSER)
    if user is not None:
        return user
    data = UserCreate(
        email=settings.FIRST_SUPERUSER,
        password=settings.FIRST_SUPERUSER_PASSWORD,
        is_superuser=True,
    )
    try:
        # The deployment's own address: nobody is there to follow a link yet.
        return await create_user(session, data, email_verified=True)
    except BadRequest:
        # Another process created it between the check and the insert.
        existing = await get_user_by_email(session, settings.FIRST_SUPERUSER)
        assert existing is not None
        return existing
