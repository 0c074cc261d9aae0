"""Outgoing mail: the messages and a non-blocking, never-raising sender."""

from app.emails.messages import (
    EmailMessage,
    build_confirm_email_change_email,
    build_email_changed_email,
    build_new_account_email,
    build_reset_password_email,
    build_test_email,
    build_verify_email,
)
from app.emails.sending import schedule_email, send_email

__all__ = [
    "EmailMessage",
    "build_confirm_email_change_email",
    "build_email_changed_email",
    "build_new_account_email",
    "build_reset_password_email",
    "build_test_email",
    "build_verify_email",
    "schedule_email",
    "send_email",
]
