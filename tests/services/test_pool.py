"""The fair connection queue: waiters are served in arrival order, none is lost."""

import asyncio

import pytest
from sqlalchemy.util.concurrency import greenlet_spawn
from sqlalchemy.util.queue import Empty

from app.core.pool import FairQueue


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
