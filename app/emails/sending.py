"""Delivery through Resend, SMTP or the console log, chosen by settings.

Sending runs in a worker thread and never raises to the caller: a failure is
logged with the message id, and the request that triggered it answers as usual.
"""

import asyncio
import email.policy
import logging
import smtplib
import ssl
from email.message import EmailMessage as MimeMessage
from email.utils import formataddr, make_msgid

import resend

from app.core.config import settings
from app.emails.messages import EmailMessage
from app.observability.metrics import EMAILS

logger = logging.getLogger(__name__)

_pending: set[asyncio.Task[bool]] = set()

# RFC 5322's hard limit. With the 78-column default, Python folds a long Subject
# onto a continuation line that some parsers read back with a leading space.
MIME_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _sender() -> str:
    return formataddr(
        (
            settings.EMAILS_FROM_NAME or settings.PROJECT_NAME,
            settings.EMAILS_FROM_EMAIL or "noreply@example.com",
        )
    )


def build_mime(to: str, message: EmailMessage, message_id: str) -> MimeMessage:
    mime = MimeMessage(policy=MIME_POLICY)
    mime["Subject"] = message.subject
    mime["From"] = _sender()
    mime["To"] = to
    mime["Message-ID"] = message_id
    mime.set_content(message.text)
    # The email package picks quoted-printable/base64 so no line exceeds RFC 5322's limit.
    mime.add_alternative(message.html, subtype="html")
    return mime


def _send_smtp(to: str, message: EmailMessage, message_id: str) -> None:
    assert settings.SMTP_HOST
    mime = build_mime(to, message, message_id)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.SMTP_SSL and not settings.SMTP_TLS:
        smtp = smtplib.SMTP_SSL(settings.SMTP_HOST, settings.SMTP_PORT, timeout=30, context=context)
    else:
        smtp = smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=30)
    with smtp:
        if settings.SMTP_TLS:
            smtp.starttls(context=context)
        if settings.SMTP_USER:
            smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD or "")
        smtp.send_message(mime)


def _send_resend(to: str, message: EmailMessage, message_id: str) -> None:
    resend.api_key = settings.RESEND_API_KEY
    if settings.RESEND_API_URL:
        resend.api_url = settings.RESEND_API_URL
    params: resend.Emails.SendParams = {
        "from": _sender(),
        "to": [to],
        "subject": message.subject,
        "html": message.html,
        "text": message.text,
        "headers": {"X-Entity-Ref-ID": message_id},
    }
    resend.Emails.send(params)


def _send_console(to: str, message: EmailMessage, message_id: str) -> None:
    logger.info(
        "Email %s (console backend, not delivered)\nTo: %s\nSubject: %s\n\n%s",
        message_id,
        to,
        message.subject,
        message.text,
    )


_BACKENDS = {"smtp": _send_smtp, "resend": _send_resend, "console": _send_console}


async def send_email(to: str, message: EmailMessage) -> bool:
    """Deliver one message; True when the backend accepted it."""
    message_id = make_msgid(domain=(settings.EMAILS_FROM_EMAIL or "x@localhost").split("@")[-1])
    backend = settings.email_backend
    try:
        await asyncio.to_thread(_BACKENDS[backend], to, message, message_id)
    except Exception:
        logger.exception("Email %s to %s via %s failed", message_id, to, backend)
        EMAILS.labels(backend, "failed").inc()
        return False
    EMAILS.labels(backend, "sent").inc()
    logger.info("Email %s to %s sent via %s", message_id, to, backend)
    return True


def schedule_email(to: str, message: EmailMessage) -> None:
    """Send in the background, so replies never wait on (or reveal) delivery."""
    task = asyncio.get_running_loop().create_task(send_email(to, message))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def wait_for_pending_emails() -> None:
    """Let queued mail finish (used at shutdown and by tests)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
