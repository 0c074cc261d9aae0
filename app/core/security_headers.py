"""The security headers of every HTTP answer the backend gives: pages, API and Reflex's own.

`reflex run --env prod` serves the built pages itself on one port, so they need the
headers the nginx image sends for the exported frontend (docker/nginx/snippets/
security-headers.conf): the same set, kept the same.
"""

from reflex.config import get_config
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# As nginx sends them. No script-src: Reflex pages carry inline hydration scripts and
# its runtime evaluates scripts (rx.call_script).
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"content-security-policy", b"frame-ancestors 'none'; object-src 'none'; base-uri 'self'"),
)
# As Traefik sends it in compose.prod.yml; only over HTTPS, where it means something.
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


def forwarded_proto(headers: list[tuple[bytes, bytes]], trusted_hops: int) -> str | None:
    """The scheme the client used, as the nearest trusted proxy saw it; None without one."""
    if trusted_hops < 1:
        return None
    values = [
        part.strip().lower()
        for name, value in headers
        if name.lower() == b"x-forwarded-proto"
        for part in value.decode("latin-1").split(",")
        if part.strip()
    ]
    return values[-trusted_hops] if len(values) >= trusted_hops else None


class SecurityHeaders:
    """ASGI middleware adding HEADERS (and HSTS over HTTPS) where a response lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(HEADERS)
        proto = forwarded_proto(scope.get("headers", []), get_config().trusted_proxy_hops)
        if (proto or scope.get("scheme")) == "https":
            extra.append(HSTS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(header for header in extra if header[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
