"""Password hashing and tokens, without HTTP."""

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt
import pytest

from app.core import security
from app.core.config import Settings, settings


def test_default_bcrypt_cost_is_12() -> None:
    assert Settings(_env_file=None, BCRYPT_ROUNDS=12).BCRYPT_ROUNDS == 12
    assert Settings.model_fields["BCRYPT_ROUNDS"].default == 12


def test_hash_uses_the_configured_cost() -> None:
    hashed = security.hash_password_sync("correct horse battery")
    assert hashed.startswith(f"$2b${settings.BCRYPT_ROUNDS:02d}$")
    assert security.verify_password_sync("correct horse battery", hashed)
    assert not security.verify_password_sync("wrong horse battery", hashed)


def test_template_bcrypt_hashes_still_verify() -> None:
    # passlib (the template's hasher before 0.10) wrote plain $2b$ hashes.
    legacy = bcrypt.hashpw(b"legacy-password", bcrypt.gensalt(rounds=4)).decode()
    assert security.verify_password_sync("legacy-password", legacy)


def test_passwords_longer_than_72_bytes_are_accepted() -> None:
    long_password = "é" * 100  # 200 bytes of UTF-8
    hashed = security.hash_password_sync(long_password)
    assert security.verify_password_sync(long_password, hashed)


def test_malformed_stored_hash_never_matches() -> None:
    assert not security.verify_password_sync("anything", "not-a-bcrypt-hash")


async def test_hashing_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = security.hash_password_sync

    def spy(password: str) -> str:
        seen.append(threading.get_ident())
        return original(password)

    monkeypatch.setattr(security, "hash_password_sync", spy)
    await security.hash_password("password-for-thread-check")
    assert seen and seen[0] != threading.get_ident()


async def test_event_loop_keeps_ticking_while_hashing_at_cost_12(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "BCRYPT_ROUNDS", 12)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(security.hash_password(f"password-{n}") for n in range(2)))
    elapsed = time.perf_counter() - started
    task.cancel()
    # A blocked loop would tick ~0 times during the (>= 100 ms) hashing.
    assert ticks >= elapsed / 0.01 / 3


def test_access_token_claims() -> None:
    token = security.create_access_token(42)
    payload = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert payload["sub"] == "42"
    assert payload["type"] == "access"
    assert {"exp", "iat"} <= payload.keys()
    expected_exp = datetime.now(UTC) + timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES)
    assert abs(payload["exp"] - expected_exp.timestamp()) < 5


def test_reset_token_expires_after_configured_hours() -> None:
    payload = jwt.decode(security.create_reset_token(7), settings.SECRET_KEY, algorithms=["HS256"])
    expected = datetime.now(UTC) + timedelta(hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS)
    assert payload["type"] == "reset"
    assert abs(payload["exp"] - expected.timestamp()) < 5


def test_token_types_are_not_interchangeable() -> None:
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(security.create_reset_token(1), "access")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(security.create_access_token(1), "reset")


@pytest.mark.parametrize(
    "payload",
    [
        {"sub": "1", "type": "access", "iat": 1},  # no exp
        {"sub": "1", "type": "access", "exp": 4102444800},  # no iat
        {"type": "access", "iat": 1, "exp": 4102444800},  # no sub
        {"sub": "abc", "type": "access", "iat": 1, "exp": 4102444800},
        {"sub": "1", "iat": 1, "exp": 4102444800},  # no type
        {"sub": "1", "type": "access", "iat": 1, "exp": 1},  # expired
    ],
)
def test_incomplete_or_expired_tokens_are_rejected(payload: dict[str, object]) -> None:
    token = jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(token, "access")


def test_tokens_signed_with_another_key_or_algorithm_are_rejected() -> None:
    claims = {"sub": "1", "type": "access", "iat": 1, "exp": 4102444800}
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(jwt.encode(claims, "another-key-" * 4, algorithm="HS256"), "access")
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(unsigned, "access")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token("not.a.jwt", "access")


def test_token_issued_a_moment_before_a_password_change_counts_as_older() -> None:
    claims = security.decode_token(security.create_access_token(3), "access")
    changed_at = datetime.now(UTC)
    assert security.issued_before_password_change(claims, changed_at)
    later = security.decode_token(security.create_access_token(3), "access")
    assert not security.issued_before_password_change(later, changed_at)
