"""What every HTTP request leaves behind: its id, one log line, its metrics.

One pure-ASGI layer does all three (one wrapped `send`, one clock read at each end):
two layers cost twice the per-request bookkeeping, measured in bench/overhead.py.

The id comes from the proxy's `X-Request-ID` when the proxy is trusted
(REFLEX_TRUSTED_PROXY_HOPS > 0; a client could send any header otherwise), else it is
made here; either way it is echoed in the response, so a user's report can be found.
"""

import itertools
import logging
import os
import re
from collections.abc import Callable
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.error_reports import report_error
from app.observability.logging import RequestInfo, current_request
from app.observability.metrics import METHODS, REQUESTS, UI_WEBSOCKETS

logger = logging.getLogger("app.access")

# The route template that answered a request (app/observability/metrics.py).
RouteOf = Callable[[Scope], str]

HEADER = b"x-request-id"
# What a proxy's id looks like (Traefik: a UUID); anything else is replaced, so a log
# line never carries a client's arbitrary text.
VALID_ID = re.compile(rb"[\w.:-]{1,128}")
# What a client gets when a bug stopped its request: the contract's error shape.
INTERNAL_ERROR = b'{"detail":"Internal Server Error"}'
INTERNAL_ERROR_HEADERS = (
    (b"content-type", b"application/json"),
    (b"content-length", str(len(INTERNAL_ERROR)).encode()),
)


class _Ids:
    """Ids made here: a random prefix per process and a counter, unique across processes
    and replicas like a UUID, without a system call for randomness on every request."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.prefix, self.numbers = os.urandom(8).hex(), itertools.count(1)


_IDS = _Ids()
# A worker forked after this import must not repeat its parent's ids.
os.register_at_fork(after_in_child=_IDS.renew)


def new_request_id() -> str:
    return f"{_IDS.prefix}{next(_IDS.numbers):016x}"


def request_id(scope: Scope, trust_header: bool) -> str:
    if trust_header:
        for name, value in scope["headers"]:
            if name == HEADER and VALID_ID.fullmatch(value):
                return bytes(value).decode()
    return new_request_id()


class RequestLog:
    """Gives each request an id, logs it once it ends (method, route template, status,
    duration, user) and counts and times it; counts open UI websockets.

    Outermost in the FastAPI app, so it sees Reflex's own routes too and times the
    whole request (body limit and errors included); the route is read from the scope
    after the inner routers have matched it. Probes (health checks, scrapes) are logged
    at DEBUG: every few seconds, they would drown the lines that matter.
    """

    def __init__(
        self,
        app: ASGIApp,
        trust_header: bool,
        route_of: RouteOf,
        quiet_paths: frozenset[str],
        event_path: str,
    ) -> None:
        self.app, self.trust_header = app, trust_header
        self.route_of, self.quiet_paths, self.event_path = route_of, quiet_paths, event_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and scope["path"].startswith(self.event_path):
                UI_WEBSOCKETS.inc()
                try:
                    await self.app(scope, receive, send)
                finally:
                    UI_WEBSOCKETS.dec()
                return
            await self.app(scope, receive, send)
            return
        info = RequestInfo(request_id(scope, self.trust_header))
        token = current_request.set(info)
        start = perf_counter()
        status = 500
        echoed = (HEADER, info.request_id.encode())

        status_sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_sent
            if message["type"] == "http.response.start":
                status, status_sent = message["status"], True
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # Answered here rather than by Starlette further out, so the 500 carries the
            # request id, and the traceback and the report carry its id and user.
            report_error(error, info)
            logger.error(
                "Unhandled error in %s %s", scope["method"], self.route_of(scope), exc_info=True
            )
            if status_sent:
                raise
            status = 500
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [*INTERNAL_ERROR_HEADERS, echoed],
                }
            )
            await send({"type": "http.response.body", "body": INTERNAL_ERROR})
        finally:
            duration = perf_counter() - start
            self._record(scope, status, duration)
            current_request.reset(token)

    def _record(self, scope: Scope, status: int, duration: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = self.route_of(scope)
        REQUESTS.add(route, method, status, duration)
        level = logging.DEBUG if scope["path"] in self.quiet_paths else logging.INFO
        if logger.isEnabledFor(level):
            duration_ms = round(duration * 1000, 1)
            logger.log(
                level,
                "%s %s %s %.1f ms",
                scope["method"],
                route,
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
