"""A shared service (Redis) that stopped answering: left alone for a while, said once.

Rate limits, read-your-writes marks and change notices all fall back to something local
when Redis fails. Each failure pauses the next attempt for `retry_seconds`, so that
every request (every login) does not wait on a dead server; the outage is one warning when it begins
and one when the service answers again, not one per failed call.
"""

import logging
import time
from collections.abc import Callable

# How long a failed service is left alone before it is tried again.
RETRY_SECONDS = 5.0


class Outage:
    def __init__(
        self,
        logger: logging.Logger,
        gone: str,
        back: str,
        *,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`gone` is logged with the error as its one argument, `back` as it is."""
        self._logger = logger
        self._gone = gone
        self._back = back
        self.retry_seconds = retry_seconds
        self._clock = clock
        # Until when the service is not tried again; None while it works.
        self.until: float | None = None

    def skipping(self) -> bool:
        """Whether the service is down and its pause not over yet."""
        return self.until is not None and self._clock() < self.until

    def failed(self, error: object) -> None:
        if self.until is None:
            self._logger.warning(self._gone, error)
        self.until = self._clock() + self.retry_seconds

    def works(self) -> None:
        if self.until is not None:
            self._logger.warning(self._back)
            self.until = None
