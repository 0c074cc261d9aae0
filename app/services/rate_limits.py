"""Rate limits on guessing passwords, sending mail and signing up; API and UI share them.

Counted in fixed windows, in Redis when `REDIS_URL` is set (every worker and replica
counts together), else in the process's memory. The services charge a limit before
they do the work, so a client over a limit costs one Redis round trip, never a bcrypt
check or a mail. Redis being down never stops a login (fail open): until it answers
again each process counts in its own memory, so a flood is still held back, and one
warning is logged per outage.
"""

import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from enum import StrEnum

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import BlockingConnectionPool

from app.core.config import Settings, settings
from app.observability.metrics import RATE_LIMIT_REJECTIONS
from app.observability.outage import Outage
from app.services import messages
from app.services.errors import TooManyRequests

logger = logging.getLogger(__name__)

# A slow Redis must not hold logins up for long; past this it counts as down.
REDIS_TIMEOUT_SECONDS = 2.0
# Connections to Redis per process: a burst of requests waits for one of these instead
# of opening hundreds of connections at once (which is what times out under load).
REDIS_MAX_CONNECTIONS = 20
STORAGE_ERRORS = (StorageError, OSError)


class Limit(StrEnum):
    """What is counted; the value names the counter in storage."""

    LOGIN_FAILURES_PER_ACCOUNT = "login-failures-account"
    LOGIN_FAILURES_PER_ADDRESS = "login-failures-address"
    LOGIN_FAILURES_PER_DEVICE = "login-failures-device"
    RECOVERY_PER_ADDRESS = "recovery-address"
    RECOVERY_PER_EMAIL = "recovery-email"
    SIGNUPS_PER_ADDRESS = "signups-address"
    TEST_EMAILS_PER_ADDRESS = "test-emails-address"
    VERIFICATION_EMAILS_PER_ACCOUNT = "verification-emails-account"
    SSO_STARTS_PER_ADDRESS = "sso-starts-address"


DETAILS: dict[Limit, str] = {
    Limit.LOGIN_FAILURES_PER_ACCOUNT: messages.TOO_MANY_LOGIN_FAILURES,
    Limit.LOGIN_FAILURES_PER_ADDRESS: messages.TOO_MANY_LOGIN_FAILURES,
    Limit.LOGIN_FAILURES_PER_DEVICE: messages.TOO_MANY_LOGIN_FAILURES,
    Limit.RECOVERY_PER_ADDRESS: messages.TOO_MANY_RECOVERY_REQUESTS,
    Limit.RECOVERY_PER_EMAIL: messages.TOO_MANY_RECOVERY_REQUESTS,
    Limit.SIGNUPS_PER_ADDRESS: messages.TOO_MANY_SIGNUPS,
    Limit.TEST_EMAILS_PER_ADDRESS: messages.TOO_MANY_TEST_EMAILS,
    Limit.VERIFICATION_EMAILS_PER_ACCOUNT: messages.TOO_MANY_VERIFICATION_EMAILS,
    Limit.SSO_STARTS_PER_ADDRESS: messages.TOO_MANY_SSO_STARTS,
}


def rates_from(settings: Settings) -> dict[Limit, str]:
    return {limit: getattr(settings, f"RATE_LIMIT_{limit.name}") for limit in Limit}


def open_storage(
    redis_url: str | None, key_prefix: str
) -> tuple[Storage, BlockingConnectionPool | None]:
    """Redis at REDIS_URL (redis://, rediss://, unix://), else the process's memory."""
    if not redis_url:
        return MemoryStorage(wrap_exceptions=True), None
    # redis-py's asyncio client, which the app has anyway (coredis would be a second one),
    # on a pool of our own so that it can be closed.
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    storage = RedisStorage(
        "async+redis://",
        wrap_exceptions=True,
        implementation="redispy",
        key_prefix=key_prefix,
        connection_pool=pool,  # type: ignore[arg-type]
    )
    return storage, pool


def identifier(value: str) -> str:
    """A fixed-size storage key for any input: a megabyte "email" must not make a
    megabyte key, and the store holds no addresses or emails in clear."""
    normalized = value.strip().lower().encode("utf-8", "surrogatepass")
    return hashlib.sha256(normalized).hexdigest()[:32]


def wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


Charge = tuple[Limit, str]


class Counter:
    """One place limits are counted: Redis, or a process's memory."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.strategy = FixedWindowRateLimiter(storage)

    async def take(
        self, items: Mapping[Limit, RateLimitItem], charges: tuple[Charge, ...]
    ) -> list[tuple[RateLimitItem, str]]:
        taken: list[tuple[RateLimitItem, str]] = []
        for limit, value in charges:
            item, key = items[limit], f"{limit.value}:{identifier(value)}"
            if not await self.strategy.hit(item, key):
                # A refused request is not an attempt: the other limits keep their count.
                await self.give_back(taken)
                retry_after = await self.retry_after(item, key)
                detail = DETAILS[limit].format(wait=wait_text(retry_after))
                RATE_LIMIT_REJECTIONS.labels(limit.value).inc()
                raise TooManyRequests(detail, retry_after)
            taken.append((item, key))
        return taken

    async def give_back(self, taken: list[tuple[RateLimitItem, str]]) -> None:
        for item, key in taken:
            await self.storage.incr(item.key_for(key), item.get_expiry(), amount=-1)

    async def retry_after(self, item: RateLimitItem, key: str) -> int:
        stats = await self.strategy.get_window_stats(item, key)
        return max(1, math.ceil(stats.reset_time - time.time()))


class Reservation:
    """Charges taken against limits, which can be given back (a login that succeeded)."""

    def __init__(
        self,
        limiter: "RateLimiter",
        counter: Counter | None = None,
        taken: list[tuple[RateLimitItem, str]] | None = None,
    ) -> None:
        self._limiter = limiter
        self._counter = counter
        self._taken = taken or []

    async def give_back(self) -> None:
        taken, self._taken = self._taken, []
        if self._counter is None or not taken:
            return
        try:
            await self._counter.give_back(taken)
        except STORAGE_ERRORS as error:
            self._limiter.storage_failed(error)


class LoginAttempt:
    """A login inside the failure limits; only `failed()` attempts stay counted."""

    def __init__(self) -> None:
        self.is_failure = False

    def failed(self) -> None:
        self.is_failure = True


class RateLimiter:
    def __init__(
        self,
        rates: Mapping[Limit, str],
        *,
        redis_url: str | None = None,
        enabled: bool = True,
        key_prefix: str = "rate-limits",
    ) -> None:
        self.enabled = enabled
        self.items = {limit: parse(rates[limit]) for limit in Limit}
        storage, self._pool = open_storage(redis_url, key_prefix)
        self.shared = Counter(storage)
        # Counts while the shared storage is down: logins go on, and a flood is still
        # held back, per process, until Redis answers again.
        self.local = Counter(MemoryStorage(wrap_exceptions=True))
        self.outage = Outage(
            logger,
            "Rate limit storage unavailable; counting in this process until it answers again: %s",
            "Rate limit storage answers again",
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "RateLimiter":
        return cls(
            rates_from(settings), redis_url=settings.REDIS_URL, enabled=settings.RATE_LIMITS_ENABLED
        )

    @property
    def storage(self) -> Storage:
        return self.shared.storage

    async def charge(self, *charges: Charge) -> Reservation:
        """Count one more of each; over any limit, TooManyRequests and nothing counted."""
        if not self.enabled:
            return Reservation(self)
        if not self.outage.skipping():
            try:
                taken = await self.shared.take(self.items, charges)
            except STORAGE_ERRORS as error:
                self.storage_failed(error)
            else:
                self.outage.works()
                return Reservation(self, self.shared, taken)
        return Reservation(self, self.local, await self.local.take(self.items, charges))

    @asynccontextmanager
    async def login_attempt(
        self, email: str, client: str, device: str | None = None
    ) -> AsyncIterator[LoginAttempt]:
        """Inside: one login, charged before the password is checked so that a flood
        of guesses cannot queue up bcrypt work; given back unless it `failed()`.

        From a known `device` of the account (OWASP's device cookies), the login is
        counted against that device alone: nobody else's failures, against the account
        or from the same address, can lock its owner out there.
        """
        charges: tuple[Charge, ...] = (
            ((Limit.LOGIN_FAILURES_PER_DEVICE, device),)
            if device is not None
            else (
                (Limit.LOGIN_FAILURES_PER_ACCOUNT, email),
                (Limit.LOGIN_FAILURES_PER_ADDRESS, client),
            )
        )
        reservation = await self.charge(*charges)
        attempt = LoginAttempt()
        try:
            yield attempt
        finally:
            if not attempt.is_failure:
                await reservation.give_back()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    def storage_failed(self, error: Exception) -> None:
        # limits wraps the driver's error: the outage is told what Redis said.
        self.outage.failed(getattr(error, "storage_error", error))


# The process's limiter; tests put a fresh one in its place.
limiter = RateLimiter.from_settings(settings)
