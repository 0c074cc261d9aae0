"""`/`: the signed-in home page."""

import reflex as rx

from app.ui.components.layout import PRIVATE_PAGE, app_shell, page_title
from app.ui.state.auth import AuthState
from app.ui.state.dashboard import DashboardState


def shortcut(icon: str, title: str, text: str, href: str) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.center(
                    rx.icon(icon, size=18, color=rx.color("accent", 11)),
                    width="36px",
                    height="36px",
                    min_width="36px",
                    border_radius="var(--radius-3)",
                    background=rx.color("accent", 3),
                ),
                rx.vstack(
                    rx.text(title, size="2", weight="medium"),
                    rx.text(text, size="1", color_scheme="gray"),
                    spacing="1",
                ),
                spacing="3",
                align="center",
            ),
            size="2",
            width="100%",
            # The grid stretches the links to the row's height; the cards fill them, so
            # a card whose text wraps to two lines does not stand taller than the rest.
            height="100%",
            _hover={"background": rx.color("gray", 2)},
        ),
        href=href,
        underline="none",
        color="inherit",
        display="block",
        height="100%",
    )


@rx.page(
    route="/",
    title=page_title("Dashboard"),
    description="Your dashboard: shortcuts to your items, settings and administration.",
    meta=PRIVATE_PAGE,
    on_load=DashboardState.open_dashboard,
)
def dashboard() -> rx.Component:
    return app_shell(
        rx.vstack(
            rx.hstack(
                rx.heading(
                    f"Hi, {AuthState.user.display_name}",
                    size="7",
                    weight="bold",
                    overflow_wrap="anywhere",
                ),
                # An SVG, not the 👋 emoji: without an emoji font that shows as a box.
                rx.icon("hand", size=26, color=rx.color("amber", 11), aria_hidden="true"),
                spacing="2",
                align="center",
            ),
            rx.text("Welcome back, nice to see you again!!!", size="3", color_scheme="gray"),
            spacing="2",
        ),
        rx.grid(
            shortcut("briefcase", "Items", "Create and manage your items", "/items"),
            # devtools.scaffold adds each new entity's card above this line.
            shortcut("user-cog", "User Settings", "Profile, password and appearance", "/settings"),
            rx.cond(
                AuthState.user.is_superuser,
                shortcut("users", "Admin", "Manage user accounts and permissions", "/admin"),
                rx.fragment(),
            ),
            columns=rx.breakpoints(initial="1", sm="2", md="3"),
            spacing="4",
            width="100%",
        ),
    )
