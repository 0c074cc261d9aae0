"""Logging for the `app` loggers, which Reflex's own setup leaves without a handler, and
the rule that no log line carries a credential."""

import logging
import re
import sys
import traceback
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


def configure_logging() -> None:
    """Send `app.*` records to stderr at LOG_LEVEL; safe to call more than once."""
    redact_records()
    logger = logging.getLogger("app")
    logger.setLevel(settings.LOG_LEVEL)
    if not any(getattr(h, "_fsr", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._fsr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        # Records stop here, so a root handler (if any) does not print them twice.
        logger.propagate = False
