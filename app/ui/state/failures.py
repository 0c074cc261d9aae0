"""How a UI handler's failures reach the user: a toast, or a trip to another page.

Services raise `DomainError`s whose `detail` is the contract's text; the REST API turns
them into status codes, the UI into toasts. A token that stopped working ends the
browser session; an unreachable database is reported and the page stays usable.
"""

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import reflex as rx
from pydantic import ValidationError
from reflex.event import EventSpec

from app.db import DATABASE_UNAVAILABLE_ERRORS
from app.services import messages
from app.services.errors import DomainError
from app.ui.state.event import set_outcome

logger = logging.getLogger(__name__)

# What a UI handler yields: nothing (just send the changed vars), or events.
Events = EventSpec | list[EventSpec] | None

SUCCESS_TITLE = "Success!"
ERROR_TITLE = "Something went wrong!"
DATABASE_UNAVAILABLE = messages.DATABASE_UNAVAILABLE
LOGIN_ROUTE = "/login"
# How a handler's run ended when it failed as expected (app/ui/state/event.py has the rest).
REFUSED = "refused"
SIGNED_OUT = "signed_out"
UNAVAILABLE = "unavailable"
HOME_ROUTE = "/"


class SessionExpired(Exception):
    """The stored token no longer speaks for an active user (bad, expired, revoked)."""


class AccessDenied(Exception):
    """The user is signed in, but the page is not for them (a normal user on /admin)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SessionHolder(Protocol):
    async def _forget_session(self) -> list[EventSpec]: ...


S = TypeVar("S", bound=SessionHolder)
P = ParamSpec("P")
# A UI handler: a coroutine returning its events, or a generator yielding updates.
Handler = Callable[Concatenate[S, P], Awaitable[Events] | AsyncIterator[Events]]
# What Reflex runs in its place: always a generator.
Stream = Callable[Concatenate[S, P], AsyncIterator[Events]]


# What a handler may fail with and still leave the page working; anything else is a bug
# and goes to Reflex's own error handler.
EXPECTED_ERRORS = (
    SessionExpired,
    AccessDenied,
    DomainError,
    ValidationError,
    *DATABASE_UNAVAILABLE_ERRORS,
)


def success_toast(detail: str) -> EventSpec:
    return rx.toast.success(SUCCESS_TITLE, description=detail)


def error_toast(detail: str) -> EventSpec:
    return rx.toast.error(ERROR_TITLE, description=detail)


def validation_detail(error: ValidationError) -> str:
    """The first message, as the template's toasts show a 422's first `msg`."""
    errors = error.errors()
    return str(errors[0]["msg"]) if errors else str(error)


async def failure_events(state: SessionHolder, error: Exception) -> Events:
    """What the browser is told when a handler fails with `error` (and how the handler's
    run ended, for its log line and metrics)."""
    if isinstance(error, SessionExpired):
        set_outcome(SIGNED_OUT)
        return [*await state._forget_session(), rx.redirect(LOGIN_ROUTE, replace=True)]
    if isinstance(error, AccessDenied):
        set_outcome(REFUSED)
        return [error_toast(error.detail), rx.redirect(HOME_ROUTE, replace=True)]
    if isinstance(error, DomainError):
        set_outcome(REFUSED)
        return error_toast(error.detail)
    if isinstance(error, ValidationError):
        set_outcome(REFUSED)
        return error_toast(validation_detail(error))
    if isinstance(error, DATABASE_UNAVAILABLE_ERRORS):
        set_outcome(UNAVAILABLE)
        logger.error("Database error in a UI handler: %s", error)
        return error_toast(DATABASE_UNAVAILABLE)
    raise error


def reports_failures(busy: str | None = None) -> Callable[[Handler[S, P]], Stream[S, P]]:
    """Turn a handler's expected failures into events; flag `busy` while it runs.

    `busy` names a bool var the page binds to spinners and disabled buttons; it is
    set and sent to the browser before the handler's work starts. A coroutine
    handler's result goes out in one update with `busy` cleared, so the browser gets
    the new rows and re-enabled buttons together; a generator handler may yield
    updates of its own on the way.
    """

    def decorate(handler: Handler[S, P]) -> Stream[S, P]:
        @functools.wraps(handler)
        async def run(state: S, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[Events]:
            if busy:
                setattr(state, busy, True)
                yield None
            outcome: Events = None
            try:
                work = handler(state, *args, **kwargs)
                if isinstance(work, AsyncIterator):
                    async for events in work:
                        yield events
                else:
                    outcome = await work
            except EXPECTED_ERRORS as error:
                outcome = await failure_events(state, error)
            except Exception:
                # A bug: Reflex reports it, but sends nothing more from this handler,
                # so the cleared flag goes out first or the page stays disabled.
                if busy:
                    setattr(state, busy, False)
                    yield None
                raise
            finally:
                if busy:
                    setattr(state, busy, False)
            yield outcome

        return run

    return decorate
