"""Which password fields currently show their text (the eye toggle)."""

import reflex as rx

from app.ui.state.event import event

# Every password field with an eye toggle, by element id. The toggle takes only these,
# so what a client sends cannot make the state grow.
PASSWORD_FIELD_IDS = frozenset(
    {
        "password",
        "confirm_password",
        "new_password",
        "current-password",
        "new-password",
        "confirm-password",
        "user-password",
        "user-confirm-password",
    }
)


class PasswordVisibilityState(rx.State):
    shown: list[str] = []

    @event
    def toggle(self, field_id: str) -> None:
        if field_id in self.shown:
            self.shown = [other for other in self.shown if other != field_id]
        elif field_id in PASSWORD_FIELD_IDS:
            self.shown = [*self.shown, field_id]
