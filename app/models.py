"""SQLModel tables and API schemas: one family per entity, limits declared once."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BeforeValidator, EmailStr, GetJsonSchemaHandler, StrictBool
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Any:
    # Indexed with the id by each table (newest_first_index): every list is served
    # newest first, ties broken by id.
    return Field(default_factory=utcnow, nullable=False)


def newest_first_index(table: str, *leading: str) -> sa.Index:
    """The index a list's ORDER BY created_at DESC, id DESC reads backwards, after its
    `leading` equality columns: a page reads its own rows and no others."""
    return sa.Index(
        f"ix_{table}_{'_'.join([*leading, 'created_at', 'id'])}", *leading, "created_at", "id"
    )


def _owner_id() -> Any:
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


def _updated_at() -> Any:
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


# Generic messages ------------------------------------------------------------


class Message(SQLModel):
    message: str


class TokenPair(SQLModel):
    """A new access token and the refresh token that renews it (`POST /login/refresh`)."""

    access_token: str
    token_type: str = "bearer"
    # Clients of the template read only the two fields above; these come on top.
    refresh_token: str
    expires_in: int = Field(description="Seconds until the access token expires")


class Token(TokenPair):
    """A login's answer: the pair, and the device token that exempts this browser or
    client from the account's lockout on its next logins (send it as X-Device-Token)."""

    device_token: str


class RefreshRequest(SQLModel):
    refresh_token: Text = Field(max_length=4096)


class NewPassword(SQLModel):
    token: Text
    new_password: Text = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)


class VerifyEmail(SQLModel):
    """The token of a link mailed to an address (`POST /verify-email/`)."""

    token: Text = Field(max_length=4096)


# Users -----------------------------------------------------------------------


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
    created_at: datetime = _created_at()
    updated_at: datetime = _updated_at()
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
    owner_id: int = _owner_id()
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


# Sessions --------------------------------------------------------------------

USER_AGENT_MAX_LENGTH = 255
ADDRESS_MAX_LENGTH = 45  # the longest text form of an IPv6 address


class UserSession(SQLModel, table=True):
    """One login (REST or UI): what its access and refresh tokens speak for.

    Ended by logout, by its owner or a superuser, by a password change (the others) or
    reset (all), or by its user's deactivation; deleted with its user. Never ended
    sessions stop working at `expires_at` or after SESSION_IDLE_MINUTES unused.
    """

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user_id_last_used_at", "user_id", "last_used_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        )
    )
    created_at: datetime = Field(default_factory=utcnow, nullable=False)
    # Written at most once a minute: a session in use costs no write per request.
    last_used_at: datetime = Field(default_factory=utcnow, nullable=False)
    # The absolute end; the idle end is last_used_at + SESSION_IDLE_MINUTES.
    expires_at: datetime = Field(nullable=False)
    user_agent: str = Field(default="", max_length=USER_AGENT_MAX_LENGTH)
    ip_address: str = Field(default="", max_length=ADDRESS_MAX_LENGTH)
    revoked_at: datetime | None = Field(default=None)
    # Which refresh token is current: each refresh moves it on, and an older one
    # presented again is taken for a stolen copy (the session ends).
    refresh_generation: int = Field(default=0, nullable=False)


class SessionPublic(SQLModel):
    id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    ip_address: str
    # Whether this is the session of the token that asked.
    current: bool


class SessionsPublic(SQLModel):
    data: list[SessionPublic]
    count: int


# Two-factor -------------------------------------------------------------------

TWO_FACTOR_CODE_MAX_LENGTH = 64


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code of a user with two-factor on, as its SHA-256: the
    codes are random (80 bits), so a fast hash is as good as bcrypt and can be looked up."""

    __tablename__ = "recovery_code"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        )
    )
    code_hash: str = Field(max_length=64)


class TwoFactorSetup(SQLModel):
    """A new secret, to be confirmed with a code (`POST /users/me/2fa/confirm`)."""

    secret: str
    otpauth_uri: str
    # The URI as a QR code: an SVG document to show as is.
    qr_svg: str


class TwoFactorCode(SQLModel):
    code: Text = Field(min_length=1, max_length=TWO_FACTOR_CODE_MAX_LENGTH)


class TwoFactorDisable(TwoFactorCode):
    password: Text = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class TwoFactorLogin(TwoFactorCode):
    """The second step of a login: the 401's `challenge`, and a TOTP or recovery code."""

    challenge: Text = Field(max_length=4096)


class RecoveryCodes(SQLModel):
    """Shown once: only their hashes are kept."""

    recovery_codes: list[str]


class TwoFactorChallenge(SQLModel):
    """A login's 401 when the account has two-factor on."""

    detail: str
    challenge: str


# Counters ----------------------------------------------------------------------

# Kept by database triggers (migration 0002), never written by the app: items per owner,
# and items and users in all. Each is split into slots summed on read, so concurrent
# writers seldom share a row (see app/services/counts.py).
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
