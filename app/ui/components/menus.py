"""The appearance (Light / Dark / System) and user menus."""

import reflex as rx
from reflex.style import set_color_mode

from app.ui.state.auth import AuthState

COLOR_MODES = (("Light", "light", "sun"), ("Dark", "dark", "moon"), ("System", "system", "monitor"))


def _appearance_items() -> list[rx.Component]:
    return [
        rx.menu.item(
            rx.hstack(rx.icon(icon, size=16), rx.text(label), spacing="2", align="center"),
            on_click=set_color_mode(mode),  # type: ignore[arg-type]
            custom_attrs={"data-testid": f"{mode}-mode"},
        )
        for label, mode, icon in COLOR_MODES
    ]


def mode_icon(size: int = 16) -> rx.Component:
    return rx.color_mode_cond(light=rx.icon("sun", size=size), dark=rx.icon("moon", size=size))


def appearance_menu(collapsed: bool | rx.Var[bool] = False) -> rx.Component:
    """The sidebar's Appearance entry: a full-width row, or just the icon when collapsed."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                mode_icon(),
                rx.cond(collapsed, rx.fragment(), rx.text("Appearance", size="2")),
                variant="ghost",
                color_scheme="gray",
                size="2",
                aria_label="Appearance",
                justify_content="flex-start",
                width="100%",
                class_name="sidebar-button",
                custom_attrs={"data-testid": "theme-button"},
            )
        ),
        rx.menu.content(*_appearance_items(), side="right", align="end"),
        modal=False,
    )


def appearance_icon_menu() -> rx.Component:
    """The public pages' top-right theme button."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                mode_icon(18),
                variant="ghost",
                color_scheme="gray",
                size="2",
                # The template's words for this icon-only button (its sr-only text).
                aria_label="Toggle theme",
                custom_attrs={"data-testid": "theme-button"},
            )
        ),
        rx.menu.content(*_appearance_items(), align="end"),
        modal=False,
    )


def user_avatar(size: str = "2") -> rx.Component:
    return rx.avatar(
        fallback=AuthState.user.initials,
        size=size,
        radius="full",
        variant="soft",
    )


def user_menu(collapsed: bool | rx.Var[bool] = False) -> rx.Component:
    user = AuthState.user
    who = rx.vstack(
        rx.text(user.display_name, size="2", weight="medium", trim="both", truncate=True),
        # A nameless user's display name is the email already: once is enough.
        rx.cond(
            user.full_name != "",
            rx.text(user.email, size="1", color_scheme="gray", truncate=True),
            rx.fragment(),
        ),
        spacing="1",
        align="start",
        min_width="0",
        flex="1",
    )
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                user_avatar(),
                rx.cond(
                    collapsed,
                    rx.fragment(),
                    rx.fragment(
                        who, rx.icon("chevrons-up-down", size=14, color=rx.color("gray", 10))
                    ),
                ),
                variant="ghost",
                color_scheme="gray",
                size="3",
                # Expanded, the name shown is the button's name (a different aria-label
                # would hide it from speech input); collapsed, only the avatar's letters.
                aria_label=rx.cond(collapsed, "User menu", None),
                justify_content="flex-start",
                width="100%",
                height="auto",
                padding_y="6px",
                class_name="sidebar-button",
                custom_attrs={"data-testid": "user-menu"},
            )
        ),
        rx.menu.content(
            rx.hstack(user_avatar("2"), who, spacing="2", align="center", padding="8px"),
            rx.menu.separator(),
            rx.menu.item(
                rx.hstack(rx.icon("user-cog", size=16), rx.text("User Settings"), spacing="2"),
                on_click=rx.redirect("/settings"),
            ),
            rx.menu.item(
                rx.hstack(rx.icon("log-out", size=16), rx.text("Log Out"), spacing="2"),
                on_click=AuthState.log_out,
            ),
            side="right",
            align="end",
            min_width="14rem",
        ),
        modal=False,
    )
