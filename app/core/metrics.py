"""Prometheus metrics: what the backend counts, and the ASGI middleware that times requests.

Every worker process writes its values to files in PROMETHEUS_MULTIPROC_DIR and a
scrape (of any one worker) adds them up, so several granian workers read as one
backend (the directory: app/core/metrics_dir.py).
"""

import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Request latency buckets in seconds: REST calls answer in milliseconds, logins take a
# bcrypt check (~0.25 s), and anything past 10 s is a stall.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Every path no route matched, under one label: a scanner's random URLs cannot grow
# the number of series.
UNMATCHED = "unmatched"
# Methods outside this set (a client may invent any) share one label, for the same reason.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
UI_WEBSOCKETS = Gauge(
    "reflex_websocket_connections",
    "Open UI websockets (Reflex's /api/_event), all workers together.",
    multiprocess_mode="livesum",
)
DB_POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the pools, all workers together.",
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "db_pool_waiting_requests",
    "Requests waiting for a free database connection, all workers together.",
    multiprocess_mode="livesum",
)
REPLICA_READS = Counter(
    "replica_reads_total",
    "Reads under the read-replica policy (only with a replica), by the server that "
    "answered (replica, primary) and why the primary did: wrote (the caller's "
    "read-your-writes window), lag, down, failed (the replica failed mid-read).",
    ["served_by", "reason"],
)
REPLICA_LAG = Gauge(
    "replica_lag_seconds",
    "Upper bound of the read replica's replay lag at the last probe, the largest of "
    "the live workers (+Inf: behind every position noted).",
    multiprocess_mode="livemax",
)
EMAILS = Counter(
    "emails_total",
    "Emails handed to the delivery backend, by backend and outcome (sent, failed).",
    ["backend", "outcome"],
)
RATE_LIMIT_REJECTIONS = Counter(
    "rate_limit_rejections_total",
    "Requests refused with 429 by a rate limit, by limit.",
    ["limit"],
)
LOGINS = Counter(
    "logins_total",
    "Login attempts from the API and the UI, by outcome "
    "(success, invalid: wrong email or password, inactive).",
    ["outcome"],
)


def scrape(extra: Collector | None = None) -> tuple[bytes, str]:
    """The metrics of every worker of this start, in the text format."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    if extra is not None:
        registry.register(extra)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def route_template(scope: Scope, templates: dict[int, str], fixed_paths: frozenset[str]) -> str:
    """The path pattern of the route that answered (`/api/v1/items/{id}`), not the path.

    FastAPI puts the answering route in the scope as its router declared it (without
    the prefix it was included under), and nothing for routes that are not its own;
    `templates` maps the former (by id: routes compare by value) to their full
    template, and `fixed_paths` lists the latter's paths (Reflex's, the docs').
    """
    route = scope.get("route")
    if route is not None and (template := templates.get(id(route))) is not None:
        return template
    path: str = scope["path"]
    return path if path in fixed_paths else UNMATCHED


class RequestMetrics:
    """Counts and times every HTTP request, and counts open UI websockets.

    Outermost in the FastAPI app, so it sees Reflex's own routes too; the route is
    read from the scope after the inner routers have matched it.
    """

    def __init__(self, app: ASGIApp, event_path: str, route_of: Callable[[Scope], str]) -> None:
        self.app, self.event_path, self.route_of = app, event_path, route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"].startswith(self.event_path):
            UI_WEBSOCKETS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                UI_WEBSOCKETS.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = self.route_of(scope)
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_DURATION.labels(route, method).observe(time.perf_counter() - start)
