"""Which password fields currently show their text (the eye toggle)."""

import reflex as rx

from app.ui.state.event import event


class PasswordVisibilityState(rx.State):
    shown: list[str] = []

    @event
    def toggle(self, field_id: str) -> None:
        if field_id in self.shown:
            self.shown = [other for other in self.shown if other != field_id]
        else:
            self.shown = [*self.shown, field_id]
