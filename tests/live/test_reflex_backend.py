"""The contract over real HTTP, through the Reflex backend (granian) that production runs."""

import asyncio

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.services.users import ensure_first_superuser
from tests.factories import random_email
from tests.live.conftest import LiveBackend

API = settings.API_V1_STR
pytestmark = pytest.mark.live


async def superuser_headers(base: str, session: AsyncSession) -> dict[str, str]:
    await ensure_first_superuser(session)
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            f"{API}/login/access-token",
            data={
                "username": settings.FIRST_SUPERUSER,
                "password": settings.FIRST_SUPERUSER_PASSWORD,
            },
        )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_reflex_and_fastapi_routes_share_the_port(live_backend: LiveBackend) -> None:
    with httpx.Client(base_url=live_backend.url) as client:
        assert client.get("/api/ping").json() == "pong"
        assert client.get(f"{API}/utils/health-check/").json() is True
        schema = client.get(f"{API}/openapi.json").json()
        assert schema["info"]["title"] == settings.PROJECT_NAME
        assert "swagger-ui" in client.get("/api/docs").text.lower()
        missing = client.get(f"{API}/no-such-route")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "Not Found"}


def test_fastapi_lifespan_runs_inside_reflex(live_backend: LiveBackend) -> None:
    assert "API started" in live_backend.log.read_text()


async def test_user_journey_over_http(live_backend: LiveBackend) -> None:
    email, password = random_email(), "journey-password"
    async with httpx.AsyncClient(base_url=live_backend.url) as client:
        signup = await client.post(
            f"{API}/users/signup", json={"email": email, "password": password}
        )
        assert signup.status_code == 200, signup.text
        login = await client.post(
            f"{API}/login/access-token", data={"username": email, "password": password}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        created = await client.post(f"{API}/items/", json={"title": "Live"}, headers=headers)
        assert created.status_code == 200
        listed = await client.get(f"{API}/items/", headers=headers)
        assert listed.json()["count"] == 1
        assert listed.json()["data"][0]["title"] == "Live"
        other = await client.get(f"{API}/items/{created.json()['id'] + 1000}", headers=headers)
        assert other.status_code == 404
        assert other.json() == {"detail": "Item not found"}
        no_token = await client.get(f"{API}/users/me")
        assert no_token.status_code == 401
        assert no_token.headers["www-authenticate"] == "Bearer"


async def test_recovery_preview_sends_a_valid_subject_header(
    live_backend: LiveBackend, session: AsyncSession
) -> None:
    headers = await superuser_headers(live_backend.url, session)
    async with httpx.AsyncClient(base_url=live_backend.url) as client:
        response = await client.post(
            f"{API}/password-recovery-html-content/{settings.FIRST_SUPERUSER}", headers=headers
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["subject"] == (
        f"{settings.PROJECT_NAME} - Password recovery for user {settings.FIRST_SUPERUSER}"
    )
    assert "/reset-password?token=" in response.text


async def test_concurrent_signups_with_one_email_never_500(live_backend: LiveBackend) -> None:
    email = random_email()
    async with httpx.AsyncClient(base_url=live_backend.url, timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{API}/users/signup", json={"email": email, "password": "p" * 10})
                for _ in range(10)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * 9
    assert {r.json()["detail"] for r in responses if r.status_code == 400} == {
        "The user with this email already exists in the system"
    }
