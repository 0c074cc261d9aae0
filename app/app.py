"""The Reflex application: pages, plus the FastAPI app mounted in front of Reflex."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import reflex as rx

from app.api.main import api
from app.core.config import settings
from app.core.drain import drain_middleware
from app.core.logging import configure_logging
from app.ui import pages  # noqa: F401  (importing it registers every @rx.page)
from app.ui.components.error_page import error_boundary

configure_logging()


@asynccontextmanager
async def fastapi_lifespan() -> AsyncIterator[None]:
    # A mounted FastAPI app gets no lifespan events of its own; run it inside Reflex's.
    async with api.router.lifespan_context(api):
        yield


app = rx.App(
    # The drain check wraps everything, Reflex's own /api/ping and /api/_health included.
    api_transformer=[api, drain_middleware(settings.DRAIN_FILE)],
    stylesheets=["/styles.css"],
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
)
# Same slot as Reflex's own boundary, with the template's "Oops!" page as fallback.
app.app_wraps[(55, "ErrorBoundary")] = error_boundary
app.register_lifespan_task(fastapi_lifespan)
