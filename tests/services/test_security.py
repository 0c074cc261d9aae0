"""Password hashing and tokens, without HTTP."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import bcrypt
import httpx
import jwt
import pytest

from app.core import security
from app.core.config import Settings, settings
from tests.conftest import Account


def test_default_bcrypt_cost_is_12(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test run sets a cheap cost in the environment; without it, the default holds.
    monkeypatch.delenv("BCRYPT_ROUNDS")
    assert Settings(_env_file=None).BCRYPT_ROUNDS == 12


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


async def test_requests_are_served_while_a_login_is_hashing(
    monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient, normal_user: Account
) -> None:
    """A login's bcrypt check holds a worker thread, never the event loop.

    The check is held until another request has been answered: if it ran on the event
    loop, that request could not be served and the login would time out. (How many timer
    ticks the loop keeps while hashing is measured by bench/hashing.py.)
    """
    hashing, answered = threading.Event(), threading.Event()
    original = security.verify_password_sync

    def held(password: str, hashed_password: str) -> bool:
        hashing.set()
        assert answered.wait(10), "no other request was served while the login was hashing"
        return original(password, hashed_password)

    monkeypatch.setattr(security, "verify_password_sync", held)
    login = asyncio.create_task(
        client.post(
            f"{settings.API_V1_STR}/login/access-token",
            data={"username": normal_user.email, "password": normal_user.password},
        )
    )
    assert await asyncio.to_thread(hashing.wait, 10), "the login never started hashing"
    me = await client.get(f"{settings.API_V1_STR}/users/me", headers=normal_user.headers)
    assert me.status_code == 200 and not login.done()
    answered.set()
    assert (await login).status_code == 200


def in_a_day() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


def test_access_token_claims() -> None:
    expires_at = in_a_day()
    token = security.create_access_token(42, 7, expires_at)
    payload = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert payload["sub"] == "42"
    assert payload["sid"] == 7
    assert payload["type"] == "access"
    assert {"exp", "iat"} <= payload.keys()
    assert abs(payload["exp"] - expires_at.timestamp()) < 1
    claims = security.decode_token(token, "access")
    assert (claims.user_id, claims.session_id) == (42, 7)


def test_refresh_token_carries_its_generation() -> None:
    claims = security.decode_token(security.create_refresh_token(5, 9, 3, in_a_day()), "refresh")
    assert (claims.user_id, claims.session_id, claims.generation) == (5, 9, 3)
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(security.create_refresh_token(5, 9, 3, in_a_day()), "access")


def test_device_token_names_its_account_and_no_two_are_alike() -> None:
    first = security.decode_device_token(security.create_device_token("account-key"))
    second = security.decode_device_token(security.create_device_token("account-key"))
    assert first.account == second.account == "account-key"
    assert first.device_id != second.device_id
    with pytest.raises(security.InvalidTokenError):
        security.decode_device_token(security.create_access_token(1, 1, in_a_day()))


def test_reset_token_expires_after_configured_hours() -> None:
    payload = jwt.decode(security.create_reset_token(7), settings.SECRET_KEY, algorithms=["HS256"])
    expected = datetime.now(UTC) + timedelta(hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS)
    assert payload["type"] == "reset"
    assert abs(payload["exp"] - expected.timestamp()) < 5


def test_token_types_are_not_interchangeable() -> None:
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(security.create_reset_token(1), "access")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(security.create_access_token(1, 1, in_a_day()), "reset")


@pytest.mark.parametrize(
    "payload",
    [
        {"sub": "1", "type": "access", "iat": 1},  # no exp
        {"sub": "1", "type": "access", "exp": 4102444800},  # no iat
        {"type": "access", "iat": 1, "exp": 4102444800},  # no sub
        {"sub": "abc", "type": "access", "iat": 1, "exp": 4102444800},
        {"sub": "\u00b2", "type": "access", "sid": 1, "iat": 1, "exp": 4102444800},
        {"sub": "1", "type": "access", "iat": 1, "exp": 4102444800},  # no sid
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
    unsigned = jwt.encode(claims, "", algorithm="none")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token(unsigned, "access")
    with pytest.raises(security.InvalidTokenError):
        security.decode_token("not.a.jwt", "access")


def test_token_issued_a_moment_before_a_password_change_counts_as_older() -> None:
    claims = security.decode_token(security.create_reset_token(3), "reset")
    changed_at = datetime.now(UTC)
    assert security.issued_before_password_change(claims, changed_at)
    later = security.decode_token(security.create_reset_token(3), "reset")
    assert not security.issued_before_password_change(later, changed_at)
