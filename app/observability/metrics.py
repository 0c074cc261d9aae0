"""Prometheus metrics: what the backend counts (HTTP requests are counted in
app/observability/request_log.py).

Every worker process writes its values to files in PROMETHEUS_MULTIPROC_DIR and a
scrape (of any one worker) adds them up, so several granian workers read as one
backend (the directory: app/observability/metrics_dir.py).
"""

import asyncio
from bisect import bisect_left

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
from starlette.types import Scope

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
UI_EVENTS = Histogram(
    "reflex_event_duration_seconds",
    "Time a UI event handler ran, by handler (State.method) and outcome: ok, refused "
    "(a rule or a form said no), signed_out (the session ended), unavailable (the "
    "database did not answer), error (a bug).",
    ["handler", "outcome"],
    buckets=LATENCY_BUCKETS,
)
REPLICA_READS = Counter(
    "replica_reads_total",
    "Reads under the read-replica policy (only with a replica), by the server that "
    "answered (replica, primary) and why the primary did: wrote (the caller's "
    "read-your-writes window), lag, down, failed (the replica failed mid-read).",
    ["served_by", "reason"],
)
LIVE_REFRESH_READS = Counter(
    "live_refresh_reads_total",
    "Reads of the UI's live refreshes, by what was read (caller: who a tab's token "
    "speaks for; page: a table's page) and answer: read (looked up) or shared (taken "
    "from another tab's refresh, read since the last change to it).",
    ["read", "answer"],
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
    "(success, invalid: wrong email or password or two-factor code, inactive).",
    ["outcome"],
)


class RequestTally:
    """HTTP requests counted in this process's memory, written to the shared metric files
    about once a second (and before each scrape this process answers); the pool gauges
    too (LocalGauge).

    A counter or histogram write in multiprocess mode takes a lock and writes a memory-
    mapped file, ~5 µs each and three per request; here a request costs two dictionary
    updates, and the files get one write per series a second. A scrape that another
    worker answers sees this worker's requests at most FLUSH_SECONDS late.
    """

    FLUSH_SECONDS = 1.0

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str, int], int] = {}
        # Per series: one count per bucket (the last one is +Inf), then the sum.
        self.times: dict[tuple[str, str], list[float]] = {}
        self.scheduled = False
        self.gauges: list[LocalGauge] = []

    def schedule(self) -> None:
        """Write within FLUSH_SECONDS; at once where no event loop runs (a script)."""
        if self.scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self.scheduled = True
        loop.call_later(self.FLUSH_SECONDS, self.flush)

    def add(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        slot = self.times.get((route, method))
        if slot is None:
            slot = self.times[route, method] = [0.0] * (len(LATENCY_BUCKETS) + 2)
        # The first bucket whose bound is >= the duration; past them all, +Inf.
        slot[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        slot[-1] += seconds
        self.schedule()

    def flush(self) -> None:
        counts, times = self.counts, self.times
        self.counts, self.times, self.scheduled = {}, {}, False
        for (route, method, status), count in counts.items():
            HTTP_REQUESTS.labels(route, method, str(status)).inc(count)
        for (route, method), slot in times.items():
            child = HTTP_DURATION.labels(route, method)
            # What Histogram.observe does for one value, for many at once (multiprocess
            # histograms keep each bucket's own count; the scrape accumulates them).
            for bucket, observed in zip(child._buckets, slot, strict=False):
                if observed:
                    bucket.inc(observed)
            child._sum.inc(slot[-1])
        for gauge in self.gauges:
            gauge.write()


REQUESTS = RequestTally()


class LocalGauge:
    """A gauge changed in this process's memory on every call and written to the shared
    files with the request tally: the pool changes it twice a request."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge, self.value, self.written = gauge, 0, 0
        REQUESTS.gauges.append(self)

    def inc(self) -> None:
        self.value += 1
        REQUESTS.schedule()

    def dec(self) -> None:
        self.value -= 1
        REQUESTS.schedule()

    def write(self) -> None:
        if self.value != self.written:
            self.gauge.set(self.value)
            self.written = self.value


DB_POOL_IN_USE = LocalGauge(
    Gauge(
        "db_pool_connections_in_use",
        "Database connections checked out of the pools, all workers together.",
        multiprocess_mode="livesum",
    )
)
DB_POOL_WAITING = LocalGauge(
    Gauge(
        "db_pool_waiting_requests",
        "Requests waiting for a free database connection, all workers together.",
        multiprocess_mode="livesum",
    )
)


def scrape(extra: Collector | None = None) -> tuple[bytes, str]:
    """The metrics of every worker of this start, in the text format."""
    REQUESTS.flush()
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
