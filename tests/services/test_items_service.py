"""Item rules, exercised on the services directly (no HTTP)."""

import asyncio

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import ItemCreate, ItemUpdate, User, UserCreate
from app.services import items, messages, users
from app.services.errors import Forbidden, NotFound
from tests.factories import create_item, random_email, random_lower_string


async def new_user(session: AsyncSession, superuser: bool = False) -> User:
    return await users.create_user(
        session,
        UserCreate(email=random_email(), password=random_lower_string(), is_superuser=superuser),
    )


async def test_owner_and_superuser_see_an_item_others_do_not(session: AsyncSession) -> None:
    owner, stranger = await new_user(session), await new_user(session)
    admin = await new_user(session, superuser=True)
    item = await create_item(session, owner)
    assert item.id is not None and item.owner_id == owner.id
    assert (await items.get_item(session, owner, item.id)).id == item.id
    assert (await items.get_item(session, admin, item.id)).id == item.id
    with pytest.raises(Forbidden) as error:
        await items.get_item(session, stranger, item.id)
    assert error.value.detail == messages.NOT_ENOUGH_PERMISSIONS


async def test_missing_item_is_not_found_before_permissions(session: AsyncSession) -> None:
    stranger = await new_user(session)
    for item_id in (10**6, 0, -5, 2**40):
        with pytest.raises(NotFound) as error:
            await items.get_item(session, stranger, item_id)
        assert error.value.detail == messages.ITEM_NOT_FOUND


async def test_lists_are_scoped_paged_and_newest_first(session: AsyncSession) -> None:
    owner, other = await new_user(session), await new_user(session)
    admin = await new_user(session, superuser=True)
    mine = [await create_item(session, owner) for _ in range(4)]
    await create_item(session, other)
    page, count = await items.list_items(session, owner, skip=0, limit=2)
    assert count == 4
    assert [i["id"] for i in page] == [mine[3].id, mine[2].id]
    _, everything = await items.list_items(session, admin, skip=0, limit=100)
    assert everything == 5


async def test_search_matches_title_or_description_literally(session: AsyncSession) -> None:
    owner = await new_user(session)
    await items.create_item(session, owner, ItemCreate(title="Blue Whale", description=None))
    await items.create_item(session, owner, ItemCreate(title="Red", description="a whale song"))
    await items.create_item(session, owner, ItemCreate(title="100% cotton", description=None))
    await items.create_item(session, owner, ItemCreate(title="Green", description=None))
    found, count = await items.list_items(session, owner, 0, 10, search="WHALE")
    assert count == 2 and {i["title"] for i in found} == {"Blue Whale", "Red"}
    _, percent = await items.list_items(session, owner, 0, 10, search="%")
    assert percent == 1


async def test_partial_update_keeps_unsent_fields_and_moves_updated_at(
    session: AsyncSession,
) -> None:
    owner = await new_user(session)
    item = await items.create_item(session, owner, ItemCreate(title="T", description="D"))
    assert item.id is not None
    created, updated = item.created_at, item.updated_at
    await asyncio.sleep(0.01)
    changed = await items.update_item(
        session, owner, item.id, ItemUpdate.model_validate({"description": "New"})
    )
    assert (changed.title, changed.description) == ("T", "New")
    assert changed.created_at == created and changed.updated_at > updated


async def test_others_cannot_update_or_delete(session: AsyncSession) -> None:
    owner, stranger = await new_user(session), await new_user(session)
    item = await create_item(session, owner)
    assert item.id is not None
    with pytest.raises(Forbidden):
        await items.update_item(session, stranger, item.id, ItemUpdate(title="x"))
    with pytest.raises(Forbidden):
        await items.delete_item(session, stranger, item.id)
    await items.delete_item(session, owner, item.id)
    with pytest.raises(NotFound):
        await items.get_item(session, owner, item.id)


async def test_page_past_the_end_still_reports_the_total(session: AsyncSession) -> None:
    owner = await new_user(session)
    for _ in range(3):
        await create_item(session, owner)
    page, count = await items.list_items(session, owner, skip=10, limit=5)
    assert page == [] and count == 3
    empty_owner = await new_user(session)
    assert await items.list_items(session, empty_owner, skip=0, limit=5) == ([], 0)
    single_owner = await new_user(session)
    await create_item(session, single_owner)
    # skip == 1 with one row: past the end by exactly one, not an empty list.
    assert await items.list_items(session, single_owner, skip=1, limit=5) == ([], 1)


async def test_search_page_past_the_end_still_reports_the_total(session: AsyncSession) -> None:
    owner, admin = await new_user(session), await new_user(session, superuser=True)
    for title in ("whale one", "whale two", "shark"):
        await create_item(session, owner, title)
    assert await items.list_items(session, owner, skip=2, limit=5, search="whale") == ([], 2)
    assert await items.list_items(session, admin, skip=9, limit=5, search="WHALE") == ([], 2)
