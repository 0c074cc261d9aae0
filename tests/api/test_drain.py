"""The drain switch (app/core/drain.py, applied by app/core/edge.py): health endpoints
fail, everything else is served."""

from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.core.edge import Edge


def inner_app() -> Starlette:
    async def ok(_: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    paths = ("/api/ping", "/api/_health", "/api/_health/", "/api/v1/items/")
    return Starlette(routes=[Route(path, ok) for path in paths])


async def statuses(drain_file: Path) -> dict[str, int]:
    app = Edge(
        inner_app(),
        backend_path="/api",
        static_dir=lambda: drain_file.parent,
        drain_file=str(drain_file),
        trusted_hops=0,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return {
            path: (await client.get(path)).status_code
            for path in ("/api/ping", "/api/_health", "/api/_health/", "/api/v1/items/")
        }


async def test_health_endpoints_fail_only_while_the_drain_file_exists(tmp_path: Path) -> None:
    drain_file = tmp_path / "draining"
    assert set((await statuses(drain_file)).values()) == {200}
    drain_file.touch()
    assert await statuses(drain_file) == {
        "/api/ping": 503,
        "/api/_health": 503,
        "/api/_health/": 503,
        "/api/v1/items/": 200,
    }
    drain_file.unlink()
    assert set((await statuses(drain_file)).values()) == {200}
