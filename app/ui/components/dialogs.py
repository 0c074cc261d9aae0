"""Dialogs: a form in a dialog (add / edit), a confirmation (delete), and a table's three."""

from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.event import EventType

from app.ui.table.dialogs import RowDialogs


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
    warning: str | rx.Var[str] | None = None,
) -> rx.Component:
    shown = [*fields]
    if warning is not None:
        shown.insert(
            0,
            rx.cond(
                rx.Var.create(warning) != "",
                rx.callout(
                    warning,
                    icon="triangle_alert",
                    color_scheme="amber",
                    size="1",
                    custom_attrs={"data-testid": "changed-elsewhere"},
                ),
            ),
        )
    return _dialog(
        title,
        description,
        rx.form(
            rx.vstack(*shown, spacing="4", width="100%"),
            dialog_buttons(rx.button(submit_label, type="submit", loading=busy), busy),
            on_submit=on_submit,
            width="100%",
        ),
        is_open,
        on_open_change,
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
    return _dialog(
        title,
        description,
        dialog_buttons(
            rx.button(confirm_label, color_scheme="red", loading=busy, on_click=on_confirm),
            busy,
        ),
        is_open,
        on_open_change,
    )


def _dialog(
    title: str,
    description: str,
    body: rx.Component,
    is_open: bool | rx.Var[bool],
    on_open_change: EventType[bool],
) -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(title),
            dialog_description(description),
            body,
            max_width="30rem",
            # Radix would focus the (missing) trigger: back to the opener instead.
            on_close_auto_focus=rx.call_script("window.restoreFocus()").prevent_default,
        ),
        open=is_open,
        on_open_change=on_open_change,
    )


def row_dialogs(
    state: type[RowDialogs],
    noun: str,
    *,
    add_description: str,
    delete_description: str,
    fields: Callable[[bool], list[rx.Component]],
    create: EventType[dict[str, Any]],
    update: EventType[dict[str, Any]],
    delete: EventType[()],
) -> rx.Component:
    """`Add {noun}`, `Edit {noun}` and `Delete {noun}` for a table's rows.

    `fields(editing)` builds the form; editing fills it from the selected row.
    """
    return rx.fragment(
        form_dialog(
            title=f"Add {noun}",
            description=add_description,
            is_open=state.add_open,
            on_open_change=state.set_add_open,
            on_submit=create,
            fields=fields(False),
            busy=state.saving,
        ),
        form_dialog(
            title=f"Edit {noun}",
            description=f"Update the {noun.lower()} details below.",
            is_open=state.edit_open,
            on_open_change=state.set_edit_open,
            on_submit=update,
            fields=fields(True),
            busy=state.saving,
            warning=state.changed_elsewhere,
        ),
        confirm_dialog(
            title=f"Delete {noun}",
            description=delete_description,
            is_open=state.delete_open,
            on_open_change=state.set_delete_open,
            on_confirm=delete,
            busy=state.saving,
        ),
    )


def dialog_description(text: str) -> rx.Component:
    return rx.dialog.description(text, size="2", color_scheme="gray", margin_bottom="16px")
