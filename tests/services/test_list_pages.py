"""List pages: the same rows whichever end a page is read from, and (PostgreSQL) plans
that read a page's rows from an index rather than scanning and sorting the table."""

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import engine
from app.db.paging import CountedList, PageKey, SearchList
from app.models import Item, ItemRecord, User, UserRecord
from app.services import items, users
from tests.services.test_items_service import new_user

TIE = datetime(2026, 1, 1, tzinfo=UTC)


async def test_every_window_holds_the_rows_of_the_newest_first_order(
    session: AsyncSession,
) -> None:
    owner, other = await new_user(session), await new_user(session)
    admin = await new_user(session, superuser=True)
    assert owner.id is not None and other.id is not None
    for n in range(23):
        # Runs of equal timestamps: only the id tells their order.
        at = TIE.replace(minute=n // 4)
        session.add(Item(title=f"item {n}", owner_id=owner.id, created_at=at, updated_at=at))
        session.add(Item(title=f"other {n}", owner_id=other.id, created_at=at, updated_at=at))
    await session.commit()
    # SQLModel types exec() for select() statements only; it runs a text() one all the same.
    every = (
        await session.exec(
            text("SELECT id, owner_id FROM item ORDER BY created_at DESC, id DESC")  # type: ignore[call-overload]
        )
    ).all()
    owned = [row.id for row in every if row.owner_id == owner.id]
    everyone = [row.id for row in every]
    for skip in range(26):
        for limit in (1, 5, 7, 23, 30):
            rows, count = await items.list_items(session, owner, skip, limit)
            assert count == 23
            assert [row["id"] for row in rows] == owned[skip : skip + limit], (skip, limit)
    for skip in (0, 20, 23, 40, 45, 46, 100):
        rows, count = await items.list_items(session, admin, skip, 7)
        assert count == 46
        assert [row["id"] for row in rows] == everyone[skip : skip + 7], skip


async def test_the_page_next_to_a_row_is_the_page_by_number(session: AsyncSession) -> None:
    owner = await new_user(session)
    assert owner.id is not None
    for n in range(23):
        at = TIE.replace(minute=n // 4)
        session.add(Item(title=f"item {n}", owner_id=owner.id, created_at=at, updated_at=at))
    await session.commit()

    def key(row: ItemRecord | UserRecord) -> PageKey:
        return (row["created_at"], row["id"])

    for limit in (4, 7):
        pages = [
            (await items.list_items(session, owner, skip, limit))[0] for skip in range(0, 23, limit)
        ]
        for shown, following in itertools.pairwise(pages):
            older, count = await items.list_items(session, owner, 0, limit, after=key(shown[-1]))
            assert (older, count) == (following, 23)
            newer, _ = await items.list_items(session, owner, 0, limit, before=key(following[0]))
            assert newer == shown
    accounts = (await users.list_users(session, 0, 5))[0]
    assert (await users.list_users(session, 0, 5, after=key(accounts[0])))[0] == []
    assert (await users.list_users(session, 0, 5, before=key(accounts[0])))[0] == []


async def test_user_pages_from_either_end_match(session: AsyncSession) -> None:
    for _ in range(9):
        await new_user(session)
    # SQLModel types exec() for select() statements only; it runs a text() one all the same.
    every = (
        await session.exec(
            text('SELECT id FROM "user" ORDER BY created_at DESC, id DESC')  # type: ignore[call-overload]
        )
    ).all()
    ids = [row.id for row in every]
    for skip in range(11):
        rows, count = await users.list_users(session, skip, 4)
        assert count == 9
        assert [row["id"] for row in rows] == ids[skip : skip + 4]


# PostgreSQL plans ---------------------------------------------------------------

OWNER_ITEMS = 20_000


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


async def explain(statement: Select[Any], **params: Any) -> dict[str, Any]:
    async with engine.connect() as connection:
        compiled = statement.compile(dialect=connection.dialect)
        result = await connection.exec_driver_sql(
            f"EXPLAIN (FORMAT JSON) {compiled.string}", {**compiled.params, **params}
        )
        answer = result.scalar_one()
    plan: dict[str, Any] = (json.loads(answer) if isinstance(answer, str) else answer)[0]["Plan"]
    return plan


INDEX_SCANS = {"Index Scan", "Index Only Scan"}


def page_plan(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, index) of the nodes below the page's Limit, which picks its ids: one
    index scan, read backwards, whatever the node type (index-only once vacuumed)."""
    [limit] = [node for node in plan_nodes(plan) if node["Node Type"] == "Limit"]
    below = list(plan_nodes(limit))[1:]
    return [
        (
            "Index Scan" if node["Node Type"] in INDEX_SCANS else node["Node Type"],
            node.get("Index Name", ""),
        )
        for node in below
    ]


@pytest.fixture
async def many_rows(session: AsyncSession) -> dict[str, int]:
    """Enough rows that a plan without the right index would scan and sort."""
    owner, other = await new_user(session), await new_user(session)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO item (title, description, owner_id, created_at, updated_at)"
                " SELECT 'item ' || g, 'about ' || g, CASE WHEN g % 10 = 0 THEN :owner"
                " ELSE :other END, now() - g * interval '1 second', now()"
                " FROM generate_series(1, :n) AS g"
            ),
            {"owner": owner.id, "other": other.id, "n": OWNER_ITEMS},
        )
        await connection.execute(
            text(
                'INSERT INTO "user" (email, full_name, is_active, is_superuser, hashed_password,'
                " created_at, updated_at, password_changed_at)"
                " SELECT 'many' || g || '@example.com', 'Many ' || g, true, false, 'x',"
                " now() - g * interval '1 second', now(), now() FROM generate_series(1, :n) AS g"
            ),
            {"n": OWNER_ITEMS},
        )
        await connection.execute(text('ANALYZE item; ANALYZE "user"'))
    assert owner.id is not None
    return {"owner_id": owner.id}


def first_page(query: CountedList | SearchList) -> Select[Any]:
    return query.newest_first if isinstance(query, CountedList) else query.page


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("superuser", "index"),
    [(False, "ix_item_owner_id_created_at_id"), (True, "ix_item_created_at_id")],
)
@pytest.mark.parametrize(
    # Pages before the middle of the owner's 2,000 items and of all 20,000 (fetch_page
    # reads later ones from the other end).
    "skip",
    [0, 900],
)
async def test_an_item_page_reads_its_ids_from_the_index(
    many_rows: dict[str, int], superuser: bool, index: str, skip: int
) -> None:
    user = User(
        id=many_rows["owner_id"], email="x@example.com", hashed_password="", is_superuser=superuser
    )
    statement = first_page(items.list_query(user))
    plan = await explain(statement, owner_id=user.id, _skip=skip, _limit=100)
    assert page_plan(plan) == [("Index Scan", index)], plan


@pytest.mark.postgres
@pytest.mark.usefixtures("many_rows")
async def test_a_user_page_reads_its_ids_from_the_index() -> None:
    plan = await explain(first_page(users.list_query()), _skip=0, _limit=100)
    assert page_plan(plan) == [("Index Scan", "ix_user_created_at_id")], plan


@pytest.mark.postgres
@pytest.mark.parametrize("superuser", [False, True])
async def test_an_item_search_uses_the_trigram_indexes(
    many_rows: dict[str, int], superuser: bool
) -> None:
    user = User(
        id=many_rows["owner_id"], email="x@example.com", hashed_password="", is_superuser=superuser
    )
    plan = await explain(
        first_page(items.list_query(user, "m 1234")), owner_id=user.id, _skip=0, _limit=100
    )
    used = {node.get("Index Name") for node in plan_nodes(plan)}
    assert {"ix_item_title_trgm", "ix_item_description_trgm"} <= used, plan
    assert "Seq Scan" not in {node["Node Type"] for node in plan_nodes(plan)}


@pytest.mark.postgres
@pytest.mark.usefixtures("many_rows")
async def test_a_user_search_uses_the_trigram_indexes() -> None:
    plan = await explain(first_page(users.list_query("ny 1234")), _skip=0, _limit=100)
    used = {node.get("Index Name") for node in plan_nodes(plan)}
    assert {"ix_user_email_trgm", "ix_user_full_name_trgm"} <= used, plan
    assert "Seq Scan" not in {node["Node Type"] for node in plan_nodes(plan)}
