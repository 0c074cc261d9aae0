"""`rx.event`, with every run of a handler observed: its own id on every log line it
writes, one line and one latency observation when it ends (handler, outcome, duration,
user), and a bug reported with the same id and user.

Every handler of the app is declared with this `event`, so this is the one place that
sees them all, including those that raise (Reflex's middleware hooks see state updates,
not handlers, and nothing of a handler that fails).

Typed so mypy sees handlers as the event callbacks they are at runtime: Reflex types
`rx.event` through `EventNamespace.__new__` overloads that return `EventCallback`; mypy
ignores a `__new__` that returns another type and sees an `EventNamespace`, so
`State.handler(arg)` would not type-check.
"""

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

import reflex as rx
from reflex.event import EventCallback

from app.observability.error_reports import report_error
from app.observability.logging import RequestInfo, current_request
from app.observability.metrics import UI_EVENTS
from app.observability.request_log import new_request_id

Args = TypeVarTuple("Args")

logger = logging.getLogger("app.ui.events")

OK = "ok"
ERROR = "error"
# Stopped from outside (the tab went away, the server is stopping): not the handler's fault.
CANCELLED = "cancelled"


class EventRun(RequestInfo):
    """A handler's run, as its log lines see it: the request info, plus the outcome that
    `reports_failures` sets when it turns an expected failure into a toast."""

    def __init__(self, handler: str) -> None:
        super().__init__(new_request_id())
        self.handler = handler
        self.outcome = OK


current_event: ContextVar[EventRun | None] = ContextVar("current_event", default=None)


def set_outcome(outcome: str) -> None:
    """How the running handler ended, when it did not simply succeed."""
    run = current_event.get()
    if run is not None:
        run.outcome = outcome


def _begin(handler: str, args: tuple[Any, ...]) -> tuple[EventRun, float]:
    # The state the handler ran on, not the class that defined it: a mixin's handler
    # (PagedTable.search_rows) runs for several pages.
    if args:
        handler = f"{type(args[0]).__name__}.{handler}"
    run = EventRun(handler)
    current_request.set(run)
    current_event.set(run)
    return run, perf_counter()


def _end(run: EventRun, start: float, error: BaseException | None) -> None:
    duration = perf_counter() - start
    if isinstance(error, Exception):
        run.outcome = ERROR
        report_error(error, run, handler=run.handler)
    elif error is not None:
        run.outcome = CANCELLED
    UI_EVENTS.labels(run.handler, run.outcome).observe(duration)
    duration_ms = round(duration * 1000, 1)
    logger.log(
        logging.INFO if error is None else logging.WARNING,
        "%s %s %.1f ms",
        run.handler,
        run.outcome,
        duration_ms,
        extra={"handler": run.handler, "outcome": run.outcome, "duration_ms": duration_ms},
    )
    current_request.set(None)
    current_event.set(None)


def observed(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`handler`, of the same kind (function, coroutine or async generator, as Reflex
    tells them apart), run as one observed event."""
    name = handler.__name__
    if inspect.isasyncgenfunction(handler):

        @functools.wraps(handler)
        async def stream(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            run, start = _begin(name, args)
            try:
                async for update in handler(*args, **kwargs):
                    yield update
            except BaseException as error:
                _end(run, start, error)
                raise
            _end(run, start, None)

        return stream
    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            run, start = _begin(name, args)
            try:
                result = await handler(*args, **kwargs)
            except BaseException as error:
                _end(run, start, error)
                raise
            _end(run, start, None)
            return result

        return coroutine

    @functools.wraps(handler)
    def function(*args: Any, **kwargs: Any) -> Any:
        run, start = _begin(name, args)
        try:
            result = handler(*args, **kwargs)
        except BaseException as error:
            _end(run, start, error)
            raise
        _end(run, start, None)
        return result

    return function


if TYPE_CHECKING:

    def event(handler: Callable[[Any, Unpack[Args]], Any], /) -> EventCallback[*Args]: ...

else:

    def event(handler):
        return rx.event(observed(handler))
