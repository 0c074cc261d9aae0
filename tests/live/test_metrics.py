"""/api/metrics of the real backend with two granian workers: whichever worker a scrape
reaches, it reports what both served, and the UI websockets that are open."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.config import settings
from app.observability.metrics import RequestTally
from tests.live.conftest import LiveBackend, run_backend
from tests.live.reflex_tab import Tab

HEALTH = f"{settings.API_V1_STR}/utils/health-check/"
REQUESTS = 40


@pytest.fixture(scope="module")
def two_workers(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveBackend]:
    work = tmp_path_factory.mktemp("metrics")
    yield from run_backend(
        database,
        work / "backend.log",
        GRANIAN_WORKERS="2",
        REFLEX_STATES_WORKDIR=str(work / "states"),
        # An operator's folder, left over from an earlier start: emptied at startup.
        PROMETHEUS_MULTIPROC_DIR=str(work / "prometheus"),
    )


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return 0.0


async def test_every_scrape_adds_up_both_workers(two_workers: LiveBackend) -> None:
    labels = {"route": HEALTH, "method": "GET"}
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as client:
        # New connections each, so both workers serve some of them.
        await asyncio.gather(
            *(client.get(HEALTH, headers={"Connection": "close"}) for _ in range(REQUESTS))
        )
        # Each worker writes its counts to the shared files once a second: a scrape the
        # other worker answers sees them after that.
        await asyncio.sleep(RequestTally.FLUSH_SECONDS + 0.5)
        scrapes = [
            (await client.get("/api/metrics", headers={"Connection": "close"})).text
            for _ in range(6)
        ]
    for text in scrapes:
        assert sample(text, "http_requests_total", **labels, status="200") == REQUESTS
        assert sample(text, "http_request_duration_seconds_count", **labels) == REQUESTS
        assert sample(text, "http_request_duration_seconds_bucket", **labels, le="+Inf") == REQUESTS
        assert sample(text, "backend_dependency_up", dependency="database") == 1
    started = [line for line in two_workers.log.read_text().splitlines() if "API started" in line]
    assert len(started) == 2, "both workers should have started"


async def test_open_ui_websockets_are_counted(two_workers: LiveBackend) -> None:
    tabs = [Tab(two_workers.url) for _ in range(3)]
    async with httpx.AsyncClient(base_url=two_workers.url, timeout=30) as client:
        for tab in tabs:
            await tab.open("/")
        opened = (await client.get("/api/metrics")).text
        for tab in tabs:
            await tab.close()
        closed = (await client.get("/api/metrics")).text
    assert sample(opened, "reflex_websocket_connections") == 3
    assert sample(closed, "reflex_websocket_connections") == 0
