"""Counters kept by the triggers of migration 0002 (read by app/db/counts.py), not by the app."""

import sqlalchemy as sa
from sqlmodel import SQLModel

# Kept by database triggers (migration 0002), never written by the app: items per owner,
# and items and users in all. Each is split into slots summed on read, so concurrent
# writers seldom share a row (see app/db/counts.py).
item_count = sa.Table(
    "item_count",
    SQLModel.metadata,
    sa.Column("owner_id", sa.Integer, primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)
row_total = sa.Table(
    "row_total",
    SQLModel.metadata,
    sa.Column("table_name", sa.String(32), primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)
