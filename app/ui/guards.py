"""What stands between a browser tab's websocket and the UI states.

- `SessionGuard` (a Reflex middleware, run under the tab's state lock before each
  event): what a tab's states read for one user is sent to nobody else. On (re)connect,
  the tab presents its stored token; unless it is the one the states were read with
  and still speaks for the same user, they are reset before the hydrate sends them. A
  token changed by another tab of the browser (log out, log in; the token is a synced
  localStorage var) resets them too, and the tab loads its page again.
- `CheckedEventNamespace`: an event naming no handler is dropped before Reflex queues
  it (Reflex would log each one whole, with a traceback), and said once per connection.
  It also tells app/ui/tab_states.py which tabs connect, from where, and when they act.
"""

import contextlib
import dataclasses
import inspect
import logging
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import reflex as rx
from reflex.app import App, EventNamespace
from reflex.istate.manager.redis import StateManagerRedis
from reflex.middleware.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base import constants
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.event import Event
from reflex_base.event.context import EventContext
from reflex_base.registry import RegistrationContext
from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY

from app.db.changes import notices
from app.ui.session_watch import session_tabs
from app.ui.state.auth import AuthState
from app.ui.state_store import TOAST_ID, state_store
from app.ui.tab_states import TabStore, sweep_anonymous_states, tab_states
from app.ui.table.live import live_tables

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


def connection_of(event: Event) -> str | None:
    """The socket.io connection an event came in on; None for one the server queued.

    Reflex writes it into every client event's router data from the connection itself
    (EventNamespace.on_event), over whatever the client sent, so it cannot be forged.
    """
    sid = event.router_data.get(constants.RouteVar.SESSION_ID)
    return sid if isinstance(sid, str) and sid else None


class SessionGuard(Middleware):
    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        kind = event.name.rpartition(".")[2]
        sid = connection_of(event)
        auth = await state.get_state(AuthState)
        assert isinstance(auth, AuthState)
        if kind in HYDRATE_EVENTS:
            # `hydrate` (no values) presents no token at all: nothing is kept.
            if not await auth._keeps_session(presented_token(event) or ""):
                await auth._forget_user_data()
            auth._bound_sid = sid or ""
        elif kind == STORAGE_EVENT:
            token = presented_token(event)
            if token is not None and token != auth.access_token:
                await auth._forget_user_data()
                await EventContext.get().enqueue(
                    Event(name=f"{AuthState.get_full_name()}.session_changed")
                )
        elif sid is not None and sid != auth._bound_sid:
            # A connection that skipped the hydrate (Reflex's frontend sends one first
            # on every connect) presented no token: a client replaying a closed tab's
            # client token gets a tab with nothing in it, and no token to act with.
            logger.warning("An event came before its connection's hydrate; tab state reset")
            await auth._forget_user_data()
            auth.access_token = ""
            # Bound now to a tab with no token: its next events act for nobody, and are
            # not worth another line each.
            auth._bound_sid = sid
        return None


@dataclasses.dataclass(frozen=True)
class Parameters:
    """What one of the app's handlers takes: its argument names, those it needs, the
    plain type (str, int, float, bool, dict, list) each is declared with, if any, and
    which are forms (`dict[str, str]`)."""

    names: frozenset[str]
    required: frozenset[str]
    types: dict[str, type]
    forms: frozenset[str] = frozenset()

    @classmethod
    def of(cls, handler: Callable[..., Any]) -> "Parameters":
        function = inspect.unwrap(handler)
        signature = inspect.signature(function)
        # The first parameter is the state itself.
        parameters = list(signature.parameters.values())[1:]
        hints = typing.get_type_hints(function)
        types: dict[str, type] = {}
        forms: set[str] = set()
        for parameter in parameters:
            hint = hints.get(parameter.name)
            plain = typing.get_origin(hint) or hint
            if plain in PLAIN_TYPES:
                types[parameter.name] = plain
            if hint == dict[str, str]:
                forms.add(parameter.name)
        return cls(
            names=frozenset(parameter.name for parameter in parameters),
            required=frozenset(
                parameter.name for parameter in parameters if parameter.default is parameter.empty
            ),
            types=types,
            forms=frozenset(forms),
        )

    def problem(self, payload: dict[str, Any]) -> str | None:
        """Why `payload` cannot be this handler's arguments, or None."""
        if unknown := payload.keys() - self.names:
            return f"takes no {short(sorted(unknown)[0])}"
        if missing := self.required - payload.keys():
            return f"needs {sorted(missing)[0]}"
        for name, value in payload.items():
            expected = self.types.get(name)
            if expected is None or isinstance(value, expected):
                continue
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                continue
            return f"{name} is no {expected.__name__}"
        return None

    def conformed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """`payload` with only the text values of each form. A browser's form sends text
        by field name (and, for a checkbox with an id, a bool by id, which no handler
        reads); a value of another type under a field's name comes from a client's own
        event, and is dropped here so the handler finds the field empty and says so in
        the field's own words ("Invalid email address"), not in a bug report."""
        if not self.forms:
            return payload
        return {
            name: form_texts(value) if name in self.forms else value
            for name, value in payload.items()
        }


def form_texts(form: dict[str, Any]) -> dict[str, Any]:
    """A form's text fields, in either of the shapes Reflex's client sends: a plain
    object, or its ordered `[name, value]` entries under FORM_DATA_ENTRIES_KEY."""
    if FORM_DATA_ENTRIES_KEY not in form:
        return {name: value for name, value in form.items() if isinstance(value, str)}
    entries = form[FORM_DATA_ENTRIES_KEY]
    return {
        FORM_DATA_ENTRIES_KEY: [
            entry
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, list)
            and len(entry) == 2
            and all(isinstance(part, str) for part in entry)
        ]
    }


# Types a handler's argument can be checked against before the handler runs; JSON gives
# nothing else. (A bool is an int to Python, as a handler taking int would accept it.)
PLAIN_TYPES = (str, int, float, bool, dict, list)


def short(value: Any, length: int = 80) -> str:
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:length]) + ("…" if len(text) > length else "")


class CheckedEventNamespace(EventNamespace):
    """Reflex's event namespace, refusing events that name no registered handler."""

    def __init__(self, namespace: str, app: App) -> None:
        super().__init__(namespace, app)
        # Connections already told about: one line each, however many they send.
        self._refusals_logged: set[str] = set()
        # The app's handlers' parameters, by event name, read once each.
        self._parameters: dict[str, Parameters | None] = {}

    def _parameters_of(self, name: str, registered: Any) -> Parameters | None:
        """What the handler takes; None for Reflex's own handlers (hydrate, setvar...),
        which check their arguments themselves."""
        if name not in self._parameters:
            function = registered.handler.fn
            own = inspect.unwrap(function).__module__.startswith("app.")
            self._parameters[name] = Parameters.of(function) if own else None
        return self._parameters[name]

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await super().on_connect(sid, environ, auth)
        token = self.sid_to_token.get(sid)
        connection = self._static_router_data.get(sid)
        if token is not None and connection is not None:
            # After Reflex's own connect: a duplicated tab has been given its new token.
            await tab_states.connected(token, sid, connection[constants.RouteVar.CLIENT_IP])

    async def close_transport(self, sid: str) -> None:
        """Close a connection as a network failure would: the browser reconnects and
        hydrates again (after a socket.io disconnect it would stay disconnected)."""
        assert self.server is not None
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        socket = self.server.eio.sockets.get(eio_sid) if eio_sid is not None else None
        if socket is None:
            return
        # engine.io's own disconnect sends a close packet and leaves the websocket open
        # (its writer waits for more packets) until the client's next packet or a ping
        # timeout; the browser never reconnected in between. Closed here without one,
        # and the writer woken (None) so that it closes the websocket at once.
        await socket.close(wait=False, abort=True)
        socket.queue.put_nowait(None)

    async def bring_back(self, token: str) -> None:
        """After a state store outage: the tab's toast goes, and it hydrates again."""
        sid = self.token_to_sid.get(token)
        if sid is None:
            return
        dismiss = StateUpdate(events=Event.from_event_type(rx.toast.dismiss(TOAST_ID)))
        await self.emit_update(dismiss, token)
        await self.close_transport(sid)

    async def on_event(self, sid: str, data: Any) -> None:
        name = data.get("name") if isinstance(data, dict) else None
        payload = data.get("payload", {}) if isinstance(data, dict) else None
        handlers = RegistrationContext.get().event_handlers
        if not (isinstance(name, str) and name in handlers and isinstance(payload, dict)):
            self._refuse(sid, f"naming no handler ({short(name)})")
            return
        parameters = self._parameters_of(name, handlers[name])
        problem = parameters.problem(payload) if parameters is not None else None
        if problem is not None:
            # Refused here rather than failing in the handler: a client's mistake (or
            # probe) is one short line, not a traceback with its strings in it.
            self._refuse(
                sid, f"its handler cannot take ({short(name.rpartition('.')[2])} {problem})"
            )
            return
        if parameters is not None:
            data = {**data, "payload": parameters.conformed(payload)}
        token = self.sid_to_token.get(sid)
        if token is not None:
            tab_states.active(token)
        await super().on_event(sid, data)

    def _refuse(self, sid: str, why: str) -> None:
        if sid not in self._refusals_logged:
            self._refusals_logged.add(sid)
            logger.warning(
                "Dropped an event %s from UI session %s; any more refused events from it "
                "are dropped silently",
                why,
                sid,
            )

    def on_disconnect(self, sid: str) -> Any:
        self._refusals_logged.discard(sid)
        token = self.sid_to_token.get(sid)
        if token is not None:
            # Before the session registry forgets whether the tab was signed in.
            tab_states.disconnected(token, sid)
            # A closed tab keeps nothing in the live-table and session registries.
            live_tables.forget(token)
            session_tabs.forget(token)
            state_store.forget(token)
        return super().on_disconnect(sid)


def install(app: App) -> None:
    app.add_middleware(SessionGuard(), index=0)
    handler = f"{AuthState.get_full_name()}.check_session"

    async def check_session(token: str) -> Any:
        # Queued like an event from the tab, under its state lock (see live.refresh_by_event).
        return await app.event_processor.enqueue(token, Event(name=handler))

    session_tabs.check = check_session
    app.register_lifespan_task(hear_session_notices)
    app.register_lifespan_task(sweep_anonymous_states)
    if app.sio is not None and app.event_namespace is not None:
        namespace = CheckedEventNamespace(app.event_namespace.namespace, app)
        app.sio.register_namespace(namespace)
        # Reflex keeps its own reference, which the event processor is given at startup.
        app._event_namespace = namespace
        tab_states.close = namespace.close_transport
        state_store.reconnect = namespace.bring_back
    tab_states.store = TabStore(lambda: app.state_manager)

    async def ping_state_store() -> None:
        manager = app.state_manager
        if isinstance(manager, StateManagerRedis):
            # redis-py types its asyncio client's answers as maybe-awaitable.
            await cast("Awaitable[bool]", manager.redis.ping())

    state_store.ping = ping_state_store


@contextlib.asynccontextmanager
async def hear_session_notices() -> AsyncIterator[None]:
    """For the process's life: notices of ended sessions reach the signed-in tabs (the
    subscription itself is live tables': app/ui/table/live.py)."""
    notices.listen(session_tabs.hear)
    try:
        yield
    finally:
        notices.unlisten(session_tabs.hear)
