"""The Reflex application: pages, plus the FastAPI app mounted in front of Reflex."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import reflex as rx
from reflex.event import EventSpec
from reflex.utils.exec import is_prod_mode
from reflex.utils.prerequisites import get_web_dir
from reflex_base import constants
from reflex_base.event.context import EventContext
from starlette.types import ASGIApp

from app.api.main import api
from app.core.config import settings
from app.core.edge import Edge
from app.observability.error_reports import report_ui_error
from app.observability.logging import configure_logging
from app.ui import (
    guards,
    pages,  # noqa: F401  (importing it registers every @rx.page)
)
from app.ui.components.error_page import error_boundary
from app.ui.guards import short
from app.ui.socket_limits import EventSocketLimits
from app.ui.state_store import STATE_STORE_ERRORS, state_store
from app.ui.table import live

configure_logging()
logger = logging.getLogger("app.ui.errors")


@asynccontextmanager
async def fastapi_lifespan() -> AsyncIterator[None]:
    # A mounted FastAPI app gets no lifespan events of its own; run it inside Reflex's.
    async with api.router.lifespan_context(api):
        yield


def limit_event_socket(asgi: ASGIApp) -> ASGIApp:
    return EventSocketLimits(
        asgi,
        f"{rx.config.get_config().backend_path}/_event",
        settings.MAX_EVENT_BYTES,
        settings.UI_EVENTS_PER_SECOND,
    )


def failed_tab() -> str | None:
    """The client token of the event that failed, when Reflex says."""
    try:
        return EventContext.get().token
    except LookupError:
        return None


def report_backend_exception(exception: Exception) -> EventSpec:
    """A UI event that failed with a bug: reported, and one log record through the app's
    handler (with LOG_FORMAT=json, one JSON line, the traceback in its `exception`
    field), where Reflex's own handler would print the traceback as plain text, with
    whatever strings a client put in the exception's message, between the JSON lines.
    The tab gets Reflex's own toast. An unreachable state store (Redis) is no bug: the
    tab is told so, and the outage logged once (app/ui/state_store.py)."""
    # Reflex checks this signature: one argument, named `exception`.
    if isinstance(exception, STATE_STORE_ERRORS):
        # No bug: Redis is down (app/ui/state_store.py says so once, and brings tabs back).
        return state_store.failed(failed_tab(), exception)
    report_ui_error(exception)
    logger.error(
        "A UI event failed: %s",
        short(f"{type(exception).__name__}: {exception}", 200),
        exc_info=exception,
    )
    return rx.toast(
        "An error occurred.",
        level="error",
        fallback_to_alert=True,
        description=(
            "Contact the website administrator."
            if is_prod_mode()
            else f"{type(exception).__name__}: {exception}\nSee logs for details."
        ),
        position="top-center",
        id="backend_error",
        style={"width": "500px", "white-space": "pre-wrap"},
    )


def built_pages() -> Path:
    """Where `reflex run --env prod` serves the built pages from (reflex.utils.exec)."""
    frontend_path = rx.config.get_config().frontend_path.strip("/")
    return get_web_dir() / constants.Dirs.STATIC / frontend_path


class App(rx.App):
    """Reflex's app, its ASGI app wrapped once more, outside Reflex's outermost layers
    (CORS), which api_transformer cannot reach: see app/core/edge.py. The pages and the
    websocket are covered too; the drain check fails Reflex's own /api/ping and
    /api/_health during a rolling deploy."""

    def __call__(self) -> ASGIApp:
        config = rx.config.get_config()
        return Edge(
            super().__call__(),
            backend_path=config.backend_path,
            static_dir=built_pages,
            drain_file=settings.DRAIN_FILE,
            trusted_hops=config.trusted_proxy_hops,
        )


app = App(
    backend_exception_handler=report_backend_exception,
    api_transformer=[api, limit_event_socket],
    stylesheets=["/styles.css"],
    html_lang="en",
    head_components=[
        rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml"),
        # A plain <script>: rx.script goes through react-helmet, ~27 KB of JavaScript
        # on every first visit for one tag that never changes.
        rx.el.script(src="/focus-return.js", defer=True),
    ],
)
# Same slot as Reflex's own boundary, with the template's "Oops!" page as fallback.
app.app_wraps[(55, "ErrorBoundary")] = error_boundary
app.register_lifespan_task(fastapi_lifespan)
guards.install(app)
live.install(app)
