"""/api/metrics over HTTP: what a scrape reports after known requests, and who may scrape.

Counters live as long as the test process, so each test reads them before and after.
"""

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.core.config import settings
from app.db import create_async_engine, engine
from app.emails import EmailMessage
from app.observability.metrics import HTTP_REQUESTS, REQUESTS, RequestTally
from app.services import rate_limits
from tests.conftest import DEFAULT_RATES, TEST_DATABASE_URL, Account
from tests.database import create_test_database, drop_test_database

API = settings.API_V1_STR
Labels = dict[str, str]


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    response = await client.get("/api/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


def value(text: str, sample: str, **labels: str) -> float:
    """One sample's value in a scrape's text, 0 when it is not there (yet)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == sample and found.labels == labels:
                return found.value
    return 0.0


async def test_requests_are_counted_by_route_template_method_and_status(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    before = await scrape(client)
    for item_id in (1, 2, 3):
        await client.get(f"{API}/items/{item_id}")  # 401 without a token
    await client.get(f"{API}/items/", headers=normal_user.headers)
    after = await scrape(client)

    def delta(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    # One series for the three ids: the template, not the path.
    assert (
        delta("http_requests_total", route=f"{API}/items/{{id}}", method="GET", status="401") == 3
    )
    assert delta("http_requests_total", route=f"{API}/items/", method="GET", status="200") == 1
    timed = {"route": f"{API}/items/{{id}}", "method": "GET"}
    assert delta("http_request_duration_seconds_count", **timed) == 3
    assert delta("http_request_duration_seconds_sum", **timed) > 0
    assert delta("http_request_duration_seconds_bucket", **timed, le="+Inf") == 3
    assert (
        value(after, "http_requests_total", route=f"{API}/items/1", method="GET", status="401") == 0
    )


async def test_unknown_paths_and_methods_share_one_label(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for path in ("/wp-login.php", "/api/v1/no/such/thing", "/.env"):
        await client.get(path)
    await client.request("BREW", "/api/v1/items/")
    after = await scrape(client)
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert (
        value(after, "http_requests_total", **unmatched)
        - value(before, "http_requests_total", **unmatched)
        == 3
    )
    assert "/wp-login.php" not in after and "BREW" not in after
    assert value(after, "http_requests_total", route="unmatched", method="OTHER", status="405") > 0


async def test_logins_are_counted_by_outcome(
    client: httpx.AsyncClient, normal_user: Account
) -> None:
    before = await scrape(client)
    for password in (normal_user.password, "wrong-password", "wrong-again"):
        await client.post(
            f"{API}/login/access-token",
            data={"username": normal_user.email, "password": password},
        )
    after = await scrape(client)
    assert (
        value(after, "logins_total", outcome="success")
        - value(before, "logins_total", outcome="success")
        == 1
    )
    assert (
        value(after, "logins_total", outcome="invalid")
        - value(before, "logins_total", outcome="invalid")
        == 2
    )


async def test_rate_limit_rejections_are_counted_by_limit(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates = {**DEFAULT_RATES, rate_limits.Limit.SIGNUPS_PER_ADDRESS: "1/hour"}
    monkeypatch.setattr(rate_limits, "limiter", rate_limits.RateLimiter(rates))
    limit = {"limit": rate_limits.Limit.SIGNUPS_PER_ADDRESS.value}
    before = value(await scrape(client), "rate_limit_rejections_total", **limit)
    for n in range(3):
        await client.post(
            f"{API}/users/signup", json={"email": f"m{n}@example.com", "password": "x" * 12}
        )
    after = value(await scrape(client), "rate_limit_rejections_total", **limit)
    assert after - before == 2


async def test_emails_are_counted_by_backend_and_outcome(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.emails import sending

    message = EmailMessage(subject="s", html="<p>h</p>", text="h")
    before = await scrape(client)
    assert await sending.send_email("someone@example.com", message)

    def refuse(*_: object) -> None:
        raise ConnectionRefusedError("no mail server here")

    monkeypatch.setitem(sending._BACKENDS, "console", refuse)
    assert not await sending.send_email("someone@example.com", message)
    after = await scrape(client)
    for outcome in ("sent", "failed"):
        labels = {"backend": "console", "outcome": outcome}
        assert value(after, "emails_total", **labels) - value(before, "emails_total", **labels) == 1


async def test_pool_gauges_and_dependency_health_are_reported(client: httpx.AsyncClient) -> None:
    text = await scrape(client)
    # Between requests no connection is checked out and nobody waits.
    assert value(text, "db_pool_connections_in_use") == 0
    assert value(text, "db_pool_waiting_requests") == 0
    assert value(text, "backend_dependency_up", dependency="database") == 1
    assert value(text, "reflex_websocket_connections") == 0


async def test_a_metrics_token_is_required_once_set(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "METRICS_TOKEN", "scrape-secret")
    missing = await client.get("/api/metrics")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert (
        await client.get("/api/metrics", headers={"Authorization": "Basic eDp5"})
    ).status_code == 401
    wrong = await client.get("/api/metrics", headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == 403
    await scrape(client, {"Authorization": "Bearer scrape-secret"})


async def test_the_tally_writes_counts_and_buckets_as_the_histogram_would(
    client: httpx.AsyncClient,
) -> None:
    labels = {"route": "/tally-test", "method": "GET"}
    for seconds in (0.003, 0.3, 0.005, 20.0):
        REQUESTS.add(labels["route"], labels["method"], 200, seconds)
    # Not yet in the shared files: a scrape of this process writes them first.
    assert value(await scrape(client), "http_requests_total", **labels, status="200") == 4
    text = await scrape(client)
    buckets = {"0.005": 2, "0.25": 2, "0.5": 3, "10.0": 3, "+Inf": 4}
    for bound, count in buckets.items():
        assert value(text, "http_request_duration_seconds_bucket", **labels, le=bound) == count
    assert value(text, "http_request_duration_seconds_sum", **labels) == pytest.approx(20.308)
    assert value(text, "http_request_duration_seconds_count", **labels) == 4


async def test_the_tally_flushes_by_itself_within_a_second() -> None:
    labels = ("/tally-timer", "GET")
    REQUESTS.add(*labels, 200, 0.01)
    assert REQUESTS.scheduled
    await asyncio.sleep(RequestTally.FLUSH_SECONDS + 0.2)
    assert not REQUESTS.scheduled and not REQUESTS.counts
    assert HTTP_REQUESTS.labels(*labels, "200")._value.get() == 1


@pytest.mark.postgres
async def test_a_checked_out_connection_shows_in_the_pool_gauge(client: httpx.AsyncClient) -> None:
    async with engine.connect() as held:
        await held.execute(text("SELECT 1"))
        during = await scrape(client)
    after = await scrape(client)
    # The scrape's own database check has returned its connection by then.
    assert value(during, "db_pool_connections_in_use") == 1
    assert value(after, "db_pool_connections_in_use") == 0


@pytest.mark.postgres
async def test_a_lost_database_leaves_the_in_use_gauge_alone(client: httpx.AsyncClient) -> None:
    # SQLAlchemy reports a failed attempt to reopen a lost connection as a check-in of a
    # connection that was never checked out.
    url = create_test_database(TEST_DATABASE_URL)
    lost = create_async_engine(url)
    try:
        async with lost.connect() as connection:
            await connection.execute(text("SELECT 1"))
        drop_test_database(url)
        for _ in range(3):
            with pytest.raises(OperationalError):
                async with lost.connect() as connection:
                    await connection.execute(text("SELECT 1"))
    finally:
        await lost.dispose()
        drop_test_database(url)
    assert value(await scrape(client), "db_pool_connections_in_use") == 0
