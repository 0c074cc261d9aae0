"""UI events on the real backend: one JSON log line and one latency observation per
handler run (handler, outcome, duration, user, its own id), and a handler's bug sent to
Sentry (the real SDK, a local ingest) with that id and without the token."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.ui.state.public import LoginState
from tests.conftest import Account
from tests.live.conftest import FAULT_TITLE, FAULTS, LiveBackend, run_own_backend
from tests.live.reflex_tab import ITEMS, Tab
from tests.live.test_metrics import sample
from tests.sentry_ingest import Ingest, serve_ingest

LOGIN = LoginState.get_full_name()
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def ingest() -> Iterator[Ingest]:
    yield from serve_ingest()


@pytest.fixture(scope="module")
def observed_backend(
    database: str, ingest: Ingest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveBackend]:
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "ui-events",
        LOG_FORMAT="json",
        SENTRY_DSN=ingest.dsn,
        SENTRY_TRACES_SAMPLE_RATE="0",
        **FAULTS,
    )


def event_lines(backend: LiveBackend) -> list[dict[str, Any]]:
    lines = []
    for text in backend.log.read_text(errors="replace").splitlines():
        if text.startswith("{") and '"app.ui.events"' in text:
            lines.append(json.loads(text))
    return lines


async def test_each_handler_run_is_logged_timed_and_a_bug_reported(
    observed_backend: LiveBackend, ingest: Ingest, normal_user: Account
) -> None:
    token = normal_user.headers["Authorization"].removeprefix("Bearer ")
    tab = Tab(observed_backend.url)
    await tab.open("/items", token)
    await tab.wait_for(ITEMS, "loaded", lambda loaded: loaded is True)
    # A bug (injected into the service), not an expected failure.
    await tab.send(f"{ITEMS}.create", {"form": {"title": FAULT_TITLE}}, "/items")
    await tab.wait_for(ITEMS, "saving", lambda busy: busy is True)
    await ingest.wait_for_events(1)
    [event] = [
        found
        for found in ingest.events()
        if "exception" in found and found.get("tags", {}).get("handler") == "ItemsState.create"
    ]
    await tab.close()

    lines = event_lines(observed_backend)
    [opened] = [line for line in lines if line["handler"] == "ItemsState.open_page"]
    assert opened["outcome"] == "ok"
    assert opened["user_id"] == normal_user.id
    assert opened["level"] == "INFO"
    assert opened["duration_ms"] > 0
    [failed] = [line for line in lines if line["handler"] == "ItemsState.create"]
    assert failed["outcome"] == "error"
    assert failed["level"] == "WARNING"
    assert failed["request_id"] != opened["request_id"]

    assert event["tags"]["request_id"] == failed["request_id"]
    assert event["tags"]["handler"] == "ItemsState.create"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert token not in ingest.raw()
    assert tab.client_token not in ingest.raw()

    # An expected failure is not an error: a wrong password is `refused`.
    login = Tab(observed_backend.url)
    await login.open("/login")
    form = {"email": normal_user.email, "password": "not-the-password-1"}
    await login.send(f"{LoginState.get_full_name()}.log_in", {"form": form}, "/login")
    await login.wait_for(LOGIN, "submitting", lambda busy: busy is False)
    await login.close()
    [refused] = [
        line for line in event_lines(observed_backend) if line["handler"] == "LoginState.log_in"
    ]
    assert refused["outcome"] == "refused"
    assert refused["level"] == "INFO"

    async with httpx.AsyncClient(base_url=observed_backend.url) as client:
        scraped = (await client.get("/api/metrics")).text
    timed = "reflex_event_duration_seconds_count"
    assert sample(scraped, timed, handler="ItemsState.open_page", outcome="ok") == 1
    assert sample(scraped, timed, handler="ItemsState.create", outcome="error") == 1
    assert sample(scraped, timed, handler="LoginState.log_in", outcome="refused") == 1
    # The bug once, Reflex's wrong-type message once; nothing for the refused login.
    assert len(ingest.events()) == 2
