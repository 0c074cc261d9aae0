"""What shows when the page itself breaks (a rendering error), instead of a blank screen."""

import reflex as rx
from reflex_components_core.base.error_boundary import (  # type: ignore[import-untyped]
    ErrorBoundary,
)

# The boundary wraps the whole app, outside the Radix theme: plain elements, own styles.
FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"


def fallback() -> rx.Component:
    return rx.el.div(
        rx.el.p("Error", style={"color": "#0d9488", "font_weight": "700", "margin": "0"}),
        rx.el.h1("Oops!", style={"font_size": "2.25rem", "margin": "8px 0"}),
        rx.el.p(
            "Something went wrong. Please try again.",
            style={"color": "#64748b", "margin": "0 0 20px"},
        ),
        rx.el.a(
            "Go Home",
            href="/",
            style={
                "background": "#0d9488",
                "color": "#fff",
                "padding": "10px 18px",
                "border_radius": "8px",
                "text_decoration": "none",
                "font_weight": "500",
            },
        ),
        style={
            "min_height": "100vh",
            "display": "flex",
            "flex_direction": "column",
            "align_items": "center",
            "justify_content": "center",
            "font_family": FONT,
            "text_align": "center",
            "padding": "24px",
        },
    )


def error_boundary(stateful: bool) -> rx.Component:
    """Reflex's error boundary with the template's fallback; same wiring as the default."""
    # Without state there is no backend to report the error to (as in Reflex's default).
    extra = {} if stateful else {"on_error": rx.noop()}
    return ErrorBoundary.create(fallback_render=fallback(), **extra)
