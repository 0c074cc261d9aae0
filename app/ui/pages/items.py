"""`/items`: the user's items, a page at a time, with search and add / edit / delete."""

import reflex as rx

from app.ui.components.layout import PRIVATE_PAGE, page_title
from app.ui.state.items import ItemsState
from app.ui.table.page import entity_page


@rx.page(
    route="/items",
    title=page_title("Items"),
    description="Create and manage your items.",
    meta=PRIVATE_PAGE,
    on_load=ItemsState.open_page,
)
def items() -> rx.Component:
    return entity_page(ItemsState, icon="briefcase")
