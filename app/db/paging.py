"""One page of a list and the total number of matching rows, at a page's cost.

Two kinds of list:
- `CountedList`, a whole list (an owner's items, all items, all users): its total comes
  from the counters the database keeps (db/counts.py), and a page is a deferred
  join: the page's ids are picked from the list's index (index-only, newest first, or
  oldest first for pages past the middle, so no OFFSET walks more than half the list),
  then only those rows are read.
  Given the sort key of a row on show (`after` / `before`), the page next to it is read
  from that key on (keyset): what the UI's next and previous buttons cost anywhere.
- `SearchList`, a filtered list (q=...): the total is counted with the page
  (`count(*) OVER ()`), since no counter knows how many rows match a search.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped
from sqlmodel.ext.asyncio.session import AsyncSession

# The largest OFFSET the databases take as a bound integer parameter (PostgreSQL
# int4). No table comes near it, so a larger skip could only be past the end.
MAX_SKIP = 2**31 - 1

# A column as a table's class attribute (sqlmodel's col()) or as an expression.
Column = ColumnElement[Any] | Mapped[Any]
# A row's place in a list: its values of the list's order columns (created_at, id).
PageKey = tuple[Any, ...]

_SKIP = bindparam("_skip", type_=Integer)
_LIMIT = bindparam("_limit", type_=Integer)


def _records(rows: Sequence[Row[Any]], names: list[str]) -> list[dict[str, Any]]:
    # zip() stops before any trailing column (the window count).
    return [dict(zip(names, row, strict=False)) for row in rows]


@dataclass(frozen=True)
class CountedList:
    """A list whose total the database keeps: pages read only their own rows.

    Built at import time with bound parameters, so a request neither rebuilds the
    statements nor recomputes SQLAlchemy's cache keys for them.
    """

    newest_first: Select[Any]
    # The first page with the kept count as a last column (`_total`): one round trip
    # for the page almost every request asks for.
    first_page: Select[Any]
    oldest_first: Select[Any]
    # The rows older than a key, newest first; the rows newer than it, oldest first.
    older: Select[Any]
    newer: Select[Any]
    count: Select[Any]
    names: list[str]

    @classmethod
    def build(
        cls,
        records: Select[Any],
        key: Column,
        order: Sequence[Column],
        count: Select[Any],
        *where: ColumnElement[bool],
    ) -> "CountedList":
        """`records` of the rows `where` holds, ordered by `order` (the index's columns,
        ending with the unique `key`) from the newest down."""

        # Typed as the columns, so a key binds as they store (SQLite keeps timestamps as text).
        keys = [
            bindparam(f"_key{n}", type_=cast(ColumnElement[Any], column).type)
            for n, column in enumerate(order)
        ]

        def page(descending: bool, *bound: ColumnElement[bool], skip: bool = True) -> Select[Any]:
            ordering = [c.desc() if descending else c.asc() for c in order]
            ids = select(key.label("page_id")).where(*where, *bound).order_by(*ordering)
            if skip:
                ids = ids.offset(_SKIP)
            subquery = ids.limit(_LIMIT).subquery("page")
            return records.join(subquery, key == subquery.c.page_id).order_by(*ordering)

        row = tuple_(*order)
        newest_first = page(descending=True)
        return cls(
            newest_first=newest_first,
            first_page=newest_first.add_columns(count.scalar_subquery().label("_total")),
            oldest_first=page(descending=False),
            older=page(True, row < tuple_(*keys), skip=False),
            newer=page(False, row > tuple_(*keys), skip=False),
            count=count,
            names=list(records.selected_columns.keys()),
        )


@dataclass(frozen=True)
class SearchList:
    """A filtered list: the page and its total in one query."""

    page: Select[Any]
    count: Select[Any]
    names: list[str]

    @classmethod
    def build(cls, statement: Select[Any], order_by: Sequence[ColumnElement[Any]]) -> "SearchList":
        # count(*) OVER () is computed before LIMIT/OFFSET: every row carries the total.
        page = (
            statement.add_columns(func.count().over().label("_total"))
            .order_by(*order_by)
            .offset(_SKIP)
            .limit(_LIMIT)
        )
        count = select(func.count()).select_from(statement.subquery())
        return cls(page, count, list(statement.selected_columns.keys()))


async def fetch_page(
    session: AsyncSession,
    query: CountedList | SearchList,
    skip: int,
    limit: int,
    *,
    after: PageKey | None = None,
    before: PageKey | None = None,
    **params: Any,
) -> tuple[list[dict[str, Any]], int]:
    """Rows (as column-name dicts) of one page, newest first, and the count ignoring
    skip/limit.

    With `after` (or `before`), the key of a row in a CountedList, the page is the
    `limit` rows just older (newer) than that row, and `skip` is not used; a SearchList
    ignores them.
    """
    # Past the end either way; a page in the UI's address can ask for any number.
    skip = min(skip, MAX_SKIP)
    # Core rows through the session's connection: no ORM objects are built.
    connection = await session.connection()
    if isinstance(query, SearchList):
        result = await connection.execute(query.page, {**params, "_skip": skip, "_limit": limit})
        rows = result.all()
        if rows:
            count = int(rows[0]._total)
        elif skip == 0:
            count = 0
        else:
            # Only a page past the end (no row to carry the total) costs a second query.
            count = int((await connection.execute(query.count, params)).scalar_one())
        return _records(rows, query.names), count

    if skip == 0 and after is None and before is None:
        # Uncorrelated, the count's subquery runs once per statement (PostgreSQL: an
        # InitPlan), on the statement's snapshot: no rows means a count of 0.
        result = await connection.execute(query.first_page, {**params, "_skip": 0, "_limit": limit})
        rows = result.all()
        return _records(rows, query.names), int(rows[0]._total) if rows else 0
    count = int((await connection.execute(query.count, params)).scalar_one())
    if after is not None or before is not None:
        statement = query.older if after is not None else query.newer
        key = after if after is not None else before
        assert key is not None
        keys = {f"_key{n}": value for n, value in enumerate(key)}
        result = await connection.execute(statement, {**params, **keys, "_limit": limit})
        rows = result.all()
        return _records(rows if after is not None else rows[::-1], query.names), count
    if skip >= count:
        return [], count
    from_end = count - skip - limit
    if from_end > skip:
        result = await connection.execute(
            query.newest_first, {**params, "_skip": skip, "_limit": limit}
        )
        return _records(result.all(), query.names), count
    # Past the middle: the same rows counted from the oldest end (the last page is
    # shorter), read in that order and turned around.
    result = await connection.execute(
        query.oldest_first,
        {**params, "_skip": max(from_end, 0), "_limit": limit + min(from_end, 0)},
    )
    return _records(result.all()[::-1], query.names), count
