"""One page of a query and the total number of matching rows, in one round trip."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

# The largest OFFSET the databases take as a bound integer parameter (PostgreSQL
# int4). No table comes near it, so a larger skip could only be past the end.
MAX_SKIP = 2**31 - 1


@dataclass(frozen=True)
class PageQuery:
    """A list query built once: the page (with its total) and a fallback count.

    Built at import time with bound parameters, so a request neither rebuilds the
    statement nor recomputes SQLAlchemy's cache key for it.
    """

    page: Select[Any]
    count: Select[Any]
    names: list[str]

    @classmethod
    def build(cls, statement: Select[Any], order_by: Sequence[ColumnElement[Any]]) -> "PageQuery":
        # count(*) OVER () is computed before LIMIT/OFFSET: every row carries the total.
        page = (
            statement.add_columns(func.count().over().label("_total"))
            .order_by(*order_by)
            .offset(bindparam("_skip", type_=Integer))
            .limit(bindparam("_limit", type_=Integer))
        )
        count = select(func.count()).select_from(statement.subquery())
        return cls(page, count, list(statement.selected_columns.keys()))


async def fetch_page(
    session: AsyncSession, query: PageQuery, skip: int, limit: int, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    """Rows (as column-name dicts) of one page, and the count ignoring skip/limit.

    Only a page past the end (no row to carry the total) costs a second query.
    """
    # Past the end either way; a page in the UI's address can ask for any number.
    skip = min(skip, MAX_SKIP)
    # Core rows through the session's connection: no ORM objects are built.
    connection = await session.connection()
    result = await connection.execute(query.page, {**params, "_skip": skip, "_limit": limit})
    rows = result.all()
    if rows:
        count = int(rows[0]._total)
    elif skip == 0:
        count = 0
    else:
        count = int((await connection.execute(query.count, params)).scalar_one())
    # zip() stops before the trailing _total column.
    return [dict(zip(query.names, row, strict=False)) for row in rows], count
