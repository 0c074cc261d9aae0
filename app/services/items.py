"""Items: every read and write checks ownership (superusers see everything)."""

from typing import cast

from sqlalchemy import ColumnElement, bindparam, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import Item, ItemCreate, ItemRecord, ItemUpdate, User
from app.services import counts, messages
from app.services.errors import Forbidden, NotFound
from app.services.paging import CountedList, PageKey, SearchList, fetch_page
from app.services.users import is_storable_id

_RECORDS = select(*[getattr(Item, name) for name in ItemRecord.__annotations__])
_ORDER = [col(Item.created_at), col(Item.id)]
_NEWEST_FIRST = [column.desc() for column in _ORDER]
_OWNED = col(Item.owner_id) == bindparam("owner_id")
# The two lists every list view asks for; searches are built per request.
_ALL_ITEMS = CountedList.build(_RECORDS, col(Item.id), _ORDER, counts.ALL_ITEMS)
_OWN_ITEMS = CountedList.build(_RECORDS, col(Item.id), _ORDER, counts.ITEMS_OF_OWNER, _OWNED)


def _matching(search: str) -> ColumnElement[bool]:
    return or_(
        col(Item.title).icontains(search, autoescape=True),
        col(Item.description).icontains(search, autoescape=True),
    )


def list_query(user: User, search: str | None = None) -> CountedList | SearchList:
    """The list of items `user` may see (all of them for a superuser), or the matches."""
    if not search:
        return _ALL_ITEMS if user.is_superuser else _OWN_ITEMS
    statement = _RECORDS.where(_matching(search))
    if not user.is_superuser:
        statement = statement.where(_OWNED)
    return SearchList.build(statement, _NEWEST_FIRST)


async def list_items(
    session: AsyncSession,
    user: User,
    skip: int,
    limit: int,
    search: str | None = None,
    *,
    after: PageKey | None = None,
    before: PageKey | None = None,
) -> tuple[list[ItemRecord], int]:
    """One page of the items `user` may see, newest first, and how many there are; with
    `after` / `before` (an item's created_at and id), the page next to that item.

    Plain records, not ORM objects or models: a page of rows costs next to nothing
    to build or serialize.
    """
    query = list_query(user, search)
    rows, count = await fetch_page(
        session, query, skip, limit, after=after, before=before, owner_id=user.id
    )
    return cast(list[ItemRecord], rows), count


async def get_item(session: AsyncSession, user: User, item_id: int) -> Item:
    """The item if it exists (404 first) and `user` may see it (then 403)."""
    item = await session.get(Item, item_id) if is_storable_id(item_id) else None
    if item is None:
        raise NotFound(messages.ITEM_NOT_FOUND)
    if not user.is_superuser and item.owner_id != user.id:
        raise Forbidden(messages.NOT_ENOUGH_PERMISSIONS)
    return item


async def create_item(session: AsyncSession, user: User, data: ItemCreate) -> Item:
    assert user.id is not None
    item = Item.model_validate(data, update={"owner_id": user.id})
    session.add(item)
    await session.commit()
    return item


async def update_item(session: AsyncSession, user: User, item_id: int, data: ItemUpdate) -> Item:
    """Partial update: only the fields sent change (the template's PUT semantics)."""
    item = await get_item(session, user, item_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("title", "") is None:
        # title is NOT NULL: an explicit null leaves it unchanged.
        del changes["title"]
    item.sqlmodel_update(changes)
    session.add(item)
    await session.commit()
    return item


async def delete_item(session: AsyncSession, user: User, item_id: int) -> None:
    item = await get_item(session, user, item_id)
    await session.delete(item)
    await session.commit()
