"""The request log: one line per request with its id, route template, status, duration
and user; the id on every line of the request and in the response; no secret in any line."""

import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.api.main import create_api
from app.core.config import settings
from app.observability.logging import TEXT_FORMAT, JsonFormatter, RequestContext
from app.observability.request_log import new_request_id
from tests.conftest import Account

API = settings.API_V1_STR


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the `app` loggers write, in the production (JSON) format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContext())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("app")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in records(stream) if line["logger"] == "app.access"]


async def test_each_request_is_one_json_line_with_its_route_status_and_user(
    client: httpx.AsyncClient, normal_user: Account, log_lines: io.StringIO
) -> None:
    response = await client.get(f"{API}/items/123456", headers=normal_user.headers)
    assert response.status_code == 404
    [line] = access(log_lines)
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == f"{API}/items/{{id}}"
    assert line["status"] == 404
    assert line["user_id"] == normal_user.id
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["timestamp"].endswith("+00:00")


async def test_every_line_of_a_request_carries_its_id(
    client: httpx.AsyncClient, log_lines: io.StringIO
) -> None:
    response = await client.post(f"{API}/password-recovery/nobody@example.com")
    assert response.status_code == 200
    lines = records(log_lines)
    assert any("Password recovery requested" in line["message"] for line in lines)
    assert {line["request_id"] for line in lines} == {response.headers["x-request-id"]}


async def test_request_ids_are_made_here_unless_a_trusted_proxy_sent_one(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = {"X-Request-ID": "proxy-id-123"}
    first = await client.get(f"{API}/utils/health-check/", headers=sent)
    second = await client.get(f"{API}/utils/health-check/")
    # Without a trusted proxy, a client's header is ignored.
    assert first.headers["x-request-id"] not in ("proxy-id-123", second.headers["x-request-id"])

    monkeypatch.setattr(settings, "REFLEX_TRUSTED_PROXY_HOPS", 1)
    behind_proxy = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api()), base_url="http://test"
    )
    async with behind_proxy:
        kept = await behind_proxy.get(f"{API}/utils/health-check/", headers=sent)
        odd = await behind_proxy.get(
            f"{API}/utils/health-check/", headers={"X-Request-ID": "a b\tc" + "x" * 200}
        )
    assert kept.headers["x-request-id"] == "proxy-id-123"
    # Not an id a proxy makes: replaced, so no client text reaches the logs.
    assert odd.headers["x-request-id"] != "a b\tc" + "x" * 200
    assert len(odd.headers["x-request-id"]) == 32


async def test_no_password_or_token_is_ever_logged(
    client: httpx.AsyncClient, normal_user: Account, log_lines: io.StringIO
) -> None:
    login = await client.post(
        f"{API}/login/access-token",
        data={"username": normal_user.email, "password": normal_user.password},
    )
    token = login.json()["access_token"]
    await client.post(
        f"{API}/login/access-token",
        data={"username": normal_user.email, "password": "a-wrong-password-1"},
    )
    await client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {token}"})
    await client.get(f"{API}/users/me", headers={"Authorization": "Bearer eyJx.eyJy.z"})
    text = log_lines.getvalue()
    assert len(access(log_lines)) == 4
    for secret in (normal_user.password, "a-wrong-password-1", token, "eyJx.eyJy.z"):
        assert secret not in text


def test_local_runs_read_as_text_with_the_request_id() -> None:
    record = logging.makeLogRecord({"name": "app.x", "msg": "hello", "levelname": "INFO"})
    RequestContext().filter(record)
    assert logging.Formatter(TEXT_FORMAT).format(record).endswith("INFO app.x [-]: hello")


def test_a_forked_worker_makes_ids_of_its_own() -> None:
    parent = new_request_id()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(writer, new_request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(reader, 64).decode()
    os.close(reader)
    os.close(writer)
    assert len(child) == len(parent) == 32
    # Same counter position, different process: only the prefix tells them apart.
    assert child[:16] != parent[:16]
    assert new_request_id() != parent
