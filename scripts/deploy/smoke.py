"""Smoke tests of a running deployment, through its public origin (standard library only).

    python scripts/deploy/smoke.py https://app.example.com
    python scripts/deploy/smoke.py --base-url http://127.0.0.1:8080 --timeout 10 --retries 3

Checks, in order, each reported on one line:
  health      GET /api/v1/utils/health-check/ answers true, and /api/_health (Reflex's own
              check of the database and Redis) answers 200
  frontend    GET /login is the exported UI page (HTML with the Reflex bundle)
  login       POST /api/v1/login/access-token with the smoke user, then GET /api/v1/users/me
              is that user (SMOKE_USER_EMAIL and SMOKE_USER_PASSWORD from the environment)
  websocket   GET /api/_event/?EIO=4&transport=websocket upgrades (101) and the first frame
              is socket.io's engine.io OPEN packet

Exit code 0 when every check passed, 1 otherwise (2 for bad arguments). `--skip-login`
leaves out the login check where no smoke user exists yet (it is then reported as skipped).
"""

import argparse
import base64
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass


class SmokeFailure(Exception):
    """A check found the deployment not as it should be."""


@dataclass
class Result:
    name: str
    ok: bool | None  # None: skipped
    detail: str
    seconds: float


def request(
    base: str,
    path: str,
    timeout: float,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; any status is returned, not raised."""
    req = urllib.request.Request(base + path, data=data, headers=headers or {})
    req.add_header("User-Agent", "full-stack-reflex-smoke/1")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()
    except (urllib.error.URLError, OSError) as error:
        raise SmokeFailure(f"{path}: {getattr(error, 'reason', error)}") from error


def check_health(base: str, timeout: float) -> str:
    status, _, body = request(base, "/api/v1/utils/health-check/", timeout)
    if status != 200 or body.strip() != b"true":
        raise SmokeFailure(f"/api/v1/utils/health-check/ answered {status}: {body[:200]!r}")
    status, _, body = request(base, "/api/_health", timeout)
    if status != 200:
        raise SmokeFailure(f"/api/_health answered {status}: {body[:200]!r}")
    return f"health-check true; /api/_health {body.decode(errors='replace').strip()}"


def check_frontend(base: str, timeout: float) -> str:
    status, headers, body = request(base, "/login", timeout)
    content_type = headers.get("Content-Type", "")
    if status != 200 or "text/html" not in content_type:
        raise SmokeFailure(f"/login answered {status} ({content_type or 'no content type'})")
    page = body.decode(errors="replace")
    if "<html" not in page.lower() or "/assets/" not in page:
        raise SmokeFailure("/login is not the exported UI (no HTML page with /assets/ bundles)")
    return f"/login 200, {len(body)} bytes of HTML"


def check_login(base: str, timeout: float, email: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": email, "password": password}).encode()
    status, _, body = request(
        base,
        "/api/v1/login/access-token",
        timeout,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 200:
        raise SmokeFailure(f"login as {email} answered {status}: {body[:200]!r}")
    token = json.loads(body)["access_token"]
    status, _, body = request(
        base, "/api/v1/users/me", timeout, headers={"Authorization": f"Bearer {token}"}
    )
    if status != 200 or json.loads(body).get("email") != email:
        raise SmokeFailure(f"/api/v1/users/me with the new token answered {status}")
    return f"logged in as {email}, /api/v1/users/me ok"


class FrameReader:
    """Server-to-client (unmasked) websocket frames, after the bytes already received."""

    def __init__(self, stream: socket.socket, pending: bytes) -> None:
        self.stream = stream
        self.pending = pending

    def exactly(self, count: int) -> bytes:
        while len(self.pending) < count:
            chunk = self.stream.recv(4096)
            if not chunk:
                raise SmokeFailure("the websocket closed before a whole frame arrived")
            self.pending += chunk
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def frame(self) -> tuple[int, bytes]:
        first, second = self.exactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(self.exactly(2), "big")
        elif length == 127:
            length = int.from_bytes(self.exactly(8), "big")
        return first & 0x0F, self.exactly(length)


def check_websocket(base: str, timeout: float) -> str:
    """socket.io's websocket-only handshake, as the Reflex frontend opens it."""
    parts = urllib.parse.urlsplit(base)
    secure = parts.scheme == "https"
    host = parts.hostname or "localhost"
    port = parts.port or (443 if secure else 80)
    path = (parts.path.rstrip("/") or "") + "/api/_event/?EIO=4&transport=websocket"
    raw = socket.create_connection((host, port), timeout=timeout)
    stream: socket.socket = (
        ssl.create_default_context().wrap_socket(raw, server_hostname=host) if secure else raw
    )
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        origin = f"{parts.scheme}://{parts.netloc}"
        stream.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n"
                "User-Agent: full-stack-reflex-smoke/1\r\n\r\n"
            ).encode()
        )
        stream.settimeout(timeout)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = stream.recv(4096)
            if not chunk:
                raise SmokeFailure("the server closed the connection during the upgrade")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in f"{status_line} ":
            raise SmokeFailure(f"no websocket upgrade: {status_line}")
        opcode, payload = FrameReader(stream, rest).frame()
        text = payload.decode(errors="replace")
        if opcode != 1 or not text.startswith("0") or '"sid"' not in text:
            raise SmokeFailure(f"the first frame is not engine.io's OPEN packet: {text[:120]!r}")
        session = json.loads(text[1:])
        return (
            f"101 Switching Protocols, engine.io open (ping every {session.get('pingInterval')} ms)"
        )
    finally:
        stream.close()


def run_check(name: str, check: Callable[[], str], retries: int, delay: float) -> Result:
    start = time.monotonic()
    for attempt in range(1, retries + 1):
        try:
            detail = check()
            return Result(name, True, detail, time.monotonic() - start)
        except (SmokeFailure, OSError, ValueError, KeyError, http.client.HTTPException) as error:
            if attempt == retries:
                return Result(name, False, str(error) or type(error).__name__,
                              time.monotonic() - start)  # fmt: skip
            time.sleep(delay)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="public origin, e.g. https://app.example.com")
    parser.add_argument("--base-url", help="same as the positional URL")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=3, help="attempts per check")
    parser.add_argument("--delay", type=float, default=3.0, help="seconds between attempts")
    parser.add_argument("--skip-login", action="store_true", help="no smoke user: skip login")
    args = parser.parse_args(argv)
    base = (args.base_url or args.url or os.environ.get("SMOKE_BASE_URL", "")).rstrip("/")
    if not base.startswith(("http://", "https://")):
        parser.error("give the deployment's origin, e.g. https://app.example.com")
    email = os.environ.get("SMOKE_USER_EMAIL", "")
    password = os.environ.get("SMOKE_USER_PASSWORD", "")

    checks: list[tuple[str, Callable[[], str] | None, str]] = [
        ("health", lambda: check_health(base, args.timeout), ""),
        ("frontend", lambda: check_frontend(base, args.timeout), ""),
    ]
    if args.skip_login:
        checks.append(("login", None, "skipped (--skip-login)"))
    elif not email or not password:
        checks.append(("login", None, "SMOKE_USER_EMAIL and SMOKE_USER_PASSWORD are not set"))
    else:
        checks.append(("login", lambda: check_login(base, args.timeout, email, password), ""))
    checks.append(("websocket", lambda: check_websocket(base, args.timeout), ""))

    print(f"smoke tests of {base}")
    results: list[Result] = []
    for name, check, reason in checks:
        if check is None:
            # Without credentials the login check fails, unless it was skipped on purpose.
            result = Result(name, None if args.skip_login else False, reason, 0.0)
        else:
            result = run_check(name, check, max(args.retries, 1), args.delay)
        results.append(result)
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[result.ok]
        print(f"  {mark}  {result.name:<10} {result.seconds:5.2f}s  {result.detail}")
    failed = [result.name for result in results if result.ok is False]
    passed = sum(result.ok is True for result in results)
    print(f"{passed} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
