"""A real SMTP server (aiosmtpd) and a Resend-compatible HTTP endpoint, both local."""

import email
import email.policy
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import resend
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from app.core.config import settings


@dataclass
class Delivery:
    """How one message reached the server: over TLS or not, and as which login."""

    tls_version: str | None
    login: bytes | None


@dataclass
class Mailbox:
    """What the SMTP server received: envelopes, how they came, and login attempts."""

    envelopes: list[Envelope] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    # (login, password) of every AUTH the server was offered, accepted or not.
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    password: bytes = b""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        # Read from the transport the message came in on, so implicit TLS counts
        # as well as STARTTLS (aiosmtpd sets session.ssl only for the latter).
        assert server.transport is not None
        tls = server.transport.get_extra_info("ssl_object")
        auth = session.auth_data
        login = auth.login if isinstance(auth, LoginPassword) else None
        self.deliveries.append(Delivery(tls.version() if tls else None, login))
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.password == self.password, auth_data=data)

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)
            for e in self.envelopes
        ]


class BoundController(Controller):
    """aiosmtpd's threaded server, listening on a socket the test has already bound.

    Binding first (port 0) and handing the socket over leaves no moment in which
    another process could take the port.
    """

    def __init__(self, handler: Any, listener: socket.socket, **kwargs: Any) -> None:
        host, port = listener.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self.listener = listener

    def _create_server(self) -> Awaitable[Any]:
        return self.loop.create_server(
            self._factory_invoker, sock=self.listener, ssl=self.ssl_context
        )


def loopback_listener() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


@dataclass
class Certificate:
    """A self-signed certificate for 127.0.0.1, and its key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    folder = tmp_path_factory.mktemp("tls")
    found = Certificate(folder / "cert.pem", folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(found.key),
            "-out",
            str(found.cert),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    return found


StartSmtp = Callable[..., Mailbox]


@pytest.fixture
def start_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartSmtp]:
    """Start an SMTP server (aiosmtpd keywords as given) and point the settings at it.

    The settings start as a plain, anonymous connection; tests set what they exercise.
    """
    controllers: list[Controller] = []

    def start(**server_options: Any) -> Mailbox:
        mailbox = Mailbox()
        if server_options.get("auth_required"):
            server_options.setdefault("authenticator", mailbox.authenticate)
        listener = loopback_listener()
        controller = BoundController(mailbox, listener, **server_options)
        controller.start()
        controllers.append(controller)
        for name, value in {
            "EMAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": controller.port,
            "SMTP_TLS": False,
            "SMTP_SSL": False,
            "SMTP_USER": None,
            "SMTP_PASSWORD": None,
            "EMAILS_FROM_EMAIL": "info@example.com",
            "EMAILS_FROM_NAME": "Full Stack Reflex",
        }.items():
            monkeypatch.setattr(settings, name, value)
        return mailbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp_server(start_smtp: StartSmtp) -> Mailbox:
    """A plain SMTP server on loopback (like Mailcatcher), and settings pointing at it."""
    return start_smtp()


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
    # The app sets these SDK globals when it sends; put them back for later tests.
    monkeypatch.setattr(resend, "api_url", resend.api_url)
    monkeypatch.setattr(resend, "api_key", resend.api_key)

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
