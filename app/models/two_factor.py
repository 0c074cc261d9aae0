"""Two-factor authentication: recovery codes and the API's schemas."""

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.fields import PASSWORD_MAX_LENGTH, Text

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
