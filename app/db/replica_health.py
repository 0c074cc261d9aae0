"""Whether the read replica may serve reads right now: not down, not lagging too far.

A replica that failed (connection refused, timeout, a query cut off) is left alone for
`REPLICA_RETRY_SECONDS`, so that reads go straight to the primary instead of each one
waiting on a dead server. Its replay lag is probed at most once every
`REPLICA_LAG_CHECK_SECONDS` per process (two one-row queries), never per request; above
`REPLICA_MAX_LAG_SECONDS` reads go to the primary until a later probe finds it close again.

The lag is bounded from WAL positions, not commit timestamps: each probe notes the
primary's WAL end with the time it was read. A replica that has replayed up to a noted
position has every commit made before that time, so it misses at most what the primary
committed since: its lag is at most the time since the latest position it has passed.
That holds whatever else writes WAL (other databases, checkpoints) and needs no clock
shared by the two servers; it overstates the lag by at most one probe interval.
"""

import logging
import math
import time
from collections.abc import Awaitable, Callable

from app.observability.metrics import REPLICA_LAG

logger = logging.getLogger(__name__)

# The primary's WAL end and the replica's replay position, in bytes (the replay position
# None for a server that is no standby); raises when either cannot be asked.
PositionProbe = Callable[[], Awaitable[tuple[int, int | None]]]
# Positions noted at most; a replica further behind than all of them counts as lagging.
KEPT_SAMPLES = 64
# Seconds from an arbitrary start, never going back; tests pass a clock they move by hand.
Clock = Callable[[], float]


class PrimaryUnreachable(Exception):
    """The probe could not ask the primary (it died, or a failover is under way): nothing
    is known of the replica's health, and nothing against it either."""


class ReplicaHealth:
    def __init__(
        self,
        *,
        retry_seconds: float,
        max_lag: float,
        check_seconds: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._clock = clock
        self.retry_seconds = retry_seconds
        self.max_lag = max_lag
        self.check_seconds = check_seconds
        # monotonic times: until when the replica is left alone, and when lag was probed.
        self._down_until = 0.0
        self._checked_at = -math.inf
        # (monotonic time, the primary's WAL end read just after it), oldest first.
        self._samples: list[tuple[float, int]] = []
        self.lag = 0.0

    def failed(self, error: BaseException) -> None:
        """A read on the replica failed: reads go to the primary for a while."""
        if not self.is_down():
            logger.warning(
                "Read replica unavailable; reads go to the primary for %s s: %s",
                self.retry_seconds,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
        self._down_until = self._clock() + self.retry_seconds

    def is_down(self) -> bool:
        return self._clock() < self._down_until

    async def usable(self, probe: PositionProbe) -> bool:
        if self.is_down():
            return False
        now = self._clock()
        if now - self._checked_at >= self.check_seconds:
            # Set first: the requests that arrive while the probe runs use the last figure.
            self._checked_at = now
            try:
                primary, replayed = await probe()
            except PrimaryUnreachable as error:
                # While the primary is gone (a failover), the replica keeps serving at
                # the lag last measured: with synchronous replication it holds every
                # acknowledged write, and reads must not stop with the writes.
                logger.info("Replica lag not probed, the primary does not answer: %s", error)
                return self.lag <= self.max_lag
            except Exception as error:  # whatever else stops the probe stops the reads too
                self.failed(error)
                return False
            self._note_lag(self._lag_at(now, primary, replayed))
        return self.lag <= self.max_lag

    def _lag_at(self, now: float, primary: int, replayed: int | None) -> float:
        if replayed is None or replayed >= primary:
            self._samples = [(now, primary)]
            return 0.0
        passed = [
            index for index, (_, position) in enumerate(self._samples) if position <= replayed
        ]
        # Older samples than the latest one passed can never bound the lag again.
        if passed:
            self._samples = self._samples[passed[-1] :]
        self._samples = [*self._samples, (now, primary)][-KEPT_SAMPLES:]
        return now - self._samples[0][0] if passed else math.inf

    def _note_lag(self, lag: float) -> None:
        if (lag > self.max_lag) != (self.lag > self.max_lag):
            logger.warning(
                "Read replica %s (replay lag %s, limit %s s)",
                "lags: reads go to the primary" if lag > self.max_lag else "caught up",
                f"{lag:.1f} s" if math.isfinite(lag) else "unknown",
                self.max_lag,
            )
        self.lag = lag
        REPLICA_LAG.set(lag)
