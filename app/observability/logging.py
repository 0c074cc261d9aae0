"""Logging for the `app` loggers, which Reflex's own setup leaves without a handler, and
the rule that no log line carries a credential.

Every line carries the id of the request it was written for (and the user, once known):
one JSON object a line in deployments, for log shippers; text locally, for people.
"""

import json
import logging
import re
import sys
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.config import settings

# Access tokens (JWTs) and Reflex client tokens (a tab's key to its state on the server,
# token included) are credentials: a log reader must not be able to act on one. A
# client token keeps its first group, enough to tell sessions apart.
JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
CLIENT_TOKEN = re.compile(
    r"\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
)


def redact(text: str) -> str:
    return CLIENT_TOKEN.sub(r"\1-…", JWT.sub("<jwt>", text))


def redact_records() -> None:
    """Redact every record when it is made, whichever logger or handler it goes to
    (Reflex and granian add handlers of their own)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_redacts", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # What Formatter.formatException would print, redacted the same way.
            text = "".join(traceback.format_exception(*record.exc_info)).removesuffix("\n")
            record.exc_text = redact(text)
        return record

    make_record._redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


@dataclass
class RequestInfo:
    """What the log lines of one request share. Mutable and shared by reference: the
    user is found deep inside the request (in a copied context, or a worker thread),
    and the middleware that writes the request's line reads it afterwards."""

    request_id: str
    user_id: int | None = None


current_request: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


def set_user(user_id: int | None) -> None:
    """The user the current request acts for (no-op outside a request)."""
    info = current_request.get()
    if info is not None:
        info.user_id = user_id


class RequestContext(logging.Filter):
    """Puts the current request's id and user on every record handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = current_request.get()
        record.request_id = info.request_id if info else "-"
        record.user_id = info.user_id if info else None
        return True


# Attributes every LogRecord has: anything else on a record came from `extra=`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "request_id",
    "user_id",
}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: timestamp, level, logger, message, request id, user id,
    and the record's `extra=` fields (method, route, status, duration_ms, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user_id": getattr(record, "user_id", None),
        }
        line.update(
            (key, value) for key, value in vars(record).items() if key not in STANDARD_ATTRIBUTES
        )
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def log_format() -> str:
    return settings.LOG_FORMAT or ("text" if settings.ENVIRONMENT == "local" else "json")


def configure_logging() -> None:
    """Send `app.*` records to stderr at LOG_LEVEL; safe to call more than once."""
    redact_records()
    logger = logging.getLogger("app")
    logger.setLevel(settings.LOG_LEVEL)
    if not any(getattr(h, "_fsr", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(RequestContext())
        handler.setFormatter(
            JsonFormatter() if log_format() == "json" else logging.Formatter(TEXT_FORMAT)
        )
        handler._fsr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        # Records stop here, so a root handler (if any) does not print them twice.
        logger.propagate = False
