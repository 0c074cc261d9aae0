"""`rx.event`, typed so mypy sees handlers as the event callbacks they are at runtime.

Reflex types `rx.event` through `EventNamespace.__new__` overloads that return
`EventCallback`; mypy ignores a `__new__` that returns another type and sees an
`EventNamespace`, so `State.handler(arg)` would not type-check. At runtime this is
`rx.event` itself.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

import reflex as rx
from reflex.event import EventCallback

Args = TypeVarTuple("Args")

if TYPE_CHECKING:

    def event(handler: Callable[[Any, Unpack[Args]], Any], /) -> EventCallback[*Args]: ...

else:
    event = rx.event
