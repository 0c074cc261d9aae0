"""Client-side form checks: the messages shown under fields before a service is asked.

These only spare the user a round trip with an obviously incomplete form; the
services and models still enforce every limit (a form that slips past these gets the
service's or the model's own message as a toast).
"""

import re

from app.models import PASSWORD_MIN_LENGTH, unstorable_text_error

# The same shape zod's `.email()` accepts in the template: something@domain.tld.
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")

INVALID_EMAIL = "Invalid email address"
PASSWORD_REQUIRED = "Password is required"
PASSWORD_TOO_SHORT = f"Password must be at least {PASSWORD_MIN_LENGTH} characters"
CONFIRMATION_REQUIRED = "Password confirmation is required"
CONFIRM_YOUR_PASSWORD = "Please confirm your password"
PASSWORDS_DIFFER = "The passwords don't match"
FULL_NAME_REQUIRED = "Full Name is required"
TITLE_REQUIRED = "Title is required"


def text_error(value: str) -> str:
    """The API's own rule for every text (no NUL, no lone surrogate), as a field error."""
    return unstorable_text_error(value)


def email_error(value: str) -> str:
    return "" if EMAIL_PATTERN.match(value.strip()) else INVALID_EMAIL


def password_error(value: str) -> str:
    if not value:
        return PASSWORD_REQUIRED
    if len(value) < PASSWORD_MIN_LENGTH:
        return PASSWORD_TOO_SHORT
    return text_error(value)


def optional_password_error(value: str) -> str:
    """An edit form's password: blank means "keep the current one"."""
    return password_error(value) if value else ""


def confirmation_error(password: str, confirmation: str, missing: str) -> str:
    if not confirmation:
        return missing
    return "" if confirmation == password else PASSWORDS_DIFFER


def required_error(value: str, message: str) -> str:
    # Empty, as the models' min_length=1 counts it: a value the API takes, the form takes.
    return text_error(value) if value else message
