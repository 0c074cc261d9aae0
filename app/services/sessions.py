"""Sessions: one per login (REST or UI), what its access and refresh tokens speak for.

A session is live until it is ended (logout, its owner or a superuser, a password
change or reset, its user's deactivation), until SESSION_IDLE_TIMEOUT_MINUTES pass
without use, or SESSION_ABSOLUTE_TIMEOUT_DAYS after the login, whichever comes first.
Every request and UI event checks it in the caller lookup it makes anyway
(users.get_caller: one query), so an ended session's tokens stop at once, whatever
their `exp`. Its last use is written at most once a minute.

Ending sessions publishes a change notice of kind "session" (app/db/changes.py),
so the browser tabs of that user, on any backend replica, check theirs at once and a
tab whose session ended goes to the login page.
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, CursorResult, and_, delete, update
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.core.config import settings
from app.core.security import create_access_token, create_refresh_token
from app.db.changes import Change, notices
from app.models import (
    ADDRESS_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    SessionPublic,
    SessionsPublic,
    User,
    UserSession,
    is_storable_id,
    utcnow,
    without_unstorable,
)
from app.services import messages
from app.services.errors import InvalidCredentials, NotFound

logger = logging.getLogger(__name__)

# A session's last use is written when it is at least this old: the sessions page
# shows it to the minute, and a busy session costs one write a minute, not one a request.
TOUCH_SECONDS = 60.0


@dataclass(frozen=True)
class SessionTimes:
    """What the caller lookup reads of a session, beside its user."""

    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def ends_at(self) -> datetime:
        """When it ends if nobody uses it again: idle or absolute, whichever is first."""
        idle = self.last_used_at + timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
        return min(idle, self.expires_at)

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.ends_at()


@dataclass(frozen=True)
class Caller:
    """Who a token speaks for, and through which session."""

    user: User
    session_id: int


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    # Seconds the access token is good for.
    expires_in: int


def _clip(text: str, length: int) -> str:
    # What a client says of itself is stored as it came, but never more than fits, nor
    # what the database cannot hold (a NUL in a header would fail the login).
    return without_unstorable(text)[:length]


def _live(now: datetime) -> ColumnElement[bool]:
    idle_since = now - timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)
    return and_(
        col(UserSession.revoked_at).is_(None),
        col(UserSession.expires_at) > now,
        col(UserSession.last_used_at) > idle_since,
    )


def issue_tokens(row: UserSession) -> Tokens:
    """A new access token of the session, and its current refresh token."""
    assert row.id is not None
    now = utcnow()
    access_expires = min(
        now + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES), row.expires_at
    )
    return Tokens(
        access_token=create_access_token(row.user_id, row.id, access_expires),
        refresh_token=create_refresh_token(
            row.user_id, row.id, row.refresh_generation, row.expires_at
        ),
        expires_in=max(0, int((access_expires - now).total_seconds())),
    )


async def start(session: AsyncSession, user: User, *, user_agent: str, ip_address: str) -> Tokens:
    """A new session for `user` (who just proved who they are), and its tokens.

    The user's ended and expired sessions are deleted on the way, and past
    MAX_SESSIONS_PER_USER the live ones unused longest are ended: what one account
    keeps stays bounded, however often it logs in.
    """
    assert user.id is not None
    now = utcnow()
    await session.exec(delete(UserSession).where(col(UserSession.user_id) == user.id, ~_live(now)))
    row = UserSession(
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(days=settings.SESSION_ABSOLUTE_TIMEOUT_DAYS),
        user_agent=_clip(user_agent, USER_AGENT_MAX_LENGTH),
        ip_address=_clip(ip_address, ADDRESS_MAX_LENGTH),
    )
    session.add(row)
    await session.flush()
    surplus = (
        select(col(UserSession.id))
        .where(col(UserSession.user_id) == user.id, _live(now))
        .order_by(col(UserSession.last_used_at).desc(), col(UserSession.id).desc())
        .offset(settings.MAX_SESSIONS_PER_USER)
    )
    ended = await _end(session, col(UserSession.id).in_(surplus), now)
    await session.commit()
    await _tell(user.id, ended)
    return issue_tokens(row)


async def _end(session: AsyncSession, which: ColumnElement[bool], now: datetime) -> int:
    """End the live sessions `which` selects; how many. The caller commits."""
    result = await session.exec(
        update(UserSession)
        .where(which, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def _tell(user_id: int, ended: int) -> None:
    """Let the user's open tabs, on every replica, check their sessions."""
    if ended and notices.enabled:
        await notices.publish([Change("session", 0, user_id, "deleted")])


async def end_where(session: AsyncSession, user_id: int, which: ColumnElement[bool]) -> int:
    """End the user's live sessions that `which` selects, commit, and tell their tabs."""
    ended = await _end(session, and_(col(UserSession.user_id) == user_id, which), utcnow())
    await session.commit()
    await _tell(user_id, ended)
    return ended


async def end(session: AsyncSession, user_id: int, session_id: int) -> None:
    """End one of the user's sessions (logout is the caller's own); NotFound if the user
    has no live session of that id."""
    if not is_storable_id(session_id):
        raise NotFound(messages.SESSION_NOT_FOUND)
    if not await end_where(
        session, user_id, and_(col(UserSession.id) == session_id, _live(utcnow()))
    ):
        raise NotFound(messages.SESSION_NOT_FOUND)


async def end_others(session: AsyncSession, user_id: int, keep: int) -> int:
    """End every session of the user but `keep` (0: all of them); how many ended."""
    return await end_where(session, user_id, col(UserSession.id) != keep)


async def end_all(session: AsyncSession, user_id: int) -> int:
    return await end_others(session, user_id, 0)


async def list_sessions(session: AsyncSession, user_id: int, current: int) -> SessionsPublic:
    """The user's live sessions, the one used last first; `current` is marked."""
    rows = (
        await session.exec(
            select(UserSession)
            .where(col(UserSession.user_id) == user_id, _live(utcnow()))
            .order_by(col(UserSession.last_used_at).desc(), col(UserSession.id).desc())
            .limit(settings.MAX_SESSIONS_PER_USER)
        )
    ).all()
    data = [
        SessionPublic(
            id=row.id or 0,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=SessionTimes(row.last_used_at, row.expires_at, None).ends_at(),
            user_agent=row.user_agent,
            ip_address=row.ip_address,
            current=row.id == current,
        )
        for row in rows
    ]
    return SessionsPublic(data=data, count=len(data))


class Touches:
    """Writes a session's last use at most once per TOUCH_SECONDS from this process.

    Remembers the sessions it wrote lately, so that a burst of requests on one session
    makes one write, not one each; bounded, since every session passes through it.
    """

    MAX_REMEMBERED = 10_000

    def __init__(self) -> None:
        self._written: dict[int, float] = {}

    async def __call__(self, session_id: int, last_used_at: datetime, now: datetime) -> None:
        if (now - last_used_at).total_seconds() < TOUCH_SECONDS:
            return
        clock = time.monotonic()
        if clock - self._written.get(session_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
            return
        if len(self._written) >= self.MAX_REMEMBERED:
            self._written.clear()
        self._written[session_id] = clock
        try:
            async with db.engine.begin() as connection:
                await connection.execute(
                    update(UserSession)
                    .where(col(UserSession.id) == session_id)
                    .values(last_used_at=now)
                )
        except OperationalError as error:
            # The request it rides on must not fail for it: the next one writes it.
            self._written.pop(session_id, None)
            logger.warning("Could not note the use of session %s: %s", session_id, error)


touch = Touches()


async def rotate(session: AsyncSession, user_id: int, session_id: int, generation: int) -> Tokens:
    """New tokens for the session of a refresh token of `generation`; that refresh token
    retires. A retired one presented again is taken for a stolen copy: the session ends
    (with the access tokens of whoever refreshed last), and both parties log in again.

    One conditional UPDATE moves the rotation on, so of two refreshes racing with one
    token exactly one wins, on SQLite too.
    """
    now = utcnow()
    mine = and_(col(UserSession.id) == session_id, col(UserSession.user_id) == user_id)
    moved = await session.exec(
        update(UserSession)
        .where(mine, col(UserSession.refresh_generation) == generation, _live(now))
        .values(refresh_generation=generation + 1, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(moved, CursorResult)
    if moved.rowcount == 1:
        row = (await session.exec(select(UserSession).where(mine))).one()
        await session.commit()
        return issue_tokens(row)
    reused = and_(mine, col(UserSession.refresh_generation) > generation)
    ended = await _end(session, reused, now)
    await session.commit()
    if ended:
        logger.warning(
            "A retired refresh token of session %s was presented again: session ended",
            session_id,
        )
        await _tell(user_id, ended)
    raise InvalidCredentials()
