"""Sessions: one row per login, and how the API shows them."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.fields import utcnow

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
