"""SMTP as deployments use it: encrypted (STARTTLS or implicit TLS) and authenticated.

The server is aiosmtpd with a self-signed certificate for 127.0.0.1. The app trusts it
the way an operator would trust a private CA: SSL_CERT_FILE, which the default SSL
context (app/emails/sending.py) reads; certificate verification stays on.
"""

import logging

import httpx
import pytest

from app.core.config import settings
from app.emails import build_test_email, send_email
from app.emails.sending import wait_for_pending_emails
from tests.conftest import Account
from tests.emails.conftest import Certificate, Mailbox, StartSmtp

API = settings.API_V1_STR
RECOVERY_REPLY = "If that email is registered, we sent a password recovery link"
USER, PASSWORD = "mailer@example.com", "smtp-secret"


@pytest.fixture
def trusted(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """The test certificate as the only CA this process trusts."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    return certificate


def login_as(monkeypatch: pytest.MonkeyPatch, password: str = PASSWORD) -> None:
    monkeypatch.setattr(settings, "SMTP_USER", USER)
    monkeypatch.setattr(settings, "SMTP_PASSWORD", password)


@pytest.fixture
def starttls_server(
    start_smtp: StartSmtp, trusted: Certificate, monkeypatch: pytest.MonkeyPatch
) -> Mailbox:
    """Port 587 behaviour: STARTTLS before anything else, then AUTH, then mail."""
    mailbox = start_smtp(
        tls_context=trusted.server_context(),
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
    )
    mailbox.password = PASSWORD.encode()
    monkeypatch.setattr(settings, "SMTP_TLS", True)
    login_as(monkeypatch)
    return mailbox


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "app.emails.sending" and r.levelno >= logging.ERROR
    ]


async def test_starttls_then_login_then_delivery(starttls_server: Mailbox) -> None:
    assert await send_email("to@example.com", build_test_email("to@example.com"))
    [delivery] = starttls_server.deliveries
    assert delivery.tls_version is not None and delivery.tls_version.startswith("TLSv1.")
    assert delivery.login == USER.encode()
    assert starttls_server.logins == [(USER.encode(), PASSWORD.encode())]
    assert starttls_server.envelopes[0].rcpt_tos == ["to@example.com"]
    [message] = starttls_server.messages
    assert message["Subject"] == f"{settings.PROJECT_NAME} - Test email"


async def test_recovery_mail_goes_out_over_starttls(
    client: httpx.AsyncClient, normal_user: Account, starttls_server: Mailbox
) -> None:
    response = await client.post(f"{API}/password-recovery/{normal_user.email}")
    assert response.json() == {"message": RECOVERY_REPLY}
    await wait_for_pending_emails()
    [delivery] = starttls_server.deliveries
    assert delivery.tls_version and delivery.login == USER.encode()
    assert starttls_server.envelopes[0].rcpt_tos == [normal_user.email]


async def test_wrong_password_is_logged_and_the_reply_unchanged(
    client: httpx.AsyncClient,
    normal_user: Account,
    starttls_server: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    login_as(monkeypatch, "not-the-password")
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        response = await client.post(f"{API}/password-recovery/{normal_user.email}")
        await wait_for_pending_emails()
    assert (response.status_code, response.json()) == (200, {"message": RECOVERY_REPLY})
    assert starttls_server.logins == [(USER.encode(), b"not-the-password")]
    assert starttls_server.envelopes == []
    [failure] = failures(caplog)
    assert "failed" in failure and normal_user.email in failure


@pytest.mark.usefixtures("trusted")
async def test_a_server_without_starttls_gets_nothing_in_clear(
    start_smtp: StartSmtp, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A plain server that would accept anything: with SMTP_TLS the app must refuse it.
    mailbox = start_smtp()
    monkeypatch.setattr(settings, "SMTP_TLS", True)
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        assert not await send_email("to@example.com", build_test_email("to@example.com"))
    assert mailbox.envelopes == []
    [failure] = failures(caplog)
    assert "to@example.com via smtp failed" in failure


async def test_an_untrusted_certificate_is_refused_before_the_password_is_sent(
    start_smtp: StartSmtp,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The same server as starttls_server, but the app was not told to trust its CA.
    mailbox = start_smtp(
        tls_context=certificate.server_context(),
        require_starttls=True,
        auth_required=True,
    )
    mailbox.password = PASSWORD.encode()
    monkeypatch.setattr(settings, "SMTP_TLS", True)
    login_as(monkeypatch)
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        assert not await send_email("to@example.com", build_test_email("to@example.com"))
    assert mailbox.logins == [] and mailbox.envelopes == []
    [failure] = failures(caplog)
    assert "failed" in failure


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_implicit_tls_with_login(
    start_smtp: StartSmtp, trusted: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 465 behaviour: TLS from the first byte. aiosmtpd's auth_require_tls only
    # knows STARTTLS, so it is off here; the delivery's own TLS version is checked.
    mailbox = start_smtp(
        ssl_context=trusted.server_context(), auth_required=True, auth_require_tls=False
    )
    mailbox.password = PASSWORD.encode()
    monkeypatch.setattr(settings, "SMTP_SSL", True)
    monkeypatch.setattr(settings, "SMTP_TLS", False)
    login_as(monkeypatch)
    assert await send_email("to@example.com", build_test_email("to@example.com"))
    [delivery] = mailbox.deliveries
    assert delivery.tls_version is not None and delivery.tls_version.startswith("TLSv1.")
    assert delivery.login == USER.encode()
    assert mailbox.logins == [(USER.encode(), PASSWORD.encode())]
