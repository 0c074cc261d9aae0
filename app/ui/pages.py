"""Pages of the UI. The full UI (login, items, admin, settings) is still to come."""

import reflex as rx

from app.core.config import settings


def index() -> rx.Component:
    page: rx.Component = rx.center(
        rx.vstack(
            rx.heading(settings.PROJECT_NAME, size="8"),
            rx.text("The REST API is served under /api/v1."),
            rx.link("Open the API documentation", href="/api/docs", is_external=True),
            align="center",
            spacing="4",
        ),
        height="100vh",
    )
    return page
