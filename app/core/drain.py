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

from starlette.types import Send

HEALTH_PATHS = frozenset({"/api/ping", "/api/_health"})
BODY = json.dumps({"status": "draining"}).encode()


def draining(path: str, drain_file: str) -> bool:
    """Whether `path` is a health endpoint to fail: while `drain_file` exists."""
    return (
        path.rstrip("/") in HEALTH_PATHS
        and bool(drain_file)
        # A stat of a tmpfs path: cheaper than any thread hop, never blocks for long.
        and os.path.exists(drain_file)  # noqa: ASYNC240
    )


async def answer(send: Send) -> None:
    """The health endpoints' answer while draining (app/core/edge.py sends it)."""
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
