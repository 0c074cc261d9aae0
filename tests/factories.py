"""Small factories for test data."""

import secrets
import string

from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Item, ItemCreate, User
from app.services import items


def random_lower_string(length: int = 32) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def random_email() -> str:
    return f"{random_lower_string(12)}@example.com"


async def create_item(session: AsyncSession, owner: User, title: str | None = None) -> Item:
    data = ItemCreate(title=title or random_lower_string(12), description=random_lower_string(20))
    return await items.create_item(session, owner, data)
