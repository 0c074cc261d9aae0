"""One log line per HTTP request, and the request id every line of it carries.

The id comes from the proxy's `X-Request-ID` when the proxy is trusted
(REFLEX_TRUSTED_PROXY_HOPS > 0; a client could send any header otherwise), else it is
made here; either way it is echoed in the response, so a user's report can be found.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import RequestInfo, current_request

logger = logging.getLogger("app.access")

# The route template that answered a request (app/core/metrics.py).
RouteOf = Callable[[Scope], str]

HEADER = b"x-request-id"
# What a proxy's id looks like (Traefik: a UUID); anything else is replaced, so a log
# line never carries a client's arbitrary text.
VALID_ID = re.compile(rb"[\w.:-]{1,128}")


def request_id(scope: Scope, trust_header: bool) -> str:
    if trust_header:
        for name, value in scope["headers"]:
            if name == HEADER and VALID_ID.fullmatch(value):
                return bytes(value).decode()
    return uuid.uuid4().hex


class RequestLog:
    """Logs each request (method, route template, status, duration, user) once it ends.

    Probes (health checks, scrapes) are logged at DEBUG: every few seconds, they would
    drown the lines that matter.
    """

    def __init__(
        self,
        app: ASGIApp,
        trust_header: bool,
        route_of: RouteOf,
        quiet_paths: frozenset[str],
    ) -> None:
        self.app, self.trust_header = app, trust_header
        self.route_of, self.quiet_paths = route_of, quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(request_id(scope, self.trust_header))
        token = current_request.set(info)
        start = time.perf_counter()
        status = 500
        echoed = (HEADER, info.request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            level = logging.DEBUG if scope["path"] in self.quiet_paths else logging.INFO
            if logger.isEnabledFor(level):
                route = self.route_of(scope)
                duration_ms = round((time.perf_counter() - start) * 1000, 1)
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
            current_request.reset(token)
