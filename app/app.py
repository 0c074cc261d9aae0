"""The Reflex application: pages, plus the FastAPI app mounted in front of Reflex."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import reflex as rx

from app.api.main import api
from app.core.config import settings
from app.core.logging import configure_logging
from app.ui.pages import index

configure_logging()


@asynccontextmanager
async def fastapi_lifespan() -> AsyncIterator[None]:
    # A mounted FastAPI app gets no lifespan events of its own; run it inside Reflex's.
    async with api.router.lifespan_context(api):
        yield


app = rx.App(api_transformer=api, theme=rx.theme(accent_color="teal"))
app.add_page(index, route="/", title=f"{settings.PROJECT_NAME}")
app.register_lifespan_task(fastapi_lifespan)
