"""Single sign-on: the provider logins linked to an account, the flows under way, and
the API's schemas."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.fields import PASSWORD_MAX_LENGTH, TEXT_MAX_LENGTH, Text, utcnow

# OpenID Connect's `sub` is at most 255 ASCII characters (Core 1.0, 2).
SUBJECT_MAX_LENGTH = 255
PROVIDER_NAME_MAX_LENGTH = 64
# The secret a client holds for a ticket (a link token, a UI login code); random, 256 bits.
TICKET_MAX_LENGTH = 128


class UserIdentity(SQLModel, table=True):
    """An account at an OpenID provider (its `sub`) that logs in as a user of ours."""

    __tablename__ = "user_identity"
    __table_args__ = (
        sa.UniqueConstraint("provider", "subject"),
        sa.Index("ix_user_identity_user_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False
        )
    )
    provider: str = Field(max_length=PROVIDER_NAME_MAX_LENGTH)
    subject: str = Field(max_length=SUBJECT_MAX_LENGTH)
    # The address the provider gave when it was linked: shown in Settings.
    email: str = Field(default="", max_length=TEXT_MAX_LENGTH)
    created_at: datetime = Field(default_factory=utcnow, nullable=False)


class SsoTicket(SQLModel, table=True):
    """A single-use step of a sign-on, found by the SHA-256 of its secret: the flow
    sent to a provider (its secret is the `state`), the UI's one-time login code, or an
    account waiting for its password to link a provider. Taken once, by a DELETE that
    must find it; useless after `expires_at`."""

    __tablename__ = "sso_ticket"

    id: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=16)
    # What the step carries (the PKCE verifier, the nonce, the identity to link), as JSON.
    data: str = Field(sa_type=sa.Text)
    expires_at: datetime = Field(nullable=False, index=True)


class IdentityPublic(SQLModel):
    provider: str
    # The provider's name as the login buttons show it.
    display_name: str
    email: str
    created_at: datetime


class IdentitiesPublic(SQLModel):
    data: list[IdentityPublic]
    count: int
    # Whether the account has a password (accounts made by sign-on have none until
    # they recover one): without it, the last linked provider cannot be unlinked.
    has_password: bool


class OidcProviderPublic(SQLModel):
    name: str
    display_name: str
    # Where a browser starts the login (the UI passes `?return_to=ui`).
    login_url: str


class OidcProvidersPublic(SQLModel):
    data: list[OidcProviderPublic]
    count: int


class OidcLinkRequired(SQLModel):
    """The callback's 409: an account has the provider's (verified) address; its
    password, sent with `link_token` to `/login/oidc/link`, links the two."""

    detail: str
    link_token: str
    email: str
    provider: str


class OidcLink(SQLModel):
    link_token: Text = Field(min_length=1, max_length=TICKET_MAX_LENGTH)
    password: Text = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)
