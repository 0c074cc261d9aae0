"""Password hashing (bcrypt, off the event loop) and typed JWTs (access, refresh, reset,
device, verify, 2fa)."""

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import bcrypt
import jwt

from app.core.config import settings
from app.models import MAX_ID

ALGORITHM = "HS256"
TokenType = Literal["access", "refresh", "reset", "device", "verify", "2fa"]
# How long the second step of a login may wait for its code.
TWO_FACTOR_CHALLENGE_MINUTES = 5
# Ids are int4: a larger claim names no row.
MAX_CLAIM = MAX_ID

# bcrypt releases the GIL; a pool sized to the cores keeps a burst of logins from
# queueing behind (or starving) every other use of the default executor.
_hash_pool = ThreadPoolExecutor(
    max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="bcrypt"
)


def _secret_bytes(password: str) -> bytes:
    # bcrypt only reads 72 bytes; truncating explicitly keeps hashes made by the
    # FastAPI template (passlib truncated silently) verifiable.
    return password.encode("utf-8")[:72]


def hash_password_sync(password: str) -> str:
    salt = bcrypt.gensalt(rounds=settings.BCRYPT_ROUNDS)
    return bcrypt.hashpw(_secret_bytes(password), salt).decode("ascii")


# What an account made by single sign-on has for a password: no bcrypt hash, so no
# password matches it, until one is set through password recovery.
UNUSABLE_PASSWORD = "!"


def has_usable_password(hashed_password: str) -> bool:
    return hashed_password != UNUSABLE_PASSWORD


def verify_password_sync(password: str, hashed_password: str) -> bool:
    if not has_usable_password(hashed_password):
        # As slow as a real check: timing must not tell which accounts have no password.
        verify_password_sync(password, dummy_hash())
        return False
    try:
        return bcrypt.checkpw(_secret_bytes(password), hashed_password.encode("ascii"))
    except ValueError:
        # A malformed stored hash can never match.
        return False


async def hash_password(password: str) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hash_pool, hash_password_sync, password)


async def verify_password(password: str, hashed_password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hash_pool, verify_password_sync, password, hashed_password)


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    return hash_password_sync("timing-equaliser-not-a-password")


async def burn_password_check(password: str) -> None:
    """Spend one real bcrypt check so unknown emails answer as slowly as known ones."""
    await verify_password(password, dummy_hash())


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    issued_at: datetime
    # The session (one login) an access or refresh token belongs to; 0 for reset tokens.
    session_id: int = 0
    # A refresh token's place in its session's rotation.
    generation: int = 0


@dataclass(frozen=True)
class DeviceClaims:
    # The account's email as rate limits key it (rate_limits.identifier), so a login
    # can tell its own device before any database work.
    account: str
    device_id: str


@dataclass(frozen=True)
class EmailClaims:
    """A link mailed to `email`: whoever follows it reads that mailbox."""

    user_id: int
    email: str


class InvalidTokenError(Exception):
    """The token is malformed, expired, of the wrong type or badly signed."""


def _encode(claims: dict[str, Any], token_type: TokenType, expires_at: datetime) -> str:
    now = datetime.now(UTC)
    payload = {
        **claims,
        "type": token_type,
        # Sub-second precision so a token issued just before a password change in
        # the same second is still recognised as older than it.
        "iat": now.timestamp(),
        "exp": expires_at,
    }
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


def create_token(user_id: int, token_type: TokenType, expires_at: datetime, **claims: int) -> str:
    return _encode({"sub": str(user_id), **claims}, token_type, expires_at)


def create_access_token(user_id: int, session_id: int, expires_at: datetime) -> str:
    return create_token(user_id, "access", expires_at, sid=session_id)


def create_refresh_token(
    user_id: int, session_id: int, generation: int, expires_at: datetime
) -> str:
    return create_token(user_id, "refresh", expires_at, sid=session_id, gen=generation)


def create_reset_token(user_id: int) -> str:
    expires_at = datetime.now(UTC) + timedelta(hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS)
    return create_token(user_id, "reset", expires_at)


def create_two_factor_challenge(user_id: int) -> str:
    """What a login of an account with two-factor on answers instead of tokens: proof
    that the password was right, for the code step (POST /login/2fa) only."""
    expires_at = datetime.now(UTC) + timedelta(minutes=TWO_FACTOR_CHALLENGE_MINUTES)
    return create_token(user_id, "2fa", expires_at)


def create_device_token(account: str) -> str:
    expires_at = datetime.now(UTC) + timedelta(days=settings.DEVICE_TOKEN_EXPIRE_DAYS)
    return _encode({"acc": account, "dev": secrets.token_urlsafe(16)}, "device", expires_at)


def create_verify_token(user_id: int, email: str) -> str:
    """The token of a link that proves `email` is the user's (it was mailed there)."""
    expires_at = datetime.now(UTC) + timedelta(hours=settings.EMAIL_VERIFY_TOKEN_EXPIRE_HOURS)
    return _encode({"sub": str(user_id), "email": email}, "verify", expires_at)


def _decode(token: str, expected_type: TokenType, required: list[str]) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", *required]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    if payload.get("type") != expected_type:
        raise InvalidTokenError("wrong token type")
    if not isinstance(payload["iat"], int | float):
        raise InvalidTokenError("malformed claims")
    return payload


def _user_id(value: Any) -> int:
    """`sub`: a user id as a string of ASCII digits (`"²".isdigit()` is true, and int()
    refuses it). One out of the ids' range is well formed: it names no user (404)."""
    if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20):
        raise InvalidTokenError("malformed claims")
    return int(value)


def _count(value: Any) -> int:
    """`sid` and `gen`: integers within a database integer's range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CLAIM:
        raise InvalidTokenError("malformed claims")
    return value


def decode_token(token: str, expected_type: TokenType) -> TokenClaims:
    """The claims of an access, refresh, reset or 2fa token; InvalidTokenError if it is not
    one."""
    session_claims = ["sid"] if expected_type in ("access", "refresh") else []
    if expected_type == "refresh":
        session_claims.append("gen")
    payload = _decode(token, expected_type, ["sub", *session_claims])
    return TokenClaims(
        user_id=_user_id(payload["sub"]),
        issued_at=datetime.fromtimestamp(float(payload["iat"]), UTC),
        session_id=_count(payload["sid"]) if session_claims else 0,
        generation=_count(payload["gen"]) if expected_type == "refresh" else 0,
    )


def decode_device_token(token: str) -> DeviceClaims:
    payload = _decode(token, "device", ["acc", "dev"])
    account, device_id = payload["acc"], payload["dev"]
    if not isinstance(account, str) or not isinstance(device_id, str) or len(device_id) > 64:
        raise InvalidTokenError("malformed claims")
    return DeviceClaims(account=account, device_id=device_id)


def decode_verify_token(token: str) -> EmailClaims:
    payload = _decode(token, "verify", ["sub", "email"])
    email = payload["email"]
    if not isinstance(email, str):
        raise InvalidTokenError("malformed claims")
    return EmailClaims(user_id=_user_id(payload["sub"]), email=email)


def issued_before_password_change(claims: TokenClaims, password_changed_at: datetime) -> bool:
    return claims.issued_at < password_changed_at
