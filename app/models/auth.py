"""Schemas of logging in and tokens, and the plain `{"message": ...}` answer."""

from sqlmodel import Field, SQLModel

from app.models.fields import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, Text


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
