"""Small factories for test data."""

import secrets
import string
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import create_access_token
from app.db import session_scope
from app.models import Item, ItemCreate, User
from app.services import items, sessions, users


def random_lower_string(length: int = 32) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def random_email() -> str:
    return f"{random_lower_string(12)}@example.com"


async def create_item(session: AsyncSession, owner: User, title: str | None = None) -> Item:
    data = ItemCreate(title=title or random_lower_string(12), description=random_lower_string(20))
    return await items.create_item(session, owner, data)


async def session_token(user_id: int, user_agent: str = "pytest") -> str:
    """An access token of a new session of the user, as a login would make it."""
    async with session_scope() as session:
        user = await session.get(User, user_id)
        assert user is not None
        tokens = await sessions.start(session, user, user_agent=user_agent, ip_address="127.0.0.1")
    return tokens.access_token


def token_without_session(user_id: int, session_id: int = 1) -> str:
    """A well-signed access token naming a session that may not exist: for outcomes that
    come before or regardless of the session (no such user, a dead database)."""
    expires_at = datetime.now(UTC) + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    return create_access_token(user_id, session_id, expires_at)


async def detached_user(user_id: int) -> User | None:
    """The user as the caller lookup reads them (without a session of theirs)."""
    found = await users.get_caller(user_id, 0)
    return None if found is None else found[0]
