"""A dead database gives a clear, retryable 503 — never a 500 or a hang."""

import socket
from collections.abc import AsyncIterator
from typing import TypedDict

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.db import create_async_engine
from tests.factories import token_without_session

DETAIL = "The database is unavailable, please try again later"


class RequestArgs(TypedDict, total=False):
    """How a route is called: a form, a JSON body, with a caller's token."""

    data: dict[str, str]
    json: dict[str, str]
    auth: bool


@pytest.fixture
async def dead_database(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = create_async_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/app")
    dead = async_sessionmaker(engine, class_=AsyncSession)
    # Both faces open their sessions through app.db's policy.
    for name in ("SessionMaker", "ReadOnlySessionMaker", "ReplicaSessionMaker"):
        monkeypatch.setattr(db, name, dead)
    monkeypatch.setattr(db, "engine", engine)  # the caller lookup's pool (app.db.rows)
    # No replica configured means the replica is the primary (db.has_replica); with one,
    # the caller lookup would fall back to it (tests/replica).
    monkeypatch.setattr(db, "replica_engine", engine)
    yield
    await engine.dispose()


@pytest.mark.usefixtures("dead_database")
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/api/v1/login/access-token", {"data": {"username": "a@b.co", "password": "x"}}),
        ("POST", "/api/v1/users/signup", {"json": {"email": "a@b.co", "password": "12345678"}}),
        ("GET", "/api/v1/users/me", {"auth": True}),
        ("GET", "/api/v1/items/", {"auth": True}),
        ("POST", "/api/v1/password-recovery/a@b.co", {}),
    ],
)
async def test_routes_answer_503_when_the_database_is_unreachable(
    client: httpx.AsyncClient, method: str, path: str, kwargs: RequestArgs
) -> None:
    headers = {}
    if kwargs.get("auth"):
        headers["Authorization"] = f"Bearer {token_without_session(1)}"
    response = await client.request(
        method, path, headers=headers, data=kwargs.get("data"), json=kwargs.get("json")
    )
    assert response.status_code == 503
    assert response.json() == {"detail": DETAIL}
    assert response.headers["retry-after"] == "5"


@pytest.mark.usefixtures("dead_database")
async def test_health_check_does_not_need_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/utils/health-check/")
    assert response.status_code == 200 and response.json() is True
