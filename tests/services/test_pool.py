"""The fair connection queue: waiters are served in arrival order, none is lost."""

import asyncio
import inspect
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty

from app.db.pool import FairAsyncQueuePool, FairQueue


async def take(queue: FairQueue[str], seconds: float | None = None) -> str:
    return await greenlet_spawn(queue.get, True, seconds)


async def test_returned_items_go_to_the_longest_waiter_not_a_newcomer() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    served: list[str] = []

    async def waiter(name: str) -> None:
        await take(queue)
        served.append(name)

    first = asyncio.create_task(waiter("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter("second"))
    await asyncio.sleep(0)
    queue.put_nowait("connection")
    # A newcomer that asks right after the return must not jump the line.
    with pytest.raises(Empty):
        queue.get(block=False)
    queue.put_nowait("connection")
    await asyncio.gather(first, second)
    assert served == ["first", "second"]


async def test_waiting_past_the_timeout_raises_empty() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    with pytest.raises(Empty):
        await take(queue, seconds=0.05)
    assert queue.qsize() == 0


async def test_an_item_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=2)
    doomed = asyncio.create_task(take(queue))
    await asyncio.sleep(0)
    patient = asyncio.create_task(take(queue))
    await asyncio.sleep(0)
    queue.put_nowait("connection")  # handed to `doomed`...
    doomed.cancel()  # ...which gives up before it runs again
    assert await patient == "connection"
    with pytest.raises(asyncio.CancelledError):
        await doomed


def test_items_queue_when_nobody_waits_and_full_is_reported() -> None:
    queue: FairQueue[str] = FairQueue(maxsize=1)
    queue.put_nowait("a")
    assert queue.full() and queue.qsize() == 1
    assert queue.get(block=False) == "a"
    assert queue.empty()


# The SQLAlchemy internals app.db.pool relies on --------------------------------------
# FairAsyncQueuePool only swaps QueuePool's private `_queue_class`. If the pinned
# SQLAlchemy stops building its queue from that attribute, or calls the queue another
# way, these fail (instead of the pool quietly going back to its unfair queue).


def test_the_pinned_queuepool_still_builds_its_queue_from_queue_class() -> None:
    source = inspect.getsource(QueuePool)
    assert AsyncAdaptedQueuePool._queue_class is AsyncAdaptedQueue
    assert "self._pool = self._queue_class(pool_size, use_lifo=use_lifo)" in source
    # The only calls QueuePool makes on its queue, which FairQueue answers.
    assert "self._pool.get(wait, self._timeout)" in source
    assert "self._pool.put(record, False)" in source
    assert "self._pool.get(False)" in source
    pool = FairAsyncQueuePool(lambda: None, pool_size=3, max_overflow=0, timeout=1)
    assert isinstance(pool._pool, FairQueue) and pool._pool.maxsize == 3
    assert pool.size() == 3 and pool.checkedin() == 0


async def test_an_engine_on_the_fair_pool_lets_no_newcomer_jump_the_line(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}",
        poolclass=FairAsyncQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=5,
    )
    served: list[str] = []

    async def checkout(name: str) -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            served.append(name)

    try:
        held = await engine.connect()
        waiters = [asyncio.create_task(checkout(name)) for name in ("first", "second")]
        for _ in range(3):
            await asyncio.sleep(0.05)
        await held.close()
        # Asks in the same instant the connection comes back, before "first" runs: with
        # SQLAlchemy's own queue it takes the connection and "first" queues again.
        await checkout("newcomer")
        await asyncio.gather(*waiters)
        assert served == ["first", "second", "newcomer"]
    finally:
        await engine.dispose()
