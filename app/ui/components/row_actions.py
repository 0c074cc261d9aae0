"""The icon button at the end of a table row that opens its actions menu."""

from typing import Literal

import reflex as rx
from reflex.event import EventType

Action = tuple[str, str, EventType[()], Literal["gray", "red"]]


def row_actions(label: str, actions: list[Action]) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("ellipsis", size=16),
                variant="ghost",
                color_scheme="gray",
                size="2",
                aria_label=label,
            )
        ),
        rx.menu.content(
            *(
                rx.menu.item(
                    rx.hstack(rx.icon(icon, size=16), rx.text(text), spacing="2", align="center"),
                    on_click=on_click,
                    color_scheme=color,
                )
                for text, icon, on_click, color in actions
            ),
            align="end",
        ),
        # Non-modal, so the dialog an entry opens gets focus and pointer events back.
        modal=False,
    )
