"""The add / edit / delete dialogs of a table's rows: which one is open, for which row."""

from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.event import EventSpec

from app.ui.state.event import event
from app.ui.state.failures import error_toast

CHANGED_ELSEWHERE = (
    "This row was changed elsewhere after you opened it: saving overwrites that change."
)


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
    # Said in the edit dialog when its row was changed by someone else meanwhile.
    changed_elsewhere: str = ""

    if TYPE_CHECKING:
        selected: Any

    def _row(self, row_id: int) -> Any:
        raise NotImplementedError

    def _clear_errors(self) -> None:
        raise NotImplementedError

    async def _reread_row(self, row_id: int) -> Any | None:
        """The row as the current user may now see it, or None if it is gone for them."""
        raise NotImplementedError

    def _deleted_elsewhere(self) -> str:
        """The toast of a dialog whose row was deleted elsewhere."""
        raise NotImplementedError

    async def _recheck_selected(self) -> EventSpec | None:
        """After the rows were read again (a write elsewhere): an open dialog whose row
        is gone closes with a toast; an edit dialog whose row changed says so, rather
        than let a save overwrite the other change unawares."""
        if not (self.edit_open or self.delete_open):
            return None
        row = self._row(self.selected.id)
        if row.id != self.selected.id:
            # Not on this page (any more): ask for it.
            row = await self._reread_row(self.selected.id)
        if row is None:
            self.edit_open = self.delete_open = False
            self.changed_elsewhere = ""
            return error_toast(self._deleted_elsewhere())
        if self.edit_open and row != self.selected:
            self.changed_elsewhere = CHANGED_ELSEWHERE
        return None

    @event
    def set_add_open(self, is_open: bool) -> None:
        self._clear_errors()
        self.add_open = is_open

    @event
    def open_edit(self, row_id: int) -> None:
        self._clear_errors()
        self.changed_elsewhere = ""
        self.selected, self.edit_open = self._row(row_id), True

    @event
    def set_edit_open(self, is_open: bool) -> None:
        self._clear_errors()
        self.changed_elsewhere = ""
        self.edit_open = is_open

    @event
    def open_delete(self, row_id: int) -> None:
        self.selected, self.delete_open = self._row(row_id), True

    @event
    def set_delete_open(self, is_open: bool) -> None:
        self.delete_open = is_open
