"""Table pieces: a paged table, its server-side pager, skeleton rows and empty states."""

from collections.abc import Callable, Sequence
from typing import Any

import reflex as rx
from reflex.event import EventCallback, EventType

from app.ui.table.paging import PAGE_SIZES, PagedTable


def pager_button(
    label: str, icon: str, on_click: EventType[()], disabled: rx.Var[bool]
) -> rx.Component:
    return rx.icon_button(
        rx.icon(icon, size=16),
        variant="outline",
        color_scheme="gray",
        size="2",
        aria_label=label,
        title=label,
        disabled=disabled,
        on_click=on_click,
    )


def pagination_bar(
    state: type[PagedTable],
    go_to_page: EventCallback[int],
    change_page_size: EventCallback[str],
) -> rx.Component:
    """Rows per page, `Showing A to B of N entries`, and first/previous/next/last."""
    busy = rx.Var.create(state.loading)
    at_start = busy | rx.Var.create(state.on_first_page)
    at_end = busy | rx.Var.create(state.on_last_page)
    return rx.cond(
        state.shows_pager,
        rx.flex(
            rx.hstack(
                rx.text("Rows per page", size="2", color_scheme="gray", white_space="nowrap"),
                rx.select.root(
                    rx.select.trigger(aria_label="Rows per page", width="4.5rem"),
                    rx.select.content(
                        *(rx.select.item(str(size), value=str(size)) for size in PAGE_SIZES)
                    ),
                    value=state.page_size_text,
                    on_change=change_page_size,
                    size="2",
                    disabled=busy,
                ),
                align="center",
                spacing="2",
            ),
            rx.text(
                f"Showing {state.first_row} to {state.last_row} of {state.total} entries",
                size="2",
                color_scheme="gray",
                custom_attrs={"data-testid": "pagination-summary"},
            ),
            rx.hstack(
                rx.text(
                    f"Page {state.page} of {state.page_count}",
                    size="2",
                    weight="medium",
                    white_space="nowrap",
                    margin_right="8px",
                ),
                pager_button("Go to first page", "chevrons-left", go_to_page(1), at_start),
                pager_button(
                    "Go to previous page",
                    "chevron-left",
                    go_to_page(state.page - 1),
                    at_start,
                ),
                pager_button(
                    "Go to next page",
                    "chevron-right",
                    go_to_page(state.page + 1),
                    at_end,
                ),
                pager_button(
                    "Go to last page",
                    "chevrons-right",
                    go_to_page(rx.Var.create(state.page_count).to(int)),
                    at_end,
                ),
                align="center",
                spacing="2",
            ),
            justify="between",
            align="center",
            wrap="wrap",
            gap="12px",
            width="100%",
        ),
        rx.fragment(),
    )


def skeleton_rows(columns: int, rows: int = 5) -> list[rx.Component]:
    return [
        rx.table.row(
            *(
                rx.table.cell(rx.skeleton(rx.box(height="20px", width="100%")))
                for _ in range(columns)
            )
        )
        for _ in range(rows)
    ]


def empty_state(icon: str, title: str | rx.Var[str], text: str | rx.Var[str]) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.center(
                rx.icon(icon, size=22, color=rx.color("accent", 11)),
                width="48px",
                height="48px",
                border_radius="9999px",
                background=rx.color("accent", 3),
            ),
            rx.heading(title, size="4", weight="medium", as_="h2"),
            rx.text(text, size="2", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        padding="48px 16px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="var(--radius-4)",
        custom_attrs={"data-testid": "empty-state"},
    )


def search_box(value: str | rx.Var[str], on_change: EventType[str], label: str) -> rx.Component:
    """The search field above a table; each keystroke reloads the first page.

    `label` is its placeholder and accessible name. Keep it free of the dialogs' field
    placeholders ("Title", "Email", ...): browser tests find those by placeholder, a
    case-insensitive substring match that would also hit a "Search by title" box.
    """
    return rx.input(
        rx.input.slot(rx.icon("search", size=16)),
        value=value,
        on_change=on_change,
        placeholder=label,
        type="search",
        aria_label=label,
        max_width="24rem",
        width="100%",
        size="2",
        custom_attrs={"data-testid": "search-input"},
    )


def table_card(*children: rx.Component, busy: bool | rx.Var[bool] = False) -> rx.Component:
    """The table's frame; rows fade while a new page is on its way."""
    return rx.box(
        *children,
        width="100%",
        overflow_x="auto",
        opacity=rx.cond(busy, "0.6", "1"),
        transition="opacity 0.15s ease",
    )


# The row-actions column's name, for screen readers only (the template's sr-only header).
ACTIONS_COLUMN = "Actions"
_VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "overflow": "hidden",
    "clip": "rect(0, 0, 0, 0)",
    "white_space": "nowrap",
}


def column_header(name: str) -> rx.Component:
    if name == ACTIONS_COLUMN:
        return rx.table.column_header_cell(rx.el.span(name, style=_VISUALLY_HIDDEN))
    return rx.table.column_header_cell(name)


def paged_table(
    state: type[PagedTable],
    columns: Sequence[str],
    rows: rx.Var[list[Any]] | list[Any],
    render_row: Callable[[Any], rx.Component],
) -> rx.Component:
    """A table of `rows` (skeleton rows until the first page arrives) and its pager."""
    return rx.vstack(
        table_card(
            rx.table.root(
                rx.table.header(rx.table.row(*(column_header(name) for name in columns))),
                rx.table.body(
                    rx.cond(
                        state.loaded,
                        rx.foreach(rows, render_row),
                        rx.fragment(*skeleton_rows(len(columns))),
                    )
                ),
                variant="surface",
                size="2",
                width="100%",
            ),
            busy=state.loading,
        ),
        pagination_bar(state, state.load_page, state.change_page_size),
        spacing="4",
        width="100%",
    )
