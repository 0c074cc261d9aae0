"""Two-factor authentication: TOTP (RFC 6238) with single-use recovery codes.

Setup stores a new secret and answers it with its `otpauth://` URI and QR code; a code
from the authenticator confirms it and turns two-factor on, answering ten recovery
codes (kept as hashes only). A code is taken once: the step it was accepted for is
stored with a conditional UPDATE, and only a later step is taken after it, so a code
seen over a shoulder (or sent twice at once) works for nobody else.
"""

import base64
import hashlib
import hmac
import io
import secrets
import struct
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import segno
from sqlalchemy import delete, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.core.security import verify_password
from app.models import RecoveryCode, User
from app.services import messages
from app.services.errors import BadRequest

# What every authenticator app takes: SHA-1, six digits, 30-second steps.
DIGITS = 6
PERIOD_SECONDS = 30
# Steps either side of now that are still taken: a phone's clock a little off.
DRIFT_STEPS = 1
SECRET_BYTES = 20
RECOVERY_CODES = 10
# 16 base32 characters: 80 bits, in four groups of four.
RECOVERY_CODE_GROUPS = 4


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    """RFC 6238's TOTP for a time step (RFC 4226's HOTP with the step as counter)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // PERIOD_SECONDS)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The step within the drift window whose code `code` is, if any."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    step = current_step(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, candidate), code):
            return candidate
    return None


def otpauth_uri(secret: str, email: str) -> str:
    """The Key Uri Format authenticator apps scan: `otpauth://totp/Issuer:account?...`."""
    issuer = settings.PROJECT_NAME
    label = quote(f"{issuer}:{email}")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def qr_svg(uri: str) -> str:
    """The URI as a QR code, an SVG document drawn here (no third party sees the secret).
    A whole document, with its namespace: shown as an image, SVG needs it."""
    document = io.BytesIO()
    segno.make(uri, error="m").save(
        document, kind="svg", xmldecl=False, scale=5, dark="#000", light="#fff"
    )
    return document.getvalue().decode("utf-8")


def _hash_recovery_code(code: str) -> str:
    normalized = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()


def _new_recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    return "-".join(raw[i : i + 4] for i in range(0, 4 * RECOVERY_CODE_GROUPS, 4))


@dataclass(frozen=True)
class Setup:
    secret: str
    otpauth_uri: str
    qr_svg: str


async def begin_setup(session: AsyncSession, user: User) -> Setup:
    """A new secret for `user`, not in force until a code confirms it."""
    if user.two_factor_enabled:
        raise BadRequest(messages.TWO_FACTOR_ALREADY_ON)
    secret = new_secret()
    user.two_factor_secret = secret
    session.add(user)
    await session.commit()
    uri = otpauth_uri(secret, user.email)
    return Setup(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


async def _take_step(session: AsyncSession, user: User, step: int) -> bool:
    """Record `step` as used, if no code of it or of a later step was taken before."""
    result = await session.exec(
        update(User)
        .where(col(User.id) == user.id, col(User.two_factor_last_step) < step)
        .values(two_factor_last_step=step)
    )
    return bool(result.rowcount == 1)


async def _take_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    result = await session.exec(
        delete(RecoveryCode).where(
            col(RecoveryCode.user_id) == user.id,
            col(RecoveryCode.code_hash) == _hash_recovery_code(code),
        )
    )
    return bool(result.rowcount == 1)


async def take_code(session: AsyncSession, user: User, code: str) -> bool:
    """Whether `code` is a TOTP code of the user's secret not used before, or one of
    their recovery codes, which is then gone. Commits."""
    secret = user.two_factor_secret
    if secret is None:
        return False
    step = matching_step(secret, code)
    if step is not None:
        taken = await _take_step(session, user, step)
    else:
        taken = await _take_recovery_code(session, user, code)
    await session.commit()
    return taken


async def confirm_setup(session: AsyncSession, user: User, code: str) -> list[str]:
    """Turn two-factor on with a first code; the new recovery codes, shown once."""
    if user.two_factor_enabled:
        raise BadRequest(messages.TWO_FACTOR_ALREADY_ON)
    if user.two_factor_secret is None:
        raise BadRequest(messages.TWO_FACTOR_NOT_STARTED)
    session.add(user)
    # Recovery codes are made below: before, the user has none to take.
    if not await take_code(session, user, code):
        raise BadRequest(messages.INVALID_TWO_FACTOR_CODE)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    await session.refresh(user)
    user.two_factor_enabled = True
    session.add(user)
    await session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    assert user.id is not None
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(c)) for c in codes)
    await session.commit()
    return codes


async def disable(session: AsyncSession, user: User, password: str, code: str) -> None:
    """Turn two-factor off: the password and a code (TOTP or recovery) both, so neither a
    stolen session nor a stolen phone alone can."""
    if not user.two_factor_enabled:
        raise BadRequest(messages.TWO_FACTOR_OFF)
    if not await verify_password(password, user.hashed_password):
        raise BadRequest(messages.INCORRECT_PASSWORD)
    session.add(user)
    if not await take_code(session, user, code):
        raise BadRequest(messages.INVALID_TWO_FACTOR_CODE)
    await session.refresh(user)
    user.two_factor_enabled, user.two_factor_secret, user.two_factor_last_step = False, None, 0
    session.add(user)
    await session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    await session.commit()
