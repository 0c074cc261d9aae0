"""The security headers of every HTTP answer the backend gives: pages, API and Reflex's own.

`reflex run --env prod` serves the built pages itself on one port, so they need the
headers the nginx image sends for the exported frontend (docker/nginx/snippets/
security-headers.conf): the same set, kept the same.
"""

from starlette.types import Scope

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


# What an answer over HTTPS carries, HSTS included.
HEADERS_OVER_HTTPS = (*HEADERS, HSTS)


def is_https(scope: Scope, trusted_hops: int) -> bool:
    """Whether the client used HTTPS: as the nearest trusted proxy saw it, else the
    connection's own scheme."""
    proto = forwarded_proto(scope.get("headers", []), trusted_hops)
    return (proto or scope.get("scheme")) == "https"


def for_answer(secure: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers of an answer (app/core/edge.py adds those it lacks)."""
    return HEADERS_OVER_HTTPS if secure else HEADERS
