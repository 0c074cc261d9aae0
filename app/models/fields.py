"""What every table and schema is built from: timestamps, ownership, storable text and ids,
and the contract's limits, declared once."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, BeforeValidator, EmailStr, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at_field() -> Any:
    # Indexed with the id by each table (newest_first_index): every list is served
    # newest first, ties broken by id.
    return Field(default_factory=utcnow, nullable=False)


def newest_first_index(table: str, *leading: str) -> sa.Index:
    """The index a list's ORDER BY created_at DESC, id DESC reads backwards, after its
    `leading` equality columns: a page reads its own rows and no others."""
    return sa.Index(
        f"ix_{table}_{'_'.join([*leading, 'created_at', 'id'])}", *leading, "created_at", "id"
    )


def owner_id_field() -> Any:
    """`owner_id` of a row a user owns, deleted with its user (ON DELETE CASCADE).

    No index of its own: the table's (owner_id, created_at) index serves every lookup by
    owner, and the newest-first lists too.
    """
    return Field(
        sa_column=sa.Column(
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE"),
            nullable=False,
        )
    )


def updated_at_field() -> Any:
    return Field(
        default_factory=utcnow,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


# Text ------------------------------------------------------------------------

# PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded as UTF-8 (for
# the database or the JSON answer); bcrypt refuses NUL in passwords. Refused on the way
# in, by every text field and text parameter, so no request reaches a store with one.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_TEXT = "Text must not contain NUL characters or unpaired surrogates"


def unstorable_text_error(value: str) -> str:
    """The message for text that cannot be stored, or "" (the UI's forms ask this too)."""
    return UNSTORABLE_TEXT if _UNSTORABLE.search(value) else ""


def without_unstorable(value: str) -> str:
    """`value` less what no store can hold: for text the app keeps but nobody typed (a
    client's user agent), where refusing the request would be wrong."""
    return _UNSTORABLE.sub("", value)


def _storable(value: Any) -> Any:
    if isinstance(value, str) and unstorable_text_error(value):
        raise PydanticCustomError("unstorable_text", UNSTORABLE_TEXT)
    return value


class _NoNulInSchema:
    """Tells clients and fuzzers about NUL through a `pattern` (lone surrogates cannot be
    said in one without also ruling out every character outside the BMP)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {**handler(core_schema), "pattern": "^[^\\x00]*$"}


# Every text the API and the UI receive is one of these. Checked before the type's own
# rules, so no later message (an email's format error) can quote the character.
Text = Annotated[str, BeforeValidator(_storable), _NoNulInSchema()]
Email = Annotated[EmailStr, BeforeValidator(_storable)]


# Ids are SERIAL (int4): anything outside names no row, and must not reach the
# database, where it would be an out-of-range error instead of "not found".
MAX_ID = 2**31 - 1


def is_storable_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


# The limits of the contract, declared once: the models enforce them, the UI's forms
# show them (input lengths, "Password must be at least 8 characters").
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
TEXT_MAX_LENGTH = 255
# A `text` field of an entity (devtools.scaffold): long, but bounded.
LONG_TEXT_MAX_LENGTH = 10_000
# An `int` field is an INTEGER column: out of range is a 422, not a database error.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError(
            "timezone_required",
            "Datetime must include a time zone, for example 2026-01-31T09:00:00Z",
        )
    return value.astimezone(UTC)


# A moment a client sends: with its zone (a naive time means nothing to a server that
# serves every zone), kept in UTC.
UTCDatetime = Annotated[datetime, AfterValidator(_aware)]
