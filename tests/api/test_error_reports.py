"""Errors of REST routes reach Sentry (the real SDK, posting to a local ingest) with the
request id and user id, and without the secrets the request carried."""

import secrets
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import sentry_sdk

from app.api.main import create_api
from app.core.config import settings
from app.models import User
from app.observability.error_reports import FILTERED, report_ui_error, scrub, start_error_reports
from app.observability.logging import current_request, set_user
from app.services import users
from app.ui.state.event import observed
from tests.conftest import Account
from tests.sentry_ingest import Ingest, serve_ingest

API = settings.API_V1_STR
NEW_PASSWORD = "a-new-password-42"


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    for found in serve_ingest():
        assert start_error_reports(found.dsn)
        try:
            yield found
        finally:
            sentry_sdk.get_client().close()
            sentry_sdk.init()


@pytest.fixture
async def app_client() -> AsyncIterator[httpx.AsyncClient]:
    # A 500 as a client sees it, rather than the exception raised into the test.
    transport = httpx.ASGITransport(app=create_api(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_failing_route_is_reported_with_its_request_and_user_and_no_secret(
    ingest: Ingest,
    app_client: httpx.AsyncClient,
    normal_user: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = normal_user.headers["Authorization"].removeprefix("Bearer ")

    def broken(_user: User, _hashed_password: str) -> None:
        # A bug whose message happens to carry a credential.
        raise RuntimeError(f"could not store the hash for {token}")

    monkeypatch.setattr(users, "_store_password_hash", broken)
    response = await app_client.patch(
        f"{API}/users/me/password",
        json={"current_password": normal_user.password, "new_password": NEW_PASSWORD},
        headers={**normal_user.headers, "Cookie": "session=a-cookie-value-1"},
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    [event] = await ingest.wait_for_events()
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "could not store the hash for <jwt>"
    assert event["tags"]["request_id"] == response.headers["x-request-id"]
    assert event["user"]["id"] == str(normal_user.id)
    assert event["environment"] == settings.ENVIRONMENT
    raw = ingest.raw()
    for secret in (normal_user.password, NEW_PASSWORD, token, "a-cookie-value-1"):
        assert secret not in raw


async def test_expected_errors_are_not_reported(
    ingest: Ingest, app_client: httpx.AsyncClient, normal_user: Account
) -> None:
    missing = await app_client.get(f"{API}/items/123456", headers=normal_user.headers)
    unauthenticated = await app_client.get(f"{API}/users/me")
    assert (missing.status_code, unauthenticated.status_code) == (404, 401)
    sentry_sdk.flush()
    assert ingest.events() == []


def test_without_a_dsn_nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "SENTRY_DSN", None)
    assert start_error_reports() is False


def test_scrub_filters_secret_keys_and_redacts_tokens_anywhere() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI1In0.c2lnbmF0dXJl"
    event = {
        "request": {
            "headers": [["Authorization", f"Bearer {jwt}"], ["Accept", "text/html"]],
            "data": {"new_password": "x", "nested": {"access_token": jwt, "title": "kept"}},
        },
        "breadcrumbs": {"values": [{"message": f"token in a log line {jwt}"}]},
        "extra": {"count": 3},
    }
    assert scrub(event) == {
        "request": {
            "headers": [["Authorization", FILTERED], ["Accept", "text/html"]],
            "data": {
                "new_password": FILTERED,
                "nested": {"access_token": FILTERED, "title": "kept"},
            },
        },
        "breadcrumbs": {"values": [{"message": "token in a log line <jwt>"}]},
        "extra": {"count": 3},
    }


class ItemsPage:
    """Stands for the state a handler runs on: its class names the handler."""


async def test_a_failing_ui_handler_is_reported_with_its_user(ingest: Ingest) -> None:
    async def save_item(_state: ItemsPage, form: dict[str, str]) -> None:
        set_user(41)
        assert current_request.get() is not None
        form["title"]  # A bug: the form names the field `title_`.

    handler = observed(save_item)
    # Made here, not written out: Sentry sends the source lines around each frame.
    password = secrets.token_urlsafe(12)
    with pytest.raises(KeyError):
        await handler(ItemsPage(), {"title_": "x", "password": password})
    sentry_sdk.flush()
    [event] = await ingest.wait_for_events()
    assert event["exception"]["values"][-1]["type"] == "KeyError"
    assert event["tags"]["handler"] == "ItemsPage.save_item"
    assert len(event["tags"]["request_id"]) == 32
    assert event["user"]["id"] == "41"
    assert password not in ingest.raw()
    # Reported once, though Reflex's own error handler meets it again.
    report_ui_error(KeyError("another"))
    sentry_sdk.flush()
    assert len(await ingest.wait_for_events()) == 2
