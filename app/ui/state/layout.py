"""How the signed-in layout is arranged: the sidebar collapsed to icons or not."""

import reflex as rx

from app.ui.state.event import event


class LayoutState(rx.State):
    # Kept in the browser so the choice survives reloads; "1" means collapsed.
    sidebar_flag: str = rx.LocalStorage("", name="sidebar_collapsed")

    @rx.var
    def sidebar_collapsed(self) -> bool:
        return self.sidebar_flag == "1"

    @event
    def toggle_sidebar(self) -> None:
        self.sidebar_flag = "" if self.sidebar_flag == "1" else "1"

    drawer_open: bool = False

    @event
    def set_drawer_open(self, is_open: bool) -> None:
        self.drawer_open = is_open
