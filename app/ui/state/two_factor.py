"""The Two-factor tab of User Settings: set up (QR code, confirm), recovery codes shown
once, and turning it off."""

import base64

import reflex as rx

from app.db import session_scope
from app.services import messages, two_factor
from app.ui.state.auth import AuthState, SignedInUser
from app.ui.state.event import event
from app.ui.state.failures import Events, reports_failures, success_toast

TAB = "two-factor"
TWO_FACTOR_ENABLED = "Two-factor authentication turned on"
CODE_REQUIRED = "Code is required"
PASSWORD_REQUIRED = "Password is required"


class TwoFactorState(AuthState):
    # The secret being set up, to type in by hand, and its QR code as an image source.
    secret: str = ""
    qr_src: str = ""
    # Shown once, right after two-factor is turned on.
    recovery_codes: list[str] = []
    code_error: str = ""
    password_error: str = ""
    busy: bool = False

    @rx.var
    def showing_codes(self) -> bool:
        return bool(self.recovery_codes)

    @rx.var
    def recovery_text(self) -> str:
        """The codes as the copy button puts them on the clipboard, one a line."""
        return "\n".join(self.recovery_codes)

    @event
    @reports_failures(busy="busy")
    async def begin_setup(self) -> None:
        user = await self._current_user()
        async with session_scope() as session:
            setup = await two_factor.begin_setup(session, user)
        self.secret = setup.secret
        encoded = base64.b64encode(setup.qr_svg.encode()).decode("ascii")
        self.qr_src = f"data:image/svg+xml;base64,{encoded}"
        self.code_error = ""

    @event
    def cancel_setup(self) -> None:
        self.secret = self.qr_src = self.code_error = ""

    @event
    @reports_failures(busy="busy")
    async def confirm_setup(self, form: dict[str, str]) -> Events:
        code = form.get("code", "").strip()
        self.code_error = "" if code else CODE_REQUIRED
        if not code:
            return None
        user = await self._current_user()
        async with session_scope() as session:
            self.recovery_codes = await two_factor.confirm_setup(session, user, code)
            self.user = SignedInUser.of(user)
        self.secret = self.qr_src = ""
        return success_toast(TWO_FACTOR_ENABLED)

    @event
    def hide_recovery_codes(self) -> None:
        self.recovery_codes = []

    @event
    @reports_failures(busy="busy")
    async def disable(self, form: dict[str, str]) -> Events:
        password, code = form.get("password", ""), form.get("code", "").strip()
        self.password_error = "" if password else PASSWORD_REQUIRED
        self.code_error = "" if code else CODE_REQUIRED
        if self.password_error or self.code_error:
            return None
        user = await self._current_user()
        async with session_scope() as session:
            await two_factor.disable(session, user, password, code)
            self.user = SignedInUser.of(user)
        return [
            success_toast(messages.TWO_FACTOR_DISABLED),
            *(
                rx.set_value(field, "")
                for field in ("two-factor-off-password", "two-factor-off-code")
            ),
        ]
