"""Who wrote recently: the callers whose reads skip the read replica for a while.

Read-your-writes with a lagging replica: for `REPLICA_READ_YOUR_WRITES_SECONDS` after a
caller's write commits, that caller's reads go to the primary. The marks live in Redis
when `REDIS_URL` is set, so a write through one backend replica (or worker) sends the
caller's next read to the primary whichever backend serves it; otherwise in the
process's memory. While Redis does not answer, every caller counts as a recent writer:
reads go to the primary rather than risk a stale page.

The caller is whoever the current request or UI event acts for: set where the access
token is resolved (app.services.auth.user_from_access_token, the one path both faces
share), read where a write session commits (app.db.WriteSession).
"""

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.config import settings
from app.observability.outage import Outage

logger = logging.getLogger(__name__)

# A slow Redis must not hold every read up; past this it counts as down (an Outage).
REDIS_TIMEOUT_SECONDS = 1.0
# Expired marks are dropped from memory once there are this many.
PRUNE_ABOVE = 10_000

_caller: ContextVar[int | None] = ContextVar("caller", default=None)


def act_for(user_id: int | None) -> None:
    """The user the current request or UI event acts for (its own task's context)."""
    _caller.set(user_id)


def current_caller() -> int | None:
    return _caller.get()


class RecentWriters:
    def __init__(
        self,
        seconds: float,
        *,
        redis_url: str | None = None,
        key_prefix: str = "recent-write",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Times marks in memory and the outage pause; marks in Redis expire by Redis's clock.
        self._clock = clock
        self.seconds = seconds
        self.key_prefix = key_prefix
        self._local: dict[int, float] = {}
        self._redis = (
            Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            if redis_url
            else None
        )
        self._outage = Outage(
            logger,
            "Redis unavailable for read-your-writes marks; reads go to the primary "
            "until it answers again: %s",
            "Redis answers again: reads may use the replica again",
            clock=clock,
        )

    def _key(self, user_id: int) -> str:
        return f"{self.key_prefix}:{user_id}"

    async def mark(self, user_id: int) -> None:
        """`user_id` just wrote. Never raises: a lost mark in Redis is covered by the
        outage rule (every caller counts as a writer while Redis is down)."""
        now = self._clock()
        if len(self._local) > PRUNE_ABOVE:
            self._local = {user: until for user, until in self._local.items() if until > now}
        self._local[user_id] = now + self.seconds
        if self._redis is None or self._outage.skipping():
            return
        try:
            await self._redis.set(self._key(user_id), 1, px=max(1, round(self.seconds * 1000)))
        except (RedisError, OSError) as error:
            self._outage.failed(error)
        else:
            self._outage.works()

    async def wrote_recently(self, user_id: int) -> bool:
        if self._local.get(user_id, 0.0) > self._clock():
            return True
        if self._redis is None:
            return False
        if self._outage.skipping():
            return True
        try:
            found = await self._redis.exists(self._key(user_id))
        except (RedisError, OSError) as error:
            self._outage.failed(error)
            return True
        self._outage.works()
        return bool(found)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


# The process's marks; tests put their own in its place.
recent_writers = RecentWriters(
    settings.REPLICA_READ_YOUR_WRITES_SECONDS, redis_url=settings.REDIS_URL
)
