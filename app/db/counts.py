"""Exact row counts read from the counters the database's triggers keep (migration 0002).

Each counter is a few slot rows summed here: one index probe, however many rows exist.
"""

from typing import Any

from sqlalchemy import Select, bindparam, func, select

from app.models import item_count, row_total


def _summed(column: Any) -> Select[Any]:
    return select(func.coalesce(func.sum(column), 0))


ITEMS_OF_OWNER = _summed(item_count.c.n).where(item_count.c.owner_id == bindparam("owner_id"))
ALL_ITEMS = _summed(row_total.c.n).where(row_total.c.table_name == "item")
ALL_USERS = _summed(row_total.c.n).where(row_total.c.table_name == "user")
