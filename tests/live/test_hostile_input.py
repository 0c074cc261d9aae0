"""Hostile input over real HTTP, through the Reflex backend (granian) production runs."""

import time
from collections.abc import Iterator

import httpx
import pytest

from app.core.config import settings
from app.models import UNSTORABLE_TEXT
from tests.live.conftest import LiveBackend

API = settings.API_V1_STR
pytestmark = pytest.mark.live


def test_nul_in_the_login_username_is_a_422(live_backend: LiveBackend) -> None:
    with httpx.Client(base_url=live_backend.url) as client:
        r = client.post(
            f"{API}/login/access-token", data={"username": "a\x00b", "password": "password"}
        )
    assert r.status_code == 422
    assert r.json() == {
        "detail": [{"loc": ["body", "username"], "msg": UNSTORABLE_TEXT, "type": "unstorable_text"}]
    }


def test_a_10_mb_signup_is_a_413_at_once_and_the_server_keeps_serving(
    live_backend: LiveBackend,
) -> None:
    body = b'{"email": "big@example.com", "password": "' + b"p" * (10 * 1024 * 1024) + b'"}'
    with httpx.Client(base_url=live_backend.url, timeout=30) as client:
        started = time.monotonic()
        r = client.post(
            f"{API}/users/signup", content=body, headers={"Content-Type": "application/json"}
        )
        elapsed = time.monotonic() - started
        assert r.status_code == 413
        assert r.json() == {"detail": "Content Too Large"}
        assert len(r.content) < 100
        # Refused from its Content-Length: nowhere near the 9 s that parsing it took.
        assert elapsed < 3, elapsed
        assert client.get(f"{API}/utils/health-check/").json() is True


def test_a_chunked_body_over_the_limit_is_a_413(live_backend: LiveBackend) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(3 * 1024):
            yield b" " * 1024

    with httpx.Client(base_url=live_backend.url, timeout=30) as client:
        r = client.post(
            f"{API}/users/signup", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413
    assert r.json() == {"detail": "Content Too Large"}


def test_a_422_does_not_echo_the_password(live_backend: LiveBackend) -> None:
    password = "my-very-secret-password"
    with httpx.Client(base_url=live_backend.url) as client:
        r = client.post(f"{API}/users/signup", json={"email": "nope", "password": password})
    assert r.status_code == 422
    assert password not in r.text
    assert "nope" not in r.text


def test_nan_in_a_body_is_a_422(live_backend: LiveBackend) -> None:
    with httpx.Client(base_url=live_backend.url) as client:
        r = client.post(
            f"{API}/users/signup",
            content=b'{"email": NaN, "password": 1e999999}',
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "email"], ["body", "password"]]
