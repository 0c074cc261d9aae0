"""`/api/metrics`: the Prometheus scrape, with the health of the database and Redis.

Open on the backend's own port unless METRICS_TOKEN is set; the proxy never routes
it from the internet (docker/traefik), so an open scrape is only reachable inside.
"""

import asyncio
import secrets
from collections.abc import Awaitable, Iterator
from typing import cast

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily, Metric
from redis.asyncio import Redis
from sqlalchemy import text

from app.core.config import settings
from app.db import engine
from app.observability.metrics import scrape

# A scrape must answer within Prometheus's timeout (10 s by default) even when a
# dependency hangs: a slow answer counts as down.
CHECK_SECONDS = 2.0


async def database_answers() -> bool:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


async def redis_answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=CHECK_SECONDS)
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            # redis-py types ping() for its sync and async clients alike.
            return bool(await cast(Awaitable[bool], client.ping()))
    except Exception:
        return False
    finally:
        await client.aclose()


class DependencyHealth:
    """`backend_dependency_up`, checked at scrape time rather than stored per worker."""

    def __init__(self, health: dict[str, bool]) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "backend_dependency_up",
            "1 if the dependency answered this scrape's check within 2 s, else 0.",
            labels=["dependency"],
        )
        for name, up in self.health.items():
            gauge.add_metric([name], 1.0 if up else 0.0)
        yield gauge


def refusal(request: Request) -> Response | None:
    """401 without a bearer token, 403 with a wrong one, None when METRICS_TOKEN is unset
    or matches."""
    if not settings.METRICS_TOKEN:
        return None
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return JSONResponse(
            {"detail": "Not authenticated"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not secrets.compare_digest(token.encode(), settings.METRICS_TOKEN.encode()):
        return JSONResponse({"detail": "Forbidden"}, status_code=403)
    return None


async def metrics(request: Request) -> Response:
    if (refused := refusal(request)) is not None:
        return refused
    checks = {"database": database_answers()}
    if settings.REDIS_URL:
        checks["redis"] = redis_answers(settings.REDIS_URL)
    results = await asyncio.gather(*checks.values())
    body, content_type = scrape(DependencyHealth(dict(zip(checks, results, strict=True))))
    return Response(body, media_type=content_type)
