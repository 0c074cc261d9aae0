"""One page of a query and the total number of matching rows, in one round trip."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlmodel.ext.asyncio.session import AsyncSession


async def fetch_page(
    session: AsyncSession,
    statement: Select[Any],
    order_by: Sequence[ColumnElement[Any]],
    skip: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """Rows (as column-name mappings) of one page, and the count ignoring skip/limit.

    `count(*) OVER ()` is computed before LIMIT/OFFSET, so the page carries the
    total. Only a page past the end (no rows to carry it) needs a separate count.
    """
    total = func.count().over().label("_total")
    # Core rows through the session's connection: no ORM objects are built.
    connection = await session.connection()
    rows = (
        await connection.execute(
            statement.add_columns(total).order_by(*order_by).offset(skip).limit(limit)
        )
    ).all()
    if rows:
        count = int(rows[0]._total)
    elif skip == 0:
        count = 0
    else:
        count_query = select(func.count()).select_from(statement.subquery())
        count = int((await connection.execute(count_query)).scalar_one())
    # zip() stops before the trailing _total column.
    names = list(statement.selected_columns.keys())
    return [dict(zip(names, row, strict=False)) for row in rows], count
