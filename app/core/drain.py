"""Draining a backend replica before it is stopped (scripts/deploy/deploy.sh, rolling deploys).

While the file `settings.DRAIN_FILE` exists, the replica's health endpoints (`/api/ping`,
`/api/_health`) answer 503 and everything else is served as usual: the proxy (Traefik's
health check, or the deploy's own routing) stops sending new requests, the requests and
websockets already here finish, and only then is the replica sent SIGTERM. A file, not a
signal or an in-process flag, because every granian worker of the replica must see it and
`docker exec NAME touch FILE` reaches them all without knowing their process ids.
"""

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEALTH_PATHS = frozenset({"/api/ping", "/api/_health"})
BODY = json.dumps({"status": "draining"}).encode()


def drain_middleware(drain_file: str) -> Callable[[ASGIApp], ASGIApp]:
    """An api_transformer that fails the health endpoints while `drain_file` exists."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def drained(scope: Scope, receive: Receive, send: Send) -> None:
            if (
                scope["type"] == "http"
                and scope["path"].rstrip("/") in HEALTH_PATHS
                and drain_file
                # A stat of a tmpfs path: cheaper than any thread hop, never blocks for long.
                and os.path.exists(drain_file)  # noqa: ASYNC240
            ):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(BODY)).encode()),
                            (b"cache-control", b"no-store"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": BODY})
                return
            await app(scope, receive, send)

        return drained

    return wrap
