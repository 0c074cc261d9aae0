"""A real SMTP server (aiosmtpd) and a Resend-compatible HTTP endpoint, both local."""

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.core.config import settings
from devtools.servers import free_port


@dataclass
class Mailbox:
    """What the SMTP server received: envelopes and parsed messages."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A plain SMTP server on loopback (like Mailcatcher), and settings pointing at it."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_TLS": False,
        "SMTP_SSL": False,
        "SMTP_USER": None,
        "EMAILS_FROM_EMAIL": "info@example.com",
        "EMAILS_FROM_NAME": "Full Stack Reflex",
    }.items():
        monkeypatch.setattr(settings, name, value)
    yield mailbox
    controller.stop()


@dataclass
class ResendEndpoint:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def resend_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResendEndpoint]:
    """A local stand-in for Resend's cloud, recording what the real SDK sends."""
    endpoint = ResendEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            endpoint.requests.append(json.loads(body))
            endpoint.headers.append(dict(self.headers))
            if endpoint.status >= 400:
                reply = {"statusCode": endpoint.status, "name": "error", "message": "rejected"}
            else:
                reply = {"id": f"re_{len(endpoint.requests)}"}
            payload = json.dumps(reply).encode()
            self.send_response(endpoint.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name, value in {
        "EMAIL_BACKEND": "resend",
        "RESEND_API_KEY": "re_test_key",
        "RESEND_API_URL": endpoint.url,
        "EMAILS_FROM_EMAIL": "info@example.com",
        "EMAILS_FROM_NAME": "Full Stack Reflex",
    }.items():
        monkeypatch.setattr(settings, name, value)
    yield endpoint
    server.shutdown()
    server.server_close()
