"""The one ASGI layer around everything the backend serves: pages, the REST API and
Reflex's own routes.

It does at one place what three layers did, each with its own closure and `send` hop
on every request (bench/instructions.py: the work of the app's layers was about 4 % of
`GET /users/me`, docs/performance.md): the drain switch of the health
endpoints (app/core/drain.py), the nginx image's delivery of the built pages
(app/core/frontend_delivery.py) and the security headers (app/core/security_headers.py).
Outside Reflex's outermost CORS layer, which api_transformer cannot reach, so it sees
every answer as it leaves.
"""

from collections.abc import Callable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import drain, frontend_delivery, security_headers


class Edge:
    """ASGI middleware: drain, canonical page paths, caching headers, one `Vary`, and the
    security headers an answer lacks.

    `backend_path` (Reflex's `/api`) is not the frontend: the API says itself what may be
    cached. `static_dir` is a callable because the build folder is only known (and
    filled) once Reflex has compiled. `trusted_hops` is REFLEX_TRUSTED_PROXY_HOPS: HSTS
    goes out when the client reached the nearest trusted proxy over HTTPS.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        backend_path: str,
        static_dir: Callable[[], Path],
        drain_file: str,
        trusted_hops: int,
    ) -> None:
        self.app = app
        self.pages = frontend_delivery.Pages(backend_path, static_dir)
        self.drain_file = drain_file
        self.trusted_hops = trusted_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if drain.draining(path, self.drain_file):
            await drain.answer(send)
            return
        frontend = self.pages.is_frontend(path)
        if frontend:
            scope = self.pages.canonical(scope)
        secure = security_headers.is_https(scope, self.trusted_hops)

        async def edge_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = finished_headers(
                    list(message.get("headers", ())),
                    cache_control=(
                        frontend_delivery.cache_control(path, message["status"])
                        if frontend
                        else None
                    ),
                    secure=secure,
                )
            await send(message)

        await self.app(scope, receive, edge_send)


def finished_headers(
    headers: list[tuple[bytes, bytes]], *, cache_control: bytes | None, secure: bool
) -> list[tuple[bytes, bytes]]:
    """An answer's headers as they leave: one `Vary`, then what it lacks of the caching
    (a frontend file's) and security headers."""
    present = {name.lower() for name, _ in headers}
    varies = [value for name, value in headers if name.lower() == b"vary"]
    if len(varies) > 1 or (varies and b"," in varies[0]):
        headers = frontend_delivery.merged_vary(headers)
    if cache_control is not None and b"cache-control" not in present:
        headers.append((b"cache-control", cache_control))
    headers.extend(
        header for header in security_headers.for_answer(secure) if header[0] not in present
    )
    return headers
