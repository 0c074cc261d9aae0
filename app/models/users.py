"""Accounts: the `user` table and its API schemas."""

from datetime import datetime

import sqlalchemy as sa
from pydantic import StrictBool
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict

from app.models.fields import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    TEXT_MAX_LENGTH,
    Email,
    Text,
    created_at_field,
    newest_first_index,
    updated_at_field,
    utcnow,
)


class UserBase(SQLModel):
    email: Email = Field(unique=True, index=True, max_length=TEXT_MAX_LENGTH)
    # Strict: `0`, `"false"` or `"no"` are not booleans a client meant to send.
    is_active: StrictBool = True
    is_superuser: StrictBool = False
    full_name: Text | None = Field(default=None, max_length=TEXT_MAX_LENGTH)


class UserCreate(UserBase):
    """What a superuser sends to create an account."""

    password: Text = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class UserRegister(SQLModel):
    """What anyone sends to sign up."""

    email: Email = Field(max_length=TEXT_MAX_LENGTH)
    password: Text = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    full_name: Text | None = Field(default=None, max_length=TEXT_MAX_LENGTH)


class UserUpdate(UserBase):
    """A superuser's partial update: only the fields sent are applied."""

    email: Email | None = Field(default=None, max_length=TEXT_MAX_LENGTH)  # type: ignore[assignment]
    password: Text | None = Field(
        default=None, min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH
    )


class UserUpdateMe(SQLModel):
    full_name: Text | None = Field(default=None, max_length=TEXT_MAX_LENGTH)
    email: Email | None = Field(default=None, max_length=TEXT_MAX_LENGTH)


class UpdatePassword(SQLModel):
    current_password: Text = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    new_password: Text = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class PrivateUserCreate(SQLModel):
    """Development-only seeding payload (the template's `/private/users/`)."""

    email: Email = Field(max_length=TEXT_MAX_LENGTH)
    password: Text = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
    full_name: Text | None = Field(default=None, max_length=TEXT_MAX_LENGTH)
    is_verified: StrictBool = False


class User(UserBase, table=True):
    __table_args__ = (newest_first_index("user"),)

    id: int | None = Field(default=None, primary_key=True)
    hashed_password: str
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    # Access and reset tokens issued before this instant are refused.
    password_changed_at: datetime = Field(default_factory=utcnow, nullable=False)
    # Whether the owner of `email` proved it by following a link mailed to it. New
    # accounts start unverified; those from before migration 0004 count as verified.
    email_verified: bool = Field(default=False, nullable=False)
    # The address the user asked to move to (CONFIRM_EMAIL_CHANGES), until they follow
    # the link mailed there; not unique: the first to confirm an address gets it.
    pending_email: str | None = Field(default=None, max_length=TEXT_MAX_LENGTH)
    # TOTP (RFC 6238): the shared secret (base32), set at setup and kept once a code
    # confirmed it; on only then. The last time step a code was accepted for: a code is
    # taken once, and never one of an earlier step (no replay).
    two_factor_secret: str | None = Field(default=None, max_length=64)
    two_factor_enabled: bool = Field(default=False, nullable=False)
    two_factor_last_step: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)


class UserPublic(UserBase):
    # Plain str: addresses were validated on the way in; re-validating every
    # outgoing one costs more than the rest of serializing the user.
    email: str
    id: int
    created_at: datetime
    updated_at: datetime
    email_verified: bool
    pending_email: str | None
    two_factor_enabled: bool


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
    email_verified: bool
    pending_email: str | None
    two_factor_enabled: bool


class UsersPage(TypedDict):
    data: list[UserRecord]
    count: int


# Items -----------------------------------------------------------------------
