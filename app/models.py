"""SQLModel tables and API schemas: one family per entity, limits declared once."""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import EmailStr
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Any:
    # Indexed: every list is served newest first.
    return Field(default_factory=utcnow, nullable=False, index=True)


def _updated_at() -> Any:
    return Field(
        default_factory=utcnow,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


# Generic messages ------------------------------------------------------------


class Message(SQLModel):
    message: str


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"


class NewPassword(SQLModel):
    token: str
    new_password: str = Field(min_length=8, max_length=128)


# Users -----------------------------------------------------------------------


class UserBase(SQLModel):
    email: EmailStr = Field(unique=True, index=True, max_length=255)
    is_active: bool = True
    is_superuser: bool = False
    full_name: str | None = Field(default=None, max_length=255)


class UserCreate(UserBase):
    """What a superuser sends to create an account."""

    password: str = Field(min_length=8, max_length=128)


class UserRegister(SQLModel):
    """What anyone sends to sign up."""

    email: EmailStr = Field(max_length=255)
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=255)


class UserUpdate(UserBase):
    """A superuser's partial update: only the fields sent are applied."""

    email: EmailStr | None = Field(default=None, max_length=255)  # type: ignore[assignment]
    password: str | None = Field(default=None, min_length=8, max_length=128)


class UserUpdateMe(SQLModel):
    full_name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = Field(default=None, max_length=255)


class UpdatePassword(SQLModel):
    current_password: str = Field(min_length=8, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class PrivateUserCreate(SQLModel):
    """Development-only seeding payload (the template's `/private/users/`)."""

    email: EmailStr = Field(max_length=255)
    password: str = Field(min_length=8, max_length=128)
    full_name: str | None = Field(default=None, max_length=255)
    is_verified: bool = False


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()
    # Access and reset tokens issued before this instant are refused.
    password_changed_at: datetime = Field(default_factory=utcnow, nullable=False)


class UserPublic(UserBase):
    # Plain str: addresses were validated on the way in; re-validating every
    # outgoing one costs more than the rest of serializing the user.
    email: str
    id: int
    created_at: datetime
    updated_at: datetime


class UsersPublic(SQLModel):
    data: list[UserPublic]
    count: int


class UserRecord(TypedDict):
    """A user as list pages carry it: plain data straight from a row (see UserPublic)."""

    email: str
    is_active: bool
    is_superuser: bool
    full_name: str | None
    id: int
    created_at: datetime
    updated_at: datetime


class UsersPage(TypedDict):
    data: list[UserRecord]
    count: int


# Items -----------------------------------------------------------------------


class ItemBase(SQLModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)


class ItemCreate(ItemBase):
    pass


class ItemUpdate(ItemBase):
    title: str | None = Field(default=None, min_length=1, max_length=255)  # type: ignore[assignment]


class Item(ItemBase, table=True):
    __table_args__ = (sa.Index("ix_item_owner_id_created_at", "owner_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()


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
