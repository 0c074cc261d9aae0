"""The parts of the read-replica policy that need no replica: who wrote recently (in
memory, in Redis, Redis down), the replica's health and lag bound, and which commits
mark a caller. The policy on a real replica is tested in tests/replica."""

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator

import pytest

from app import db
from app.db import recent_writes
from app.db.recent_writes import RecentWriters, act_for
from app.db.replica_health import PositionProbe, PrimaryUnreachable, ReplicaHealth
from devtools.servers import free_port
from tests.conftest import TEST_REDIS_URL


@pytest.fixture
async def writers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RecentWriters]:
    marks = RecentWriters(5.0)
    monkeypatch.setattr(recent_writes, "recent_writers", marks)
    yield marks


class FakeClock:
    """A monotonic clock the test moves by hand: timing rules tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def test_a_mark_lasts_the_window_in_memory() -> None:
    clock = FakeClock()
    marks = RecentWriters(0.2, clock=clock)
    await marks.mark(1)
    assert await marks.wrote_recently(1)
    assert not await marks.wrote_recently(2)
    clock.advance(0.19)
    assert await marks.wrote_recently(1)
    clock.advance(0.02)
    assert not await marks.wrote_recently(1)


async def test_expired_marks_are_dropped_from_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent_writes, "PRUNE_ABOVE", 2)
    clock = FakeClock()
    marks = RecentWriters(0.01, clock=clock)
    for user in (1, 2, 3):
        await marks.mark(user)
    clock.advance(0.02)
    await marks.mark(4)
    assert set(marks._local) == {4}


async def test_marks_in_redis_are_seen_by_every_backend_for_the_window() -> None:
    prefix = f"test-rw-{secrets.token_hex(6)}"
    one, other = (RecentWriters(0.3, redis_url=TEST_REDIS_URL, key_prefix=prefix) for _ in "12")
    try:
        await one.mark(7)
        assert await other.wrote_recently(7)
        assert not await other.wrote_recently(8)
        await asyncio.sleep(0.35)
        assert not await other.wrote_recently(7)
    finally:
        await one.close()
        await other.close()


async def test_while_redis_is_down_every_caller_reads_from_the_primary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    marks = RecentWriters(5.0, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        await marks.mark(1)  # never raises
        assert await marks.wrote_recently(2)
        started = time.monotonic()
        for _ in range(20):
            assert await marks.wrote_recently(3)
        # Remembered as down: no connection attempt per read.
        assert time.monotonic() - started < 0.2
        assert caplog.text.count("Redis unavailable for read-your-writes marks") == 1
    finally:
        await marks.close()


def positions(*answers: tuple[int, int | None] | Exception) -> tuple[list[int], PositionProbe]:
    """A probe giving `answers` in turn, and the list counting its calls."""
    calls: list[int] = []

    async def probe() -> tuple[int, int | None]:
        calls.append(1)
        answer = answers[min(len(calls), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return calls, probe


async def test_the_lag_is_bounded_by_the_latest_primary_position_replayed() -> None:
    clock = FakeClock()
    health = ReplicaHealth(retry_seconds=5, max_lag=1.0, check_seconds=0, clock=clock)
    calls, probe = positions((100, 100), (200, 150), (300, 200), (300, None))
    assert await health.usable(probe) and health.lag == 0.0  # caught up
    clock.advance(0.4)
    # Behind what the primary has now (200), past what it had at the first probe (100):
    # it misses at most what was committed since then.
    assert await health.usable(probe) and health.lag == pytest.approx(0.4)
    clock.advance(1.5)
    # Past the second probe's position (200), 1.5 s ago: over the limit.
    assert not await health.usable(probe) and health.lag == pytest.approx(1.5)
    assert await health.usable(probe) and health.lag == 0.0  # no standby: nothing to replay
    assert len(calls) == 4


async def test_a_replica_behind_every_known_position_counts_as_lagging() -> None:
    health = ReplicaHealth(retry_seconds=5, max_lag=1000, check_seconds=0)
    _, probe = positions((100, 50))
    assert not await health.usable(probe)
    assert health.lag == math.inf


async def test_the_lag_is_probed_at_most_once_per_interval() -> None:
    clock = FakeClock()
    health = ReplicaHealth(retry_seconds=5, max_lag=1, check_seconds=0.2, clock=clock)
    calls, probe = positions((100, 100))
    for _ in range(50):
        assert await health.usable(probe)
        clock.advance(0.003)
    assert len(calls) == 1
    clock.advance(0.05)
    assert await health.usable(probe)
    assert len(calls) == 2


async def test_a_failed_replica_is_left_alone_for_the_retry_delay() -> None:
    clock = FakeClock()
    health = ReplicaHealth(retry_seconds=0.2, max_lag=1, check_seconds=0, clock=clock)
    calls, probe = positions(ConnectionRefusedError("refused"), (100, 100))
    assert not await health.usable(probe)
    assert health.is_down()
    for _ in range(10):
        assert not await health.usable(probe)
        clock.advance(0.019)
    assert len(calls) == 1
    clock.advance(0.011)
    assert await health.usable(probe)
    assert not health.is_down()


async def test_while_the_primary_is_gone_the_replica_serves_at_its_last_lag() -> None:
    # A failover: the probe cannot ask the primary. That says nothing against the
    # replica, which keeps serving (reads must not stop with the writes) at the lag last
    # measured, and is probed again at the next interval.
    clock = FakeClock()
    health = ReplicaHealth(retry_seconds=5, max_lag=1.0, check_seconds=0.1, clock=clock)
    calls, probe = positions((100, 100), PrimaryUnreachable("refused"), (200, 200))
    assert await health.usable(probe)
    clock.advance(0.2)
    assert await health.usable(probe) and not health.is_down()
    clock.advance(0.2)
    assert await health.usable(probe)
    assert len(calls) == 3
    # Last known to lag too far: the primary's absence does not make it usable.
    lagging = ReplicaHealth(retry_seconds=5, max_lag=1.0, check_seconds=0, clock=clock)
    _, behind = positions((100, 50), PrimaryUnreachable("refused"))
    assert not await lagging.usable(behind)
    assert not await lagging.usable(behind) and not lagging.is_down()


async def test_a_commit_marks_the_caller_only_when_there_is_a_replica(
    writers: RecentWriters, monkeypatch: pytest.MonkeyPatch
) -> None:
    act_for(41)
    async with db.session_scope() as session:
        await session.commit()
    assert not await writers.wrote_recently(41)  # no replica: nothing to mark

    monkeypatch.setattr(db, "replica_engine", db.engine.execution_options())
    async with db.session_scope() as session:
        await session.commit()
    assert await writers.wrote_recently(41)
    act_for(None)
    async with db.session_scope() as session:
        await session.commit()
    assert set(writers._local) == {41}
