"""Items: rows that belong to a user (the template's example entity)."""

from datetime import datetime

from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict

from app.models.fields import (
    TEXT_MAX_LENGTH,
    Text,
    created_at_field,
    newest_first_index,
    owner_id_field,
    updated_at_field,
)


class ItemBase(SQLModel):
    title: Text = Field(min_length=1, max_length=TEXT_MAX_LENGTH)
    description: Text | None = Field(default=None, max_length=TEXT_MAX_LENGTH)


class ItemCreate(ItemBase):
    pass


class ItemUpdate(ItemBase):
    title: Text | None = Field(default=None, min_length=1, max_length=TEXT_MAX_LENGTH)  # type: ignore[assignment]


class Item(ItemBase, table=True):
    # The per-owner index also serves the owner_id foreign key (cascade deletes).
    __table_args__ = (newest_first_index("item", "owner_id"), newest_first_index("item"))

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = owner_id_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ItemPublic(ItemBase):
    id: int
    owner_id: int
    created_at: datetime
    updated_at: datetime


class ItemsPublic(SQLModel):
    data: list[ItemPublic]
    count: int


class ItemRecord(TypedDict):
    """An item as list pages carry it: plain data straight from a row (see ItemPublic)."""

    title: str
    description: str | None
    id: int
    owner_id: int
    created_at: datetime
    updated_at: datetime


class ItemsPage(TypedDict):
    data: list[ItemRecord]
    count: int


# Sessions --------------------------------------------------------------------
