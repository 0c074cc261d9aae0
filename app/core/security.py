"""Password hashing (bcrypt, off the event loop) and typed JWTs (access, reset)."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

import bcrypt
import jwt

from app.core.config import settings

ALGORITHM = "HS256"
TokenType = Literal["access", "reset"]

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


def verify_password_sync(password: str, hashed_password: str) -> bool:
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


class InvalidTokenError(Exception):
    """The token is malformed, expired, of the wrong type or badly signed."""


def create_token(user_id: int, token_type: TokenType, expires_delta: timedelta) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "type": token_type,
        # Sub-second precision so a token issued just before a password change in
        # the same second is still recognised as older than it.
        "iat": now.timestamp(),
        "exp": now + expires_delta,
    }
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


def create_access_token(user_id: int) -> str:
    return create_token(user_id, "access", timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES))


def create_reset_token(user_id: int) -> str:
    return create_token(user_id, "reset", timedelta(hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS))


def decode_token(token: str, expected_type: TokenType) -> TokenClaims:
    try:
        payload = jwt.decode(
            token,
            settings.SECRET_KEY,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidTokenError(str(exc)) from exc
    if payload.get("type") != expected_type:
        raise InvalidTokenError("wrong token type")
    sub, iat = payload["sub"], payload["iat"]
    if not isinstance(sub, str) or not sub.isdigit() or not isinstance(iat, int | float):
        raise InvalidTokenError("malformed claims")
    return TokenClaims(user_id=int(sub), issued_at=datetime.fromtimestamp(float(iat), UTC))


def issued_before_password_change(claims: TokenClaims, password_changed_at: datetime) -> bool:
    return claims.issued_at < password_changed_at
