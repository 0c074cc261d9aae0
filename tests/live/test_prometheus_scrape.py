"""A real scrape: Debian's Prometheus, started here with a generated config, scrapes two
running backends as the compose profile's Prometheus does; its HTTP API then reports
each backend's request counters and latency histograms with the right values."""

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.core.config import settings
from devtools.servers import serve_on_free_port, start_logged, stop_process_group
from tests.live.conftest import LiveBackend, run_own_backend
from tests.skip_policy import unavailable

pytestmark = pytest.mark.live

HEALTH = f"{settings.API_V1_STR}/utils/health-check/"
# Different per backend, so a value cannot be right by summing or swapping them.
REQUESTS = (7, 12)
SCRAPE_SECONDS = 1


def two_backends(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveBackend, LiveBackend]]:
    first = run_own_backend(database, tmp_path_factory, "scraped-first")
    second = run_own_backend(database, tmp_path_factory, "scraped-second")
    try:
        yield next(first), next(second)
    finally:
        first.close()
        second.close()


@pytest.fixture(scope="module")
def backends(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveBackend, LiveBackend]]:
    yield from two_backends(database, tmp_path_factory)


def prometheus_config(targets: list[str]) -> dict[str, Any]:
    """The compose profile's scrape job (docker/monitoring/prometheus/prometheus.yml),
    with these targets instead of the replicas' DNS name."""
    shipped = yaml.safe_load(
        (Path(__file__).parents[2] / "docker/monitoring/prometheus/prometheus.yml").read_text()
    )
    [job] = [job for job in shipped["scrape_configs"] if job["job_name"] == "backend"]
    job = {key: value for key, value in job.items() if not key.endswith("_sd_configs")}
    job["static_configs"] = [{"targets": targets}]
    return {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": "1s"},
        "scrape_configs": [job],
    }


@pytest.fixture(scope="module")
def prometheus(
    backends: tuple[LiveBackend, LiveBackend], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        unavailable("prometheus is missing (apt-get install prometheus)")
    work = tmp_path_factory.mktemp("prometheus")
    targets = [backend.url.removeprefix("http://") for backend in backends]
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(targets)))

    def start(port: int) -> subprocess.Popen[bytes]:
        command = [
            binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ]  # fmt: skip
        return start_logged(command, {"PATH": "/usr/bin:/bin"}, work / "prometheus.log")

    process, port = serve_on_free_port(
        start, lambda port: f"http://127.0.0.1:{port}/-/ready", work / "prometheus.log", 60
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(process)


async def query(client: httpx.AsyncClient, promql: str) -> dict[str, float]:
    """`promql`'s instant vector, by instance."""
    response = await client.get("/api/v1/query", params={"query": promql})
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return {
        result["metric"]["instance"]: float(result["value"][1]) for result in body["data"]["result"]
    }


async def settled(client: httpx.AsyncClient, promql: str, expected: dict[str, float]) -> None:
    """Wait (a few scrapes) until `promql` gives `expected`; fail with what it gave."""
    found: dict[str, float] = {}
    for _ in range(60):
        found = await query(client, promql)
        if found == expected:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{promql}: {found}, expected {expected}")


async def test_prometheus_scrapes_both_backends_counters_and_histograms(
    backends: tuple[LiveBackend, LiveBackend], prometheus: str
) -> None:
    instances = [backend.url.removeprefix("http://") for backend in backends]
    for backend, count in zip(backends, REQUESTS, strict=True):
        async with httpx.AsyncClient(base_url=backend.url, timeout=30) as client:
            for _ in range(count):
                assert (await client.get(HEALTH)).status_code == 200
            assert (await client.get(f"{settings.API_V1_STR}/items/1")).status_code == 401

    by_instance = dict(zip(instances, map(float, REQUESTS), strict=True))
    route = f'route="{HEALTH}",method="GET"'
    async with httpx.AsyncClient(base_url=prometheus, timeout=30) as client:
        await settled(client, 'up{job="backend"}', dict.fromkeys(instances, 1.0))
        await settled(client, f'http_requests_total{{{route},status="200"}}', by_instance)
        await settled(
            client,
            f'http_requests_total{{route="{settings.API_V1_STR}/items/{{id}}",status="401"}}',
            dict.fromkeys(instances, 1.0),
        )
        await settled(client, f"http_request_duration_seconds_count{{{route}}}", by_instance)
        await settled(
            client, f'http_request_duration_seconds_bucket{{{route},le="+Inf"}}', by_instance
        )
        sums = await query(client, f"http_request_duration_seconds_sum{{{route}}}")
        assert set(sums) == set(instances)
        assert all(0 < total < 10 for total in sums.values())
        # The dashboard's latency panel: a p95 from the buckets, per instance.
        p95 = await query(
            client,
            "histogram_quantile(0.95, sum by (instance, le) "
            f"(http_request_duration_seconds_bucket{{{route}}}))",
        )
        assert set(p95) == set(instances)
        assert all(0 < value <= 10 for value in p95.values())
