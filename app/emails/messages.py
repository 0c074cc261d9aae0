"""Rendering of the messages (HTML and plain text) from the Jinja2 templates."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.core.config import settings

TEMPLATES = Path(__file__).parent / "templates"

_html = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_text = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False)


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    html: str
    text: str


def _render(name: str, subject: str, **context: Any) -> EmailMessage:
    context = {
        "project_name": settings.PROJECT_NAME,
        "year": datetime.now(UTC).year,
        "frontend_host": settings.FRONTEND_HOST.rstrip("/"),
        **context,
    }
    return EmailMessage(
        subject=subject,
        html=_html.get_template(f"{name}.html").render(subject=subject, **context),
        text=_text.get_template(f"{name}.txt").render(subject=subject, **context),
    )


def reset_link(token: str) -> str:
    return f"{settings.FRONTEND_HOST.rstrip('/')}/reset-password?token={token}"


def build_reset_password_email(email: str, token: str) -> EmailMessage:
    return _render(
        "reset_password",
        f"{settings.PROJECT_NAME} - Password recovery for user {email}",
        username=email,
        email=email,
        valid_hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS,
        link=reset_link(token),
    )


def build_new_account_email(email: str, token: str) -> EmailMessage:
    """Welcome mail with a set-your-password link, never the password itself."""
    return _render(
        "new_account",
        f"{settings.PROJECT_NAME} - New account for user {email}",
        username=email,
        email=email,
        valid_hours=settings.EMAIL_RESET_TOKEN_EXPIRE_HOURS,
        link=reset_link(token),
    )


def verify_link(token: str) -> str:
    return f"{settings.FRONTEND_HOST.rstrip('/')}/verify-email?token={token}"


def build_verify_email(email: str, token: str) -> EmailMessage:
    """A link proving the address is the account's (sign-up, or asked for again)."""
    return _render(
        "verify_email",
        f"{settings.PROJECT_NAME} - Verify your email address",
        email=email,
        valid_hours=settings.EMAIL_VERIFY_TOKEN_EXPIRE_HOURS,
        link=verify_link(token),
    )


def build_confirm_email_change_email(email: str, old_email: str, token: str) -> EmailMessage:
    """To the address a user asked to move to: the change is made by its link."""
    return _render(
        "confirm_email_change",
        f"{settings.PROJECT_NAME} - Confirm your new email address",
        email=email,
        old_email=old_email,
        valid_hours=settings.EMAIL_VERIFY_TOKEN_EXPIRE_HOURS,
        link=verify_link(token),
    )


def build_email_changed_email(email: str, new_email: str, *, pending: bool) -> EmailMessage:
    """To the address an account leaves: the change is asked for (`pending`) or made."""
    title = "is being changed" if pending else "was changed"
    return _render(
        "email_changed",
        f"{settings.PROJECT_NAME} - Your email address {title}",
        email=email,
        new_email=new_email,
        pending=pending,
    )


def build_test_email(email: str) -> EmailMessage:
    return _render("test_email", f"{settings.PROJECT_NAME} - Test email", email=email)
