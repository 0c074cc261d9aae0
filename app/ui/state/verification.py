"""Email verification in the UI: the page a mailed link opens, and "send it again"."""

import reflex as rx

from app.db import session_scope
from app.services import messages, verification
from app.services.errors import DomainError
from app.ui.state.auth import AuthState
from app.ui.state.event import event
from app.ui.state.failures import LOGIN_ROUTE, Events, reports_failures, success_toast

VERIFY_EMAIL_ROUTE = "/verify-email"


class VerifyEmailState(AuthState):
    """`/verify-email?token=...`: the link is used as the page loads (following it is
    the proof), whether or not this browser is signed in."""

    # "checking", then "verified" or "failed" (with `detail` saying why).
    status: str = "checking"
    detail: str = ""

    @event
    @reports_failures()
    async def open_page(self) -> Events:
        self.status, self.detail = "checking", ""
        token = self.router.url.query_parameters.get("token", "")
        if not token:
            return rx.redirect(LOGIN_ROUTE, replace=True)
        try:
            async with session_scope() as session:
                done = await verification.verify_email(session, token)
        except DomainError as error:
            self.status, self.detail = "failed", error.detail
        else:
            self.status, self.detail = "verified", done
        # A signed-in tab reads its user again (the banner goes); a dead token is dropped.
        _, events = await self._visitor_session()
        return events


class ResendVerificationState(AuthState):
    """The banner's and the profile's "Send a new link"."""

    sending: bool = False

    @event
    @reports_failures(busy="sending")
    async def resend(self) -> Events:
        user = await self._current_user(unverified=True)
        await verification.resend_verification_email(user)
        return success_toast(messages.VERIFICATION_SENT)
