"""Shared reads of live refreshes: one read for the tabs that show the same page, and
never an answer read before a change the refresh is for."""

import asyncio

import pytest

from app.db.changes import Change
from app.services import items  # noqa: F401  (declares the "item" kind)
from app.ui.table.live import ALL, LiveTables
from app.ui.table.shared_reads import SharedReads

TOPICS = frozenset({("item", 7), ("me", 7)})


class Reader:
    """A read that counts its calls and can be held open or made to fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.failure: BaseException | None = None

    async def __call__(self) -> int:
        self.calls += 1
        call = self.calls
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return call


async def test_tabs_reading_the_same_page_at_once_share_one_read() -> None:
    reads, reader = SharedReads(), Reader()
    reader.release.clear()
    waiting = [asyncio.create_task(reads.read("page", "key", TOPICS, reader)) for _ in range(5)]
    await asyncio.sleep(0)
    reader.release.set()
    assert await asyncio.gather(*waiting) == [1] * 5
    assert (reader.calls, reads.reads, reads.shared) == (1, 1, 4)


async def test_a_later_refresh_takes_the_answer_until_a_change_to_its_lists() -> None:
    reads, reader = SharedReads(), Reader()
    assert await reads.read("page", "key", TOPICS, reader) == 1
    assert await reads.read("page", "key", TOPICS, reader) == 1
    # A change to another list leaves it; one to a list it was read from drops it.
    reads.drop([("item", 8), ("users", ALL)])
    assert await reads.read("page", "key", TOPICS, reader) == 1
    reads.drop([("item", 7)])
    assert await reads.read("page", "key", TOPICS, reader) == 2
    assert reader.calls == 2


async def test_a_change_heard_while_the_read_runs_sends_later_refreshes_to_a_new_read() -> None:
    # The running read may have started before the change's commit: whoever refreshes
    # for that change must read again, while those already waiting keep their answer.
    reads, reader = SharedReads(), Reader()
    reader.release.clear()
    first = asyncio.create_task(reads.read("page", "key", TOPICS, reader))
    await asyncio.sleep(0)
    reads.drop([("me", 7)])
    second = asyncio.create_task(reads.read("page", "key", TOPICS, reader))
    await asyncio.sleep(0)
    reader.release.set()
    assert (await first, await second) == (1, 2)


async def test_different_keys_never_share() -> None:
    reads, reader = SharedReads(), Reader()
    answers = [await reads.read("page", key, TOPICS, reader) for key in ("a", "b", "a")]
    assert answers == [1, 2, 1]


async def test_a_failed_read_reaches_its_waiters_and_is_not_kept() -> None:
    reads, reader = SharedReads(), Reader()
    reader.release.clear()
    reader.failure = RuntimeError("database down")
    waiting = [asyncio.create_task(reads.read("page", "key", TOPICS, reader)) for _ in range(2)]
    await asyncio.sleep(0)
    reader.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    reader.failure = None
    assert await reads.read("page", "key", TOPICS, reader) == 2
    assert len(reads) == 1


async def test_a_waiter_that_goes_away_does_not_cancel_the_read_for_the_others() -> None:
    reads, reader = SharedReads(), Reader()
    reader.release.clear()
    leaving = asyncio.create_task(reads.read("page", "key", TOPICS, reader))
    staying = asyncio.create_task(reads.read("page", "key", TOPICS, reader))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.sleep(0)
    reader.release.set()
    assert await staying == 1
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_answers_expire_and_their_number_is_bounded() -> None:
    reads, reader = SharedReads(lifetime=0.05, max_answers=3), Reader()
    assert await reads.read("page", "key", TOPICS, reader) == 1
    await asyncio.sleep(0.1)
    assert await reads.read("page", "key", TOPICS, reader) == 2
    for key in ("b", "c", "d", "e"):
        await reads.read("page", key, TOPICS, reader)
    assert len(reads) == 3
    reads.drop(list(TOPICS))
    assert reads.entries() == 0


async def test_the_registry_drops_answers_for_each_change_it_hears() -> None:
    tables, reader = LiveTables(0.0), Reader()
    await tables.reads.read("page", "item-page", TOPICS, reader)
    await tables.reads.read("page", "users-page", frozenset({("users", ALL), ("me", 1)}), reader)
    tables.hear(Change("item", 50, 7, "created"))
    assert len(tables.reads) == 1
    # A session of user 1 ended: what its tabs read goes, whatever the list.
    tables.hear(Change("session", 0, 1, "updated"))
    assert tables.reads.entries() == 0
