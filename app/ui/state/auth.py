"""The browser session: the stored access token and who it speaks for."""

import dataclasses
import logging

import reflex as rx
from reflex.event import EventSpec

from app.db import DATABASE_UNAVAILABLE_ERRORS, session_scope
from app.models import User
from app.services import auth, verification
from app.services.errors import DomainError, Forbidden
from app.services.sessions import Caller
from app.ui.session_watch import session_tabs
from app.ui.state.event import event
from app.ui.state.failures import (
    HOME_ROUTE,
    LOGIN_ROUTE,
    AccessDenied,
    Events,
    SessionExpired,
    reports_failures,
)


@dataclasses.dataclass
class SignedInUser:
    """What the layout shows about the current user; never the ORM row itself."""

    id: int = 0
    email: str = ""
    full_name: str = ""
    is_superuser: bool = False
    display_name: str = ""
    initials: str = ""
    email_verified: bool = False
    # The address the user asked to move to, until they follow the link mailed there.
    pending_email: str = ""
    two_factor_enabled: bool = False
    # Held to verifying the address before anything else (REQUIRE_EMAIL_VERIFICATION):
    # the layout then shows the banner.
    must_verify: bool = False

    @classmethod
    def of(cls, user: User) -> "SignedInUser":
        assert user.id is not None
        full_name = user.full_name or ""
        return cls(
            id=user.id,
            email=user.email,
            full_name=full_name,
            is_superuser=user.is_superuser,
            display_name=full_name or user.email,
            initials=initials(full_name, user.email),
            email_verified=user.email_verified,
            pending_email=user.pending_email or "",
            two_factor_enabled=user.two_factor_enabled,
            must_verify=verification.must_verify(user),
        )


logger = logging.getLogger(__name__)


async def caller_of(token: str) -> Caller:
    """Who a stored token speaks for (the API's own lookup); a dead one ends the UI's
    session."""
    try:
        return await auth.caller_from_access_token(token)
    except DomainError:
        raise SessionExpired() from None


def initials(full_name: str, email: str) -> str:
    """Up to two letters for the avatar: the name's, else the email's first one. The
    template falls back to "User", so every nameless account wore the same "U"."""
    words = full_name.split() or [email]
    return "".join(word[0] for word in words[:2] if word).upper()


class AuthState(rx.State):
    """Base of every UI state: handlers resolve the user from the token each time."""

    # Same key as the template's SPA, so the token also works against /api/v1.
    # Synced: a log out (or in) in one tab reaches this browser's other tabs, whose
    # states then forget what they read (see app/ui/guards.py).
    access_token: str = rx.LocalStorage(name="access_token", sync=True)
    # OWASP's device cookie: sent with this browser's logins, so that nobody else's
    # failures can lock its owner out (app/services/rate_limits.py). Kept after logout.
    device_token: str = rx.LocalStorage(name="device_token")
    user: SignedInUser = SignedInUser()
    # The socket.io connection that presented `access_token` (app/ui/guards.py): events
    # from any other connection must present it first.
    _bound_sid: str = ""

    @rx.var
    def signed_in(self) -> bool:
        return self.user.id > 0

    async def _current_caller(self, *, unverified: bool = False) -> Caller:
        """The user the stored token speaks for, and its session, through the API's own
        code path. The tab is then told at once when that session ends anywhere.

        Under REQUIRE_EMAIL_VERIFICATION an unverified user is refused (back to the
        dashboard and its banner) unless the handler passes `unverified`: those that
        show the account, verify, resend, log out or delete it, as the API's routes do.
        """
        if not self.access_token:
            raise SessionExpired()
        return self._take_caller(await caller_of(self.access_token), unverified=unverified)

    def _take_caller(self, caller: Caller, *, unverified: bool = False) -> Caller:
        """Show `caller` (looked up from this tab's token) as the signed-in user, or
        refuse them as `_current_caller` says."""
        user = SignedInUser.of(caller.user)
        if user != self.user:
            # Only a change is sent: most events leave the user as it was.
            self.user = user
        session_tabs.watch(self.router.session.client_token, user.id)
        if not unverified:
            try:
                verification.require_verified(caller.user)
            except Forbidden as error:
                raise AccessDenied(error.detail) from None
        return caller

    async def _current_user(self, *, unverified: bool = False) -> User:
        return (await self._current_caller(unverified=unverified)).user

    async def _current_superuser(self) -> User:
        user = await self._current_user()
        try:
            return auth.require_superuser(user)
        except Forbidden as error:
            raise AccessDenied(error.detail) from None

    def _client_address(self) -> str:
        """The websocket's peer, or the X-Forwarded-For entry of the last trusted proxy."""
        return self.router.session.client_ip

    def _start_session(self, token: str) -> None:
        self.access_token = token

    async def _forget_session(self) -> list[EventSpec]:
        """Drop the token and everything read with it; the events returned remove the
        token from the browser too.

        Only when there was one: removing a localStorage key makes Reflex hydrate the
        page again, and its on_load must then find nothing left to remove (not even a
        var set to "" again, which would write the key back as an empty string).
        """
        await self._forget_user_data()
        session_tabs.forget(self.router.session.client_token)
        if not self.access_token:
            return []
        self.access_token = ""
        return [rx.remove_local_storage("access_token")]

    async def _forget_user_data(self) -> None:
        """Reset every state that holds what a user read (rows, dialogs, drafts), not
        only the states this tab happened to load: the next hydrate sends them all,
        to whoever uses the tab next. The token itself is left to the caller."""
        root = await self.get_state(AuthState)
        for state_class in user_data_states():
            await root.get_state(state_class)
        for substate in root.substates.values():
            substate.reset()  # type: ignore[no-untyped-call]
        root.user = SignedInUser()

    async def _keeps_session(self, presented: str) -> bool:
        """Whether what this tab holds may be shown to a client presenting `presented`:
        the same token as the one it was read with, still speaking for the same user."""
        if not self.user.id:
            # Nothing is read before the user is resolved: there is nothing to keep.
            return True
        if presented != self.access_token:
            return False
        try:
            user = await auth.user_from_access_token(presented)
        except (DomainError, *DATABASE_UNAVAILABLE_ERRORS):
            # Unverifiable is not verified: the tab starts over, its pages read again.
            return False
        return user.id == self.user.id

    @event
    def session_changed(self) -> EventSpec:
        """Another tab of this browser logged in or out: this one follows by loading
        its page again with the stored token (a private page then sends a tab that has
        none to the login page)."""
        return rx.call_script("window.location.reload()")

    @event
    @reports_failures()
    async def check_login(self) -> None:
        """on_load of the signed-in pages that load nothing else (the dashboard)."""
        await self._current_user(unverified=True)

    async def _visitor_session(self) -> tuple[bool, list[EventSpec]]:
        """On a public page: whether the stored token works, and events dropping a dead one."""
        if not self.access_token:
            return False, []
        try:
            await self._current_user(unverified=True)
        except SessionExpired:
            return False, await self._forget_session()
        return True, []

    @event
    @reports_failures()
    async def redirect_if_signed_in(self) -> Events:
        """on_load of the public pages: a live session goes home, a dead token is dropped."""
        live, events = await self._visitor_session()
        return rx.redirect(HOME_ROUTE, replace=True) if live else events

    @event
    @reports_failures()
    async def check_session(self) -> None:
        """Queued by the server when one of the user's sessions ended somewhere: if it
        was this tab's, the tab forgets everything and goes to the login page."""
        if self.user.id:
            await self._current_user(unverified=True)

    @event
    async def log_out(self) -> list[EventSpec]:
        """End the session on the server (the API's logout), then forget it here; the
        tab is signed out even when the server cannot be told."""
        if self.access_token:
            try:
                caller = await auth.caller_from_access_token(self.access_token)
                async with session_scope() as session:
                    await auth.logout(session, caller)
            except (DomainError, *DATABASE_UNAVAILABLE_ERRORS) as error:
                logger.info("Logout could not end the session on the server: %s", error)
        return [*await self._forget_session(), rx.redirect(LOGIN_ROUTE)]


def user_data_states() -> list[type[rx.State]]:
    """Every state below AuthState, at any depth: each may hold what a user read."""
    found: list[type[rx.State]] = []
    pending: list[type[rx.State]] = [AuthState]
    while pending:
        substates = [s for s in pending.pop().get_substates() if issubclass(s, rx.State)]
        found.extend(substates)
        pending.extend(substates)
    return found
