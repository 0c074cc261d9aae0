"""Errors to Sentry when SENTRY_DSN is set: from REST routes and UI handlers alike, with
the request (or UI event) id and the user id, and never a secret.

Secrets are kept out three ways: the SDK collects no user details, cookies, request
bodies, query strings, query parameters or local variables (a password can sit in any
frame's locals, under any name); keys that
name a secret are filtered wherever they appear in an event; and every string is
redacted as log lines are (JWTs, Reflex client tokens), breadcrumbs included.
"""

import contextlib
import re
from typing import Any

import sentry_sdk

from app.core.config import settings
from app.observability.logging import RequestInfo, redact

FILTERED = "[Filtered]"
REPORTED = "_reported_to_sentry"
# Keys whose value is a credential wherever they appear (headers, form fields, extras):
# `new_password`, `access_token`, `x-metrics-token`, `Cookie`...
SECRET_KEY = re.compile(r"pass|token|secret|authoriz|cookie|api[_-]?key|dsn", re.IGNORECASE)


def scrub(value: Any) -> Any:
    """`value` with every secret-named key's value filtered and every string redacted."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SECRET_KEY.search(key) else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        # Headers come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and SECRET_KEY.search(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


# Reflex logs every handler's exception at ERROR under this prefix; the exception itself
# is reported with its id, handler and user (report_error), so the log line would be the
# same error a second time, without them.
REFLEX_EXCEPTION_LOG = "[Reflex Backend Exception]"


def before_send(event: Any, _hint: dict[str, Any]) -> Any:
    message = str((event.get("logentry") or {}).get("message", ""))
    if event.get("logger") == "reflex.app" and message.startswith(REFLEX_EXCEPTION_LOG):
        return None
    return scrub(event)


def scrubbed(item: Any, _hint: dict[str, Any]) -> Any:
    return scrub(item)


def start_error_reports(dsn: str | None = None) -> bool:
    """Start the SDK if a DSN is set (`dsn`, else SENTRY_DSN); whether it runs.

    In every environment, `local` included: whoever sets a DSN expects errors to
    arrive; the `environment` tag tells them apart.
    """
    dsn = dsn or settings.SENTRY_DSN
    if not dsn:
        return False
    client = sentry_sdk.get_client()
    if client.is_active() and client.dsn == dsn:
        return True
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.ENVIRONMENT,
        traces_sample_rate=settings.SENTRY_TRACES_SAMPLE_RATE,
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "stack_frame_variables": False,
            "database_query_data": False,
        },
        before_send=before_send,
        before_send_transaction=scrubbed,
        before_breadcrumb=scrubbed,
    )
    return True


def report_error(error: Exception, info: RequestInfo | None, **tags: str) -> None:
    """Send `error` with the id and user of the request or UI event it broke (a no-op
    without a DSN, or when `error` was sent already). Sentry's integrations drop an
    exception it has just sent when they meet it further out, so this report, with its
    tags, is the one kept."""
    if not sentry_sdk.get_client().is_active() or getattr(error, REPORTED, False):
        return
    # Reflex hands a handler's exception to its error handler in another task, where
    # Sentry's own duplicate check does not see this report.
    with contextlib.suppress(AttributeError):
        setattr(error, REPORTED, True)
    with sentry_sdk.new_scope() as scope:
        if info is not None:
            scope.set_tag("request_id", info.request_id)
            if info.user_id is not None:
                scope.set_user({"id": str(info.user_id)})
        for name, value in tags.items():
            scope.set_tag(name, value)
        sentry_sdk.capture_exception(error)


def report_ui_error(error: Exception) -> None:
    """Reflex's backend exception handler's first step: errors of UI events that no
    handler of ours saw (a payload Reflex could not convert, a failing state load)."""
    report_error(error, None, handler="reflex")
