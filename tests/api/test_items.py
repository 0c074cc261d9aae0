"""The items routes: CRUD, ownership, listing with paging and search, cascade on delete."""

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.models import Item, ItemCreate, User
from app.services import items
from tests.conftest import Account
from tests.factories import create_item

API = settings.API_V1_STR
ITEM_NOT_FOUND = {"detail": "Item not found"}
NOT_ENOUGH_PERMISSIONS = {"detail": "Not enough permissions"}
ITEM_FIELDS = {"id", "title", "description", "owner_id", "created_at", "updated_at"}


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def owner(session: AsyncSession, account: Account) -> User:
    user = await session.get(User, account.id)
    assert user is not None
    return user


async def item_of(
    session: AsyncSession,
    account: Account,
    title: str | None = None,
    description: str | None = None,
) -> Item:
    """An item owned by `account`: random when no title is given, else exactly these fields."""
    user = await owner(session, account)
    if title is None:
        return await create_item(session, user)
    return await items.create_item(session, user, ItemCreate(title=title, description=description))


async def items_owned_by(session: AsyncSession, user_id: int) -> int:
    await session.commit()
    statement = select(func.count()).select_from(Item).where(Item.owner_id == user_id)
    return (await session.exec(statement)).one()


# Create -----------------------------------------------------------------------------


async def test_user_creates_an_item(client: httpx.AsyncClient, normal_user: Account) -> None:
    r = await client.post(
        f"{API}/items/",
        headers=normal_user.headers,
        json={"title": "Groceries", "description": "Milk and eggs"},
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == ITEM_FIELDS
    assert body["title"] == "Groceries"
    assert body["description"] == "Milk and eggs"
    assert body["owner_id"] == normal_user.id
    assert isinstance(body["id"], int)
    assert body["created_at"]
    assert body["updated_at"]


async def test_item_description_is_optional(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(f"{API}/items/", headers=normal_user.headers, json={"title": "Only"})
    assert r.status_code == 200
    assert r.json()["description"] is None


async def test_item_owner_is_the_caller_whatever_the_body_says(
    client: httpx.AsyncClient, normal_user: Account, other_user: Account
) -> None:
    r = await client.post(
        f"{API}/items/",
        headers=normal_user.headers,
        json={"title": "Mine", "owner_id": other_user.id},
    )
    assert r.status_code == 200
    assert r.json()["owner_id"] == normal_user.id


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"description": "no title"},
        {"title": ""},
        {"title": None},
        {"title": "x" * 256},
        {"title": "ok", "description": "x" * 256},
    ],
    ids=["empty", "no-title", "empty-title", "null-title", "title-256", "description-256"],
)
async def test_creating_an_item_with_invalid_fields_is_422(
    client: httpx.AsyncClient, normal_user: Account, payload: dict[str, Any]
) -> None:
    r = await client.post(f"{API}/items/", headers=normal_user.headers, json=payload)
    assert r.status_code == 422


async def test_item_fields_at_their_limits_are_accepted(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    payload = {"title": "t" * 255, "description": "d" * 255}
    r = await client.post(f"{API}/items/", headers=normal_user.headers, json=payload)
    assert r.status_code == 200
    assert r.json()["title"] == "t" * 255
    assert r.json()["description"] == "d" * 255


async def test_one_character_title_is_accepted(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.post(f"{API}/items/", headers=normal_user.headers, json={"title": "x"})
    assert r.status_code == 200


# Read one ---------------------------------------------------------------------------


async def test_user_reads_own_item(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    r = await client.get(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json()["id"] == item.id
    assert r.json()["title"] == item.title
    assert r.json()["description"] == item.description
    assert r.json()["owner_id"] == normal_user.id


async def test_other_users_item_is_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    item = await item_of(session, other_user)
    r = await client.get(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PERMISSIONS


async def test_superuser_reads_any_item(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    r = await client.get(f"{API}/items/{item.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["owner_id"] == normal_user.id


async def test_missing_item_is_404(client: httpx.AsyncClient, normal_user: Account) -> None:
    r = await client.get(f"{API}/items/123456", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == ITEM_NOT_FOUND


async def test_missing_item_is_404_for_superuser(
    client: httpx.AsyncClient, superuser: Account
) -> None:
    r = await client.get(f"{API}/items/123456", headers=superuser.headers)
    assert r.status_code == 404
    assert r.json() == ITEM_NOT_FOUND


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PUT", {"title": "New"}), ("DELETE", None)]
)
async def test_not_found_wins_over_forbidden(
    client: httpx.AsyncClient,
    session: AsyncSession,
    normal_user: Account,
    other_user: Account,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    """A non-owner asking for a deleted item of someone else learns only that it is gone."""
    item = await item_of(session, other_user)
    deleted = await client.delete(f"{API}/items/{item.id}", headers=other_user.headers)
    assert deleted.status_code == 200
    r = await client.request(
        method, f"{API}/items/{item.id}", headers=normal_user.headers, json=body
    )
    assert r.status_code == 404
    assert r.json() == ITEM_NOT_FOUND


# Update -----------------------------------------------------------------------------


async def test_user_updates_own_item(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    r = await client.put(
        f"{API}/items/{item.id}",
        headers=normal_user.headers,
        json={"title": "Updated", "description": "Changed"},
    )
    assert r.status_code == 200
    assert r.json()["title"] == "Updated"
    assert r.json()["description"] == "Changed"
    assert r.json()["id"] == item.id
    assert r.json()["owner_id"] == normal_user.id
    read = await client.get(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert read.json() == r.json()


async def test_put_with_only_title_keeps_description(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user, title="Old", description="Kept")
    r = await client.put(
        f"{API}/items/{item.id}", headers=normal_user.headers, json={"title": "New"}
    )
    assert r.status_code == 200
    assert r.json()["title"] == "New"
    assert r.json()["description"] == "Kept"


async def test_put_with_only_description_keeps_title(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user, title="Kept", description="Old")
    r = await client.put(
        f"{API}/items/{item.id}", headers=normal_user.headers, json={"description": "New"}
    )
    assert r.status_code == 200
    assert r.json()["title"] == "Kept"
    assert r.json()["description"] == "New"


async def test_put_with_empty_body_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user, title="Same", description="Same too")
    r = await client.put(f"{API}/items/{item.id}", headers=normal_user.headers, json={})
    assert r.status_code == 200
    assert r.json()["title"] == "Same"
    assert r.json()["description"] == "Same too"


async def test_put_with_null_description_clears_it(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user, title="T", description="Gone soon")
    r = await client.put(
        f"{API}/items/{item.id}", headers=normal_user.headers, json={"description": None}
    )
    assert r.status_code == 200
    assert r.json()["description"] is None
    assert r.json()["title"] == "T"


async def test_put_with_null_title_keeps_the_title(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user, title="Stays", description="D")
    r = await client.put(
        f"{API}/items/{item.id}", headers=normal_user.headers, json={"title": None}
    )
    assert r.status_code == 200
    assert r.json()["title"] == "Stays"


@pytest.mark.parametrize(
    "payload",
    [{"title": ""}, {"title": "x" * 256}, {"description": "x" * 256}],
    ids=["empty-title", "title-256", "description-256"],
)
async def test_updating_an_item_with_invalid_fields_is_422(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, payload: dict[str, Any]
) -> None:
    item = await item_of(session, normal_user)
    r = await client.put(f"{API}/items/{item.id}", headers=normal_user.headers, json=payload)
    assert r.status_code == 422


async def test_update_moves_updated_at_but_not_created_at(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    before = (await client.get(f"{API}/items/{item.id}", headers=normal_user.headers)).json()
    await asyncio.sleep(0.01)
    r = await client.put(
        f"{API}/items/{item.id}", headers=normal_user.headers, json={"title": "Later"}
    )
    after = r.json()
    assert moment(after["created_at"]) == moment(before["created_at"])
    assert moment(after["updated_at"]) > moment(before["updated_at"])


async def test_updating_other_users_item_is_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    item = await item_of(session, other_user, title="Theirs", description="D")
    r = await client.put(
        f"{API}/items/{item.id}", headers=normal_user.headers, json={"title": "Mine now"}
    )
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PERMISSIONS
    read = await client.get(f"{API}/items/{item.id}", headers=other_user.headers)
    assert read.json()["title"] == "Theirs"


async def test_superuser_updates_any_item(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    r = await client.put(
        f"{API}/items/{item.id}", headers=superuser.headers, json={"title": "By admin"}
    )
    assert r.status_code == 200
    assert r.json()["title"] == "By admin"
    assert r.json()["owner_id"] == normal_user.id


async def test_updating_missing_item_is_404(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.put(f"{API}/items/123456", headers=normal_user.headers, json={"title": "X"})
    assert r.status_code == 404
    assert r.json() == ITEM_NOT_FOUND


# Delete -----------------------------------------------------------------------------


async def test_user_deletes_own_item(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    r = await client.delete(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json() == {"message": "Item deleted successfully"}
    read = await client.get(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert read.status_code == 404
    assert await items_owned_by(session, normal_user.id) == 0


async def test_deleting_other_users_item_is_forbidden(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    item = await item_of(session, other_user)
    r = await client.delete(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert r.status_code == 403
    assert r.json() == NOT_ENOUGH_PERMISSIONS
    assert await items_owned_by(session, other_user.id) == 1


async def test_superuser_deletes_any_item(
    client: httpx.AsyncClient, session: AsyncSession, superuser: Account, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    r = await client.delete(f"{API}/items/{item.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert await items_owned_by(session, normal_user.id) == 0


async def test_deleting_missing_item_is_404(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.delete(f"{API}/items/123456", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == ITEM_NOT_FOUND


async def test_deleting_an_item_twice_is_404_the_second_time(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    item = await item_of(session, normal_user)
    assert (await client.delete(f"{API}/items/{item.id}", headers=normal_user.headers)).is_success
    r = await client.delete(f"{API}/items/{item.id}", headers=normal_user.headers)
    assert r.status_code == 404
    assert r.json() == ITEM_NOT_FOUND


# List -------------------------------------------------------------------------------


async def test_normal_user_lists_only_own_items(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    mine = [await item_of(session, normal_user) for _ in range(3)]
    for _ in range(2):
        await item_of(session, other_user)
    r = await client.get(f"{API}/items/", headers=normal_user.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 3
    assert {i["id"] for i in body["data"]} == {i.id for i in mine}
    assert all(i["owner_id"] == normal_user.id for i in body["data"])
    assert all(set(i) == ITEM_FIELDS for i in body["data"])


async def test_superuser_lists_everyones_items(
    client: httpx.AsyncClient,
    session: AsyncSession,
    superuser: Account,
    normal_user: Account,
    other_user: Account,
) -> None:
    created = [
        await item_of(session, account)
        for account in (normal_user, other_user, superuser, normal_user)
    ]
    r = await client.get(f"{API}/items/", headers=superuser.headers)
    assert r.status_code == 200
    assert r.json()["count"] == 4
    assert {i["id"] for i in r.json()["data"]} == {i.id for i in created}


async def test_user_without_items_gets_an_empty_list(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    await item_of(session, other_user)
    r = await client.get(f"{API}/items/", headers=normal_user.headers)
    assert r.status_code == 200
    assert r.json() == {"data": [], "count": 0}


async def test_items_are_listed_newest_first(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    created = [await item_of(session, normal_user) for _ in range(5)]
    r = await client.get(f"{API}/items/", headers=normal_user.headers)
    assert [i["id"] for i in r.json()["data"]] == [i.id for i in reversed(created)]


async def test_item_created_through_the_api_is_listed_first(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    for _ in range(3):
        await item_of(session, normal_user)
    created = await client.post(f"{API}/items/", headers=normal_user.headers, json={"title": "N"})
    r = await client.get(f"{API}/items/", headers=normal_user.headers)
    assert r.json()["data"][0]["id"] == created.json()["id"]


@pytest.fixture
async def many_items(session: AsyncSession, normal_user: Account) -> list[int]:
    """150 items of normal_user, ids newest first."""
    created = [await item_of(session, normal_user) for _ in range(150)]
    return [item.id for item in reversed(created) if item.id is not None]


async def test_items_list_defaults_to_100(
    client: httpx.AsyncClient, normal_user: Account, many_items: list[int]
) -> None:
    r = await client.get(f"{API}/items/", headers=normal_user.headers)
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["data"]] == many_items[:100]
    assert r.json()["count"] == 150


@pytest.mark.parametrize(
    ("skip", "limit"),
    [(0, 1000), (100, 100), (140, 5), (149, 10), (150, 10), (0, 1), (37, 50), (10**6, 10)],
)
async def test_items_list_pages_with_skip_and_limit(
    client: httpx.AsyncClient, normal_user: Account, many_items: list[int], skip: int, limit: int
) -> None:
    r = await client.get(
        f"{API}/items/", headers=normal_user.headers, params={"skip": skip, "limit": limit}
    )
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["data"]] == many_items[skip : skip + limit]
    assert r.json()["count"] == 150


async def test_item_pages_cover_every_item_exactly_once(
    client: httpx.AsyncClient, normal_user: Account, many_items: list[int]
) -> None:
    seen: list[int] = []
    for skip in range(0, 150, 40):
        r = await client.get(
            f"{API}/items/", headers=normal_user.headers, params={"skip": skip, "limit": 40}
        )
        seen.extend(i["id"] for i in r.json()["data"])
    assert seen == many_items


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 1001}, {"limit": -5}, {"skip": -1}, {"skip": "a"}, {"limit": "1.5"}],
)
async def test_items_list_rejects_out_of_range_paging(
    client: httpx.AsyncClient, normal_user: Account, params: dict[str, Any]
) -> None:
    r = await client.get(f"{API}/items/", headers=normal_user.headers, params=params)
    assert r.status_code == 422


# Search -----------------------------------------------------------------------------


async def search(
    client: httpx.AsyncClient, account: Account, q: str, **params: int
) -> dict[str, Any]:
    r = await client.get(f"{API}/items/", headers=account.headers, params={"q": q, **params})
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def test_search_matches_title_case_insensitively(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    hit = await item_of(session, normal_user, title="Buy MILK today", description=None)
    await item_of(session, normal_user, title="Walk the dog", description=None)
    body = await search(client, normal_user, "milk")
    assert [i["id"] for i in body["data"]] == [hit.id]
    assert body["count"] == 1


async def test_search_matches_description(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    hit = await item_of(session, normal_user, title="Errand", description="Post Office run")
    await item_of(session, normal_user, title="Other", description="Nothing here")
    body = await search(client, normal_user, "OFFICE")
    assert [i["id"] for i in body["data"]] == [hit.id]


async def test_search_matches_title_or_description(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    by_title = await item_of(session, normal_user, title="apple pie", description=None)
    by_description = await item_of(session, normal_user, title="Dessert", description="Apple tart")
    await item_of(session, normal_user, title="Pear", description="Not that fruit")
    body = await search(client, normal_user, "apple")
    assert [i["id"] for i in body["data"]] == [by_description.id, by_title.id]
    assert body["count"] == 2


async def test_search_treats_percent_literally(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    hit = await item_of(session, normal_user, title="100% cotton", description=None)
    await item_of(session, normal_user, title="100 cotton", description=None)
    await item_of(session, normal_user, title="plain", description=None)
    body = await search(client, normal_user, "100%")
    assert [i["id"] for i in body["data"]] == [hit.id]
    assert (await search(client, normal_user, "%"))["count"] == 1


async def test_search_treats_underscore_literally(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    hit = await item_of(session, normal_user, title="snake_case", description=None)
    await item_of(session, normal_user, title="snakeXcase", description=None)
    body = await search(client, normal_user, "e_c")
    assert [i["id"] for i in body["data"]] == [hit.id]
    assert (await search(client, normal_user, "_"))["count"] == 1


async def test_search_treats_backslash_literally(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    hit = await item_of(session, normal_user, title=r"C:\temp", description=None)
    await item_of(session, normal_user, title="C:temp", description=None)
    body = await search(client, normal_user, "\\")
    assert [i["id"] for i in body["data"]] == [hit.id]


async def test_search_only_finds_own_items_for_normal_user(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account, other_user: Account
) -> None:
    mine = await item_of(session, normal_user, title="shared word", description=None)
    await item_of(session, other_user, title="shared word", description=None)
    body = await search(client, normal_user, "shared")
    assert [i["id"] for i in body["data"]] == [mine.id]
    assert body["count"] == 1


async def test_superuser_search_finds_everyones_items(
    client: httpx.AsyncClient,
    session: AsyncSession,
    superuser: Account,
    normal_user: Account,
    other_user: Account,
) -> None:
    for account in (normal_user, other_user):
        await item_of(session, account, title="common thing", description=None)
    await item_of(session, normal_user, title="unrelated", description=None)
    assert (await search(client, superuser, "COMMON"))["count"] == 2


async def test_search_without_match_is_empty(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    await item_of(session, normal_user, title="something", description="else")
    assert await search(client, normal_user, "absent") == {"data": [], "count": 0}


async def test_empty_search_lists_everything(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    for _ in range(3):
        await item_of(session, normal_user)
    assert (await search(client, normal_user, ""))["count"] == 3


async def test_search_count_ignores_skip_and_limit(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    hits = [
        await item_of(session, normal_user, title=f"match {n}", description=None) for n in range(5)
    ]
    await item_of(session, normal_user, title="other", description=None)
    body = await search(client, normal_user, "match", skip=1, limit=2)
    assert body["count"] == 5
    assert [i["id"] for i in body["data"]] == [hits[3].id, hits[2].id]


async def test_search_longer_than_255_is_422(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    r = await client.get(f"{API}/items/", headers=normal_user.headers, params={"q": "x" * 256})
    assert r.status_code == 422


# Count ------------------------------------------------------------------------------


async def test_count_ignores_skip_and_limit(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    for _ in range(7):
        await item_of(session, normal_user)
    r = await client.get(
        f"{API}/items/", headers=normal_user.headers, params={"skip": 5, "limit": 1}
    )
    assert len(r.json()["data"]) == 1
    assert r.json()["count"] == 7


# Cascade ----------------------------------------------------------------------------


async def test_admin_deleting_a_user_deletes_their_items(
    client: httpx.AsyncClient,
    session: AsyncSession,
    superuser: Account,
    normal_user: Account,
    other_user: Account,
) -> None:
    for _ in range(4):
        await item_of(session, normal_user)
    kept = await item_of(session, other_user)
    r = await client.delete(f"{API}/users/{normal_user.id}", headers=superuser.headers)
    assert r.status_code == 200
    assert await items_owned_by(session, normal_user.id) == 0
    assert await items_owned_by(session, other_user.id) == 1
    listed = await client.get(f"{API}/items/", headers=superuser.headers)
    assert [i["id"] for i in listed.json()["data"]] == [kept.id]


async def test_deleting_own_account_deletes_own_items(
    client: httpx.AsyncClient, session: AsyncSession, normal_user: Account
) -> None:
    for _ in range(3):
        await item_of(session, normal_user)
    r = await client.delete(f"{API}/users/me", headers=normal_user.headers)
    assert r.status_code == 200
    assert await items_owned_by(session, normal_user.id) == 0
