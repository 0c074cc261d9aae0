"""`/items`: the user's items, a page at a time, with search and add / edit / delete."""

import reflex as rx

from app.ui.components.dialogs import row_dialogs
from app.ui.components.forms import labelled, text_input
from app.ui.components.layout import PRIVATE_PAGE, app_shell, page_heading, page_title
from app.ui.components.row_actions import row_actions
from app.ui.components.table import ACTIONS_COLUMN, empty_state, paged_table, search_box
from app.ui.state.items import ItemRow, ItemsState

COLUMNS = ("ID", "Title", "Description", ACTIONS_COLUMN)


def item_row(item: ItemRow) -> rx.Component:
    item_id = rx.Var.create(item.id).to_string()
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.code(item_id, variant="ghost", color_scheme="gray", size="2"),
                rx.icon_button(
                    rx.icon("copy", size=14),
                    variant="ghost",
                    color_scheme="gray",
                    size="1",
                    aria_label="Copy ID",
                    on_click=[
                        rx.set_clipboard(item_id),
                        rx.toast.success("Copied to clipboard", duration=2000),
                    ],
                ),
                align="center",
                spacing="2",
            ),
            white_space="nowrap",
        ),
        rx.table.cell(rx.text(item.title, weight="medium"), max_width="16rem"),
        rx.table.cell(
            rx.cond(
                item.description != "",
                rx.text(item.description, color_scheme="gray"),
                rx.text("No description", color_scheme="gray", font_style="italic"),
            ),
            max_width="28rem",
        ),
        rx.table.cell(
            row_actions(
                "Item actions",
                [
                    ("Edit Item", "pencil", ItemsState.open_edit(item.id), "gray"),
                    ("Delete Item", "trash-2", ItemsState.open_delete(item.id), "red"),
                ],
            ),
            text_align="right",
            width="48px",
        ),
        align="center",
    )


def item_fields(editing: bool) -> list[rx.Component]:
    title = ItemsState.selected.title if editing else ""
    description = ItemsState.selected.description if editing else ""
    return [
        labelled(
            "Title",
            text_input(
                name="title",
                field_id="item-title",
                placeholder="Title",
                required=True,
                default_value=title,
                on_blur=ItemsState.check_title,
            ),
            "item-title",
            ItemsState.title_error,
        ),
        labelled(
            "Description",
            text_input(
                name="description",
                field_id="item-description",
                placeholder="Description",
                default_value=description,
            ),
            "item-description",
        ),
    ]


def dialogs() -> rx.Component:
    return row_dialogs(
        ItemsState,
        "Item",
        add_description="Fill in the details to add a new item.",
        delete_description=(
            "This item will be permanently deleted. Are you sure? "
            "You will not be able to undo this action."
        ),
        fields=item_fields,
        create=ItemsState.create,
        update=ItemsState.update,
        delete=ItemsState.delete,
    )


@rx.page(
    route="/items",
    title=page_title("Items"),
    description="Create and manage your items.",
    meta=PRIVATE_PAGE,
    on_load=ItemsState.open_page,
)
def items() -> rx.Component:
    no_results = ItemsState.loaded & (ItemsState.total == 0)
    searching = ItemsState.search != ""
    return app_shell(
        page_heading(
            "Items",
            "Create and manage your items",
            rx.button(
                rx.icon("plus", size=16),
                "Add Item",
                on_click=ItemsState.set_add_open(True),
            ),
        ),
        search_box(ItemsState.search, ItemsState.search_rows, "Search items"),
        rx.cond(
            no_results,
            rx.cond(
                searching,
                empty_state("search-x", "No items found", "No item matches your search"),
                empty_state(
                    "briefcase", "You don't have any items yet", "Add a new item to get started"
                ),
            ),
            paged_table(ItemsState, COLUMNS, ItemsState.items, item_row),
        ),
        dialogs(),
    )
