"""Logging for the `app` loggers, which Reflex's own setup leaves without a handler."""

import logging
import sys

from app.core.config import settings


def configure_logging() -> None:
    """Send `app.*` records to stderr at LOG_LEVEL; safe to call more than once."""
    logger = logging.getLogger("app")
    logger.setLevel(settings.LOG_LEVEL)
    if not any(getattr(h, "_fsr", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._fsr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        # Records stop here, so a root handler (if any) does not print them twice.
        logger.propagate = False
