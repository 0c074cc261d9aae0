"""What stands between a browser tab's websocket and the UI states.

- `SessionGuard` (a Reflex middleware, run under the tab's state lock before each
  event): what a tab's states read for one user is sent to nobody else. On (re)connect,
  the tab presents its stored token; unless it is the one the states were read with
  and still speaks for the same user, they are reset before the hydrate sends them. A
  token changed by another tab of the browser (log out, log in; the token is a synced
  localStorage var) resets them too, and the tab loads its page again.
- `CheckedEventNamespace`: an event naming no handler is dropped before Reflex queues
  it (Reflex would log each one whole, with a traceback), and said once per connection.
"""

import logging
from typing import Any

from reflex.app import App, EventNamespace
from reflex.middleware.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.event import Event
from reflex_base.event.context import EventContext
from reflex_base.registry import RegistrationContext

from app.ui.state.auth import AuthState
from app.ui.state.live import live_tables

logger = logging.getLogger(__name__)

# The events that carry the browser's stored values (localStorage) to the states.
HYDRATE_EVENTS = frozenset({"hydrate", "hydrate_and_load"})
STORAGE_EVENT = "update_vars_internal"


def presented_token(event: Event) -> str | None:
    """The access token an event brings from the browser's storage; None if it brings none."""
    values = event.payload.get("vars")
    if not isinstance(values, dict):
        return None
    for name, value in values.items():
        state_name, _, var_name = str(name).rpartition(".")
        if state_name == AuthState.get_full_name() and (
            var_name.removesuffix(FIELD_MARKER) == "access_token"
        ):
            return value if isinstance(value, str) else ""
    return None


class SessionGuard(Middleware):
    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        kind = event.name.rpartition(".")[2]
        if kind in HYDRATE_EVENTS:
            auth = await state.get_state(AuthState)
            assert isinstance(auth, AuthState)
            # `hydrate` (no values) presents no token at all: nothing is kept.
            if not await auth._keeps_session(presented_token(event) or ""):
                await auth._forget_user_data()
        elif kind == STORAGE_EVENT:
            token = presented_token(event)
            auth = await state.get_state(AuthState)
            assert isinstance(auth, AuthState)
            if token is not None and token != auth.access_token:
                await auth._forget_user_data()
                await EventContext.get().enqueue(
                    Event(name=f"{AuthState.get_full_name()}.session_changed")
                )
        return None


def short(value: Any, length: int = 80) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:length]) + ("…" if len(text) > length else "")


class CheckedEventNamespace(EventNamespace):
    """Reflex's event namespace, refusing events that name no registered handler."""

    def __init__(self, namespace: str, app: App) -> None:
        super().__init__(namespace, app)
        # Connections already told about: one line each, however many they send.
        self._refusals_logged: set[str] = set()

    async def on_event(self, sid: str, data: Any) -> None:
        name = data.get("name") if isinstance(data, dict) else None
        payload = data.get("payload", {}) if isinstance(data, dict) else None
        handlers = RegistrationContext.get().event_handlers
        if isinstance(name, str) and name in handlers and isinstance(payload, dict):
            await super().on_event(sid, data)
            return
        if sid not in self._refusals_logged:
            self._refusals_logged.add(sid)
            logger.warning(
                "Dropped an event naming no handler (%s) from UI session %s; "
                "any more from it are dropped silently",
                short(name),
                sid,
            )

    def on_disconnect(self, sid: str) -> Any:
        self._refusals_logged.discard(sid)
        token = self.sid_to_token.get(sid)
        if token is not None:
            # A closed tab keeps nothing in the live-table registry.
            live_tables.forget(token)
        return super().on_disconnect(sid)


def install(app: App) -> None:
    app.add_middleware(SessionGuard(), index=0)
    if app.sio is not None and app.event_namespace is not None:
        namespace = CheckedEventNamespace(app.event_namespace.namespace, app)
        app.sio.register_namespace(namespace)
        # Reflex keeps its own reference, which the event processor is given at startup.
        app._event_namespace = namespace
