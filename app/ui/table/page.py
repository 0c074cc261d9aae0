"""The page of an entity's table, drawn from its state's declaration (table/entity.py):
a heading with "Add", the search box, the table (or why it is empty) and the dialogs.

A page module is then a route and an icon:

    @rx.page(route="/items", title=page_title("Items"), on_load=ItemsState.open_page)
    def items() -> rx.Component:
        return entity_page(ItemsState, icon="briefcase")
"""

from typing import cast

import reflex as rx

from app.models import TEXT_MAX_LENGTH
from app.ui.components.dialogs import row_dialogs
from app.ui.components.forms import labelled, text_input
from app.ui.components.layout import app_shell, page_heading
from app.ui.components.row_actions import row_actions
from app.ui.components.table import ACTIONS_COLUMN, empty_state, paged_table, search_box
from app.ui.table.entity import TICKED, EntityRow, EntityTable, Field

# What each kind of field is typed into.
# Whole numbers step by one; other numbers take any decimals.
_NUMBER_STEPS = {"int": {"step": "1"}, "float": {"step": "any"}}
_INPUT_TYPES = {"int": "number", "float": "number", "date": "date", "datetime": "datetime-local"}


def _id_cell(row_id: rx.Var[str]) -> rx.Component:
    return rx.table.cell(
        rx.hstack(
            rx.code(row_id, variant="ghost", color_scheme="gray", size="2"),
            rx.icon_button(
                rx.icon("copy", size=14),
                variant="ghost",
                color_scheme="gray",
                size="1",
                aria_label="Copy ID",
                on_click=[
                    rx.set_clipboard(row_id),
                    rx.toast.success("Copied to clipboard", duration=2000),
                ],
            ),
            align="center",
            spacing="2",
        ),
        white_space="nowrap",
    )


def _value_cell(field: Field, value: rx.Var[str], first: bool) -> rx.Component:
    if field.kind == "bool":
        shown: rx.Component = rx.text(rx.cond(value == TICKED, "Yes", "No"), color_scheme="gray")
    elif first:
        shown = rx.text(value, weight="medium")
    else:
        shown = rx.text(value, color_scheme="gray")
    if not field.required and field.kind != "bool":
        missing = rx.text(f"No {field.label.lower()}", color_scheme="gray", font_style="italic")
        shown = rx.cond(value != "", shown, missing)
    return rx.table.cell(shown, max_width="16rem" if first else "28rem")


def _table_row(state: type[EntityTable], row: EntityRow) -> rx.Component:
    entity = state._entity
    # `row` is the foreach's Var: its values are Vars too.
    values = cast(rx.Var[dict[str, str]], row.cells)
    return rx.table.row(
        _id_cell(rx.Var.create(row.id).to_string()),
        *(
            _value_cell(field, values[field.name].to(str), index == 0)  # type: ignore[index]
            for index, field in enumerate(entity.fields)
        ),
        rx.table.cell(
            row_actions(
                f"{entity.singular} actions",
                [
                    (f"Edit {entity.singular}", "pencil", state.open_edit(row.id), "gray"),
                    (f"Delete {entity.singular}", "trash-2", state.open_delete(row.id), "red"),
                ],
            ),
            text_align="right",
            width="48px",
        ),
        align="center",
    )


def _input(
    state: type[EntityTable], field: Field, field_id: str, value: rx.Var[str] | str
) -> rx.Component:
    if field.kind == "bool":
        return rx.checkbox(
            name=field.name,
            id=field_id,
            aria_label=field.label,
            value=TICKED,
            default_checked=rx.Var.create(value).to(str) == TICKED,
        )
    if field.kind == "text":
        return rx.text_area(
            name=field.name,
            id=field_id,
            placeholder=field.label,
            required=field.required,
            default_value=value,
            max_length=10_000,
            on_blur=lambda text: state.check_field(field.name, text),
        )
    return text_input(
        name=field.name,
        field_id=field_id,
        placeholder=field.label,
        type=_INPUT_TYPES.get(field.kind, "text"),  # type: ignore[arg-type]
        required=field.required,
        default_value=value,
        max_length=TEXT_MAX_LENGTH,
        on_blur=lambda text: state.check_field(field.name, text),
        **(
            {"step": "1" if field.kind == "int" else "any"}
            if field.kind in ("int", "float")
            else {}
        ),
    )


def _form_fields(state: type[EntityTable], editing: bool) -> list[rx.Component]:
    entity = state._entity
    fields = []
    for field in entity.fields:
        # "item-title": the entity's kind and the field's name, in the page's style.
        field_id = f"{entity.rules.kind}-{field.name}".replace("_", "-")
        selected = cast(rx.Var[dict[str, str]], state.selected.cells)
        value = selected[field.name].to(str) if editing else ""  # type: ignore[index]
        fields.append(
            labelled(
                field.label,
                _input(state, field, field_id, value),
                field_id,
                cast(rx.Var[str], state.field_errors.get(field.name, "")),
            )
        )
    return fields


def entity_page(state: type[EntityTable], *, icon: str) -> rx.Component:
    entity = state._entity
    one, many = entity.singular, entity.plural
    owned = entity.rules.owned
    no_results = state.loaded & (state.total == 0)
    searching = state.search != ""
    columns = ("ID", *(field.label for field in entity.fields), ACTIONS_COLUMN)
    return app_shell(
        page_heading(
            many,
            f"Create and manage your {many.lower()}"
            if owned
            else f"Create and manage {many.lower()}",
            rx.button(rx.icon("plus", size=16), f"Add {one}", on_click=state.set_add_open(True)),
        ),
        search_box(state.search, state.search_rows, f"Search {many.lower()}"),
        rx.cond(
            no_results,
            rx.cond(
                searching,
                empty_state(
                    "search-x", f"No {many.lower()} found", f"No {one.lower()} matches your search"
                ),
                empty_state(
                    icon,
                    f"You don't have any {many.lower()} yet"
                    if owned
                    else f"There are no {many.lower()} yet",
                    f"Add a new {one.lower()} to get started",
                ),
            ),
            paged_table(state, columns, state.rows, lambda row: _table_row(state, row)),
        ),
        row_dialogs(
            state,
            one,
            add_description=f"Fill in the details to add a new {one.lower()}.",
            delete_description=(
                f"This {one.lower()} will be permanently deleted. Are you sure? "
                "You will not be able to undo this action."
            ),
            fields=lambda editing: _form_fields(state, editing),
            create=state.create,
            update=state.update,
            delete=state.delete,
        ),
    )
