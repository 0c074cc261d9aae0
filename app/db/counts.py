"""Exact row counts read from the counters the database's triggers keep (app/db/counters.py).

Each counter is a few slot rows summed here: one index probe, however many rows exist.
"""

from typing import Any

from sqlalchemy import Select, Table, bindparam, func, select

from app.models import row_total


def _summed(column: Any) -> Select[Any]:
    return select(func.coalesce(func.sum(column), 0))


def of_owner(counter: Table) -> Select[Any]:
    """The rows of one owner (bound parameter `owner_id`) in a `<table>_count`."""
    return _summed(counter.c.n).where(counter.c.owner_id == bindparam("owner_id"))


def in_all(table: str) -> Select[Any]:
    """Every row of `table`."""
    return _summed(row_total.c.n).where(row_total.c.table_name == table)


ALL_USERS = in_all("user")
