"""The add / edit / delete dialogs of a table's rows: which one is open, for which row."""

from typing import TYPE_CHECKING, Any

import reflex as rx

from app.ui.state.event import event


class RowDialogs(rx.State, mixin=True):
    """Opening and closing a table's three dialogs; the table's state does the saving.

    Each state says which row an id names (`_row`) and which form messages a dialog
    starts without (`_clear_errors`), and declares `selected`, the row the edit or
    delete dialog is about.
    """

    add_open: bool = False
    edit_open: bool = False
    delete_open: bool = False
    # True while the open dialog's request runs.
    saving: bool = False

    if TYPE_CHECKING:
        selected: Any

    def _row(self, row_id: int) -> Any:
        raise NotImplementedError

    def _clear_errors(self) -> None:
        raise NotImplementedError

    @event
    def set_add_open(self, is_open: bool) -> None:
        self._clear_errors()
        self.add_open = is_open

    @event
    def open_edit(self, row_id: int) -> None:
        self._clear_errors()
        self.selected, self.edit_open = self._row(row_id), True

    @event
    def set_edit_open(self, is_open: bool) -> None:
        self._clear_errors()
        self.edit_open = is_open

    @event
    def open_delete(self, row_id: int) -> None:
        self.selected, self.delete_open = self._row(row_id), True

    @event
    def set_delete_open(self, is_open: bool) -> None:
        self.delete_open = is_open
