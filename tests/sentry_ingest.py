"""A local stand-in for Sentry's ingest: the real SDK posts its envelopes here (a DSN
like http://key@127.0.0.1:PORT/1) and tests read the events out of them."""

import asyncio
import gzip
import json
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROJECT = "1"


@dataclass
class Ingest:
    dsn: str
    # Each envelope as the SDK sent it (decompressed), for searching the raw text.
    envelopes: list[bytes] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        """The error events (not transactions, sessions or client reports) received."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.split(b"\n")
            # Header line, then pairs of item header and item payload.
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if header and json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found

    async def wait_for_events(self, count: int = 1, seconds: float = 20) -> list[dict[str, Any]]:
        # Asleep on the event loop, not the thread: the test's own tabs and database
        # sessions keep running meanwhile.
        deadline = time.monotonic() + seconds
        while len(events := self.events()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(events)} Sentry events, expected {count}")
            await asyncio.sleep(0.05)
        return events

    def raw(self) -> str:
        return b"\n".join(self.envelopes).decode(errors="replace")


def decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    assert not encoding, f"unexpected Content-Encoding {encoding}"
    return body


def serve_ingest() -> Iterator[Ingest]:
    """An ingest endpoint on a free loopback port for as long as the generator runs."""
    ingest = Ingest(dsn="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.rstrip("/") == f"/api/{PROJECT}/envelope":
                ingest.envelopes.append(decoded(body, self.headers.get("Content-Encoding")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ingest.dsn = f"http://publickey@127.0.0.1:{server.server_address[1]}/{PROJECT}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ingest
    finally:
        server.shutdown()
        server.server_close()
