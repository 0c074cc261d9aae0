"""Mail through each backend: the right message arrives, failures never reach users."""

import logging
import re
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import httpx
import pytest

from app.core.config import settings
from app.emails import EmailMessage as EmailMessageParts
from app.emails import build_test_email, send_email
from app.emails.sending import wait_for_pending_emails
from app.ui.state.admin import AdminState
from devtools.servers import free_port
from tests.conftest import Account
from tests.emails.conftest import Mailbox, ResendEndpoint
from tests.factories import random_email
from tests.ui.test_handlers import run, signed_in

API = settings.API_V1_STR
RECOVERY_REPLY = "If that email is registered, we sent a password recovery link"


def parts(message: EmailMessage) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_type()] = part.get_content()
    return found


def reset_token(text: str) -> str:
    match = re.search(r"/reset-password\?token=([\w.-]+)", text)
    assert match, text
    return match.group(1)


async def test_recovery_mail_arrives_and_its_link_resets_once(
    client: httpx.AsyncClient, normal_user: Account, smtp_server: Mailbox
) -> None:
    response = await client.post(f"{API}/password-recovery/{normal_user.email}")
    assert response.json() == {"message": RECOVERY_REPLY}
    await wait_for_pending_emails()
    [message] = smtp_server.messages
    assert smtp_server.envelopes[0].rcpt_tos == [normal_user.email]
    assert message["To"] == normal_user.email
    assert message["From"] == "Full Stack Reflex <info@example.com>"
    assert message["Subject"] == (
        f"{settings.PROJECT_NAME} - Password recovery for user {normal_user.email}"
    )
    bodies = parts(message)
    assert set(bodies) == {"text/plain", "text/html"}
    assert f"{settings.FRONTEND_HOST}/reset-password?token=" in bodies["text/html"]
    assert f"{settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS} hours" in bodies["text/plain"]
    token = reset_token(bodies["text/plain"])
    assert reset_token(bodies["text/html"]) == token

    body = {"token": token, "new_password": "recovered-password"}
    first = await client.post(f"{API}/reset-password/", json=body)
    assert first.json() == {"message": "Password updated successfully"}
    login = await client.post(
        f"{API}/login/access-token",
        data={"username": normal_user.email, "password": "recovered-password"},
    )
    assert login.status_code == 200
    again = await client.post(f"{API}/reset-password/", json=body)
    assert (again.status_code, again.json()) == (400, {"detail": "Invalid token"})


async def test_unknown_email_gets_the_same_reply_and_no_mail(
    client: httpx.AsyncClient, smtp_server: Mailbox
) -> None:
    response = await client.post(f"{API}/password-recovery/{random_email()}")
    assert response.status_code == 200
    assert response.json() == {"message": RECOVERY_REPLY}
    await wait_for_pending_emails()
    assert smtp_server.envelopes == []


async def create_through_the_api(
    client: httpx.AsyncClient, superuser: Account, form: dict[str, str]
) -> None:
    body = {"email": form["email"], "password": form["password"], "is_active": True}
    response = await client.post(f"{API}/users/", json=body, headers=superuser.headers)
    assert response.status_code == 200


async def create_on_the_admin_page(
    _: httpx.AsyncClient, superuser: Account, form: dict[str, str]
) -> None:
    state = signed_in(AdminState, superuser)
    assert "User created successfully" in await run(AdminState.create, state, form)


@pytest.mark.parametrize("face", [create_through_the_api, create_on_the_admin_page])
async def test_new_account_mail_has_a_set_password_link_not_the_password(
    client: httpx.AsyncClient,
    superuser: Account,
    smtp_server: Mailbox,
    face: Callable[[httpx.AsyncClient, Account, dict[str, str]], Awaitable[None]],
) -> None:
    # One rule, whichever face applies it: the service that creates the account mails it.
    email, password = random_email(), "initial-password-123"
    form = {"email": email, "password": password, "confirm_password": password, "is_active": "on"}
    await face(client, superuser, form)
    await wait_for_pending_emails()
    [message] = smtp_server.messages
    assert smtp_server.envelopes[0].rcpt_tos == [email]
    assert message["Subject"] == f"{settings.PROJECT_NAME} - New account for user {email}"
    bodies = parts(message)
    assert password not in bodies["text/plain"] and password not in bodies["text/html"]
    assert email in bodies["text/plain"]
    token = reset_token(bodies["text/plain"])
    reset = await client.post(
        f"{API}/reset-password/", json={"token": token, "new_password": "chosen-password"}
    )
    assert reset.status_code == 200


async def test_test_email_arrives(
    client: httpx.AsyncClient, superuser: Account, smtp_server: Mailbox
) -> None:
    response = await client.post(
        f"{API}/utils/test-email/",
        params={"email_to": "check@example.com"},
        headers=superuser.headers,
    )
    assert (response.status_code, response.json()) == (201, {"message": "Test email sent"})
    await wait_for_pending_emails()
    [message] = smtp_server.messages
    assert message["Subject"] == f"{settings.PROJECT_NAME} - Test email"
    assert "check@example.com" in parts(message)["text/html"]


async def test_raw_message_respects_rfc5322_line_length(smtp_server: Mailbox) -> None:
    assert await send_email("lines@example.com", build_test_email("lines@example.com"))
    raw = smtp_server.envelopes[0].original_content or b""
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


async def test_unreachable_smtp_server_is_logged_and_the_reply_unchanged(
    client: httpx.AsyncClient,
    normal_user: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(settings, "EMAIL_BACKEND", "smtp")
    monkeypatch.setattr(settings, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setattr(settings, "SMTP_PORT", free_port())
    monkeypatch.setattr(settings, "SMTP_TLS", False)
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        response = await client.post(f"{API}/password-recovery/{normal_user.email}")
        await wait_for_pending_emails()
    assert response.json() == {"message": RECOVERY_REPLY}
    [record] = [r for r in caplog.records if r.name == "app.emails.sending"]
    assert "failed" in record.getMessage() and "<" in record.getMessage()  # the Message-ID


async def test_resend_receives_the_full_payload(resend_endpoint: ResendEndpoint) -> None:
    assert await send_email("to@example.com", build_test_email("to@example.com"))
    [payload] = resend_endpoint.requests
    assert payload["from"] == "Full Stack Reflex <info@example.com>"
    assert payload["to"] == ["to@example.com"]
    assert payload["subject"] == f"{settings.PROJECT_NAME} - Test email"
    assert "<html" in payload["html"] and "to@example.com" in payload["text"]
    assert resend_endpoint.headers[0]["Authorization"] == "Bearer re_test_key"


@pytest.mark.parametrize("status", [422, 500])
async def test_resend_errors_are_logged_not_raised(
    client: httpx.AsyncClient,
    normal_user: Account,
    resend_endpoint: ResendEndpoint,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    resend_endpoint.status = status
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        response = await client.post(f"{API}/password-recovery/{normal_user.email}")
        await wait_for_pending_emails()
    assert response.json() == {"message": RECOVERY_REPLY}
    assert len(resend_endpoint.requests) == 1
    assert any("failed" in r.getMessage() for r in caplog.records)


@pytest.mark.usefixtures("resend_endpoint")
async def test_unreachable_resend_endpoint_is_logged(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(settings, "RESEND_API_URL", f"http://127.0.0.1:{free_port()}")
    with caplog.at_level(logging.ERROR, logger="app.emails"):
        assert not await send_email("to@example.com", build_test_email("to@example.com"))
    assert any("failed" in r.getMessage() for r in caplog.records)


async def test_console_backend_logs_the_whole_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="app.emails"):
        assert await send_email("to@example.com", build_test_email("to@example.com"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "To: to@example.com" in logged
    assert f"Subject: {settings.PROJECT_NAME} - Test email" in logged


async def test_very_long_html_lines_are_encoded_to_fit(smtp_server: Mailbox) -> None:
    message = EmailMessageParts(
        subject="Long lines", html="<p>" + "word " * 2000 + "</p>", text="short"
    )
    assert await send_email("long@example.com", message)
    raw = smtp_server.envelopes[0].original_content or b""
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert parts(smtp_server.messages[0])["text/html"].count("word") == 2000
