"""Counters kept by the triggers of migration 0002 (read by app/db/counts.py), not by the app."""

import sqlalchemy as sa
from sqlmodel import SQLModel

# Each counter is split into slots summed on read (app/db/counts.py), so concurrent
# writers seldom share a row.


def owner_count_table(table: str) -> sa.Table:
    """`<table>_count`: the rows of each owner of a table of owned rows."""
    return sa.Table(
        f"{table}_count",
        SQLModel.metadata,
        sa.Column("owner_id", sa.Integer, primary_key=True),
        sa.Column("slot", sa.SmallInteger, primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )


item_count = owner_count_table("item")
row_total = sa.Table(
    "row_total",
    SQLModel.metadata,
    sa.Column("table_name", sa.String(32), primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)
