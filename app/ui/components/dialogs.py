"""Dialogs: a form in a dialog (add / edit), and a confirmation (delete)."""

from typing import Any

import reflex as rx
from reflex.event import EventType


def dialog_buttons(submit: rx.Component, busy: bool | rx.Var[bool]) -> rx.Component:
    return rx.hstack(
        rx.dialog.close(
            rx.button("Cancel", type="button", variant="soft", color_scheme="gray", disabled=busy)
        ),
        submit,
        justify="end",
        spacing="3",
        margin_top="24px",
    )


def form_dialog(
    *,
    title: str,
    description: str,
    is_open: bool | rx.Var[bool],
    on_open_change: EventType[bool],
    on_submit: EventType[dict[str, Any]],
    fields: list[rx.Component],
    busy: bool | rx.Var[bool],
    submit_label: str = "Save",
) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            dialog_description(description),
            rx.form(
                rx.vstack(*fields, spacing="4", width="100%"),
                dialog_buttons(rx.button(submit_label, type="submit", loading=busy), busy),
                on_submit=on_submit,
                width="100%",
            ),
            max_width="30rem",
        ),
        open=is_open,
        on_open_change=on_open_change,
    )


def confirm_dialog(
    *,
    title: str,
    description: str,
    is_open: bool | rx.Var[bool],
    on_open_change: EventType[bool],
    on_confirm: EventType[()],
    busy: bool | rx.Var[bool],
    confirm_label: str = "Delete",
) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            dialog_description(description),
            dialog_buttons(
                rx.button(confirm_label, color_scheme="red", loading=busy, on_click=on_confirm),
                busy,
            ),
            max_width="30rem",
        ),
        open=is_open,
        on_open_change=on_open_change,
    )


def dialog_description(text: str) -> rx.Component:
    return rx.dialog.description(text, size="2", color_scheme="gray", margin_bottom="16px")
