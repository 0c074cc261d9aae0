"""Reads that the live refreshes of one change share.

One write refreshes every tab showing its list. The tabs of one browser (one token)
would each look the same caller up, and the tabs of one user showing the same page would
each read the same rows. Here the first refresh reads and the others, on this process,
take its answer (app/ui/table/entity.py: the caller per token, the page per user). What
makes that safe is when an answer stops being used, not how long it lives:

- each answer is filed under the lists (topics) it was read from, and the moment this
  process hears of a change to one of them (app/ui/table/live.py calls `drop`) the
  answer is gone, even while it is still being read. Every refresh starts after the
  notice that asked for it was heard, so the answer it is given was read after that
  notice too: never older than what the refresh is for;
- a caller is filed under the user's own topic ("me"): a change to the account or the
  end of one of its sessions (both are notices) drops it;
- a failed read is never kept, and the read runs as its own task: a tab that closes
  while waiting cannot cancel it for the others.

Answers also expire after LIFETIME_SECONDS (a session that merely times out, which no
notice tells, stops being refreshed that much later at most) and there are at most
MAX_ANSWERS. Only refreshes use this: a user's own event (open a page, search, turn a
page) always reads afresh.
"""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from app.observability.metrics import LIVE_REFRESH_READS

T = TypeVar("T")
Topic = tuple[str, int]

LIFETIME_SECONDS = 2.0
# A page of rows is at most tens of kB; and answers older than their lifetime go first.
MAX_ANSWERS = 1_000


@dataclass
class _Answer:
    task: "asyncio.Task[Any]"
    topics: frozenset[Topic]
    expires: float


class SharedReads:
    def __init__(self, lifetime: float = LIFETIME_SECONDS, max_answers: int = MAX_ANSWERS) -> None:
        self.lifetime = lifetime
        self.max_answers = max_answers
        self._answers: dict[Hashable, _Answer] = {}
        self._by_topic: dict[Topic, set[Hashable]] = {}
        # Reads made, and answers taken from another refresh's read.
        self.reads = 0
        self.shared = 0

    def __len__(self) -> int:
        return len(self._answers)

    def entries(self) -> int:
        """Everything kept, to check that nothing outlives its answers."""
        return len(self._answers) + sum(len(keys) for keys in self._by_topic.values())

    async def read(
        self,
        what: str,
        key: Hashable,
        topics: frozenset[Topic],
        read: Callable[[], Awaitable[T]],
    ) -> T:
        """`read()`'s answer, or the answer of the same read made since the last change
        to `topics` this process heard of. `what` names the read in the metrics."""
        key = (what, key)
        loop = asyncio.get_running_loop()
        answer = self._answers.get(key)
        if answer is not None and answer.expires > loop.time():
            self.shared += 1
            LIVE_REFRESH_READS.labels(what, "shared").inc()
        else:
            if answer is not None:
                self._forget(key)
            self._make_room(loop.time())
            answer = _Answer(loop.create_task(_call(read)), topics, loop.time() + self.lifetime)
            self._answers[key] = answer
            for topic in topics:
                self._by_topic.setdefault(topic, set()).add(key)
            answer.task.add_done_callback(lambda task: self._settled(key, task))
            self.reads += 1
            LIVE_REFRESH_READS.labels(what, "read").inc()
        result: T = await asyncio.shield(answer.task)
        return result

    def drop(self, topics: list[Topic]) -> None:
        """A change to these lists was heard: no answer read from them is used again."""
        for topic in topics:
            for key in list(self._by_topic.get(topic, ())):
                self._forget(key)

    def _settled(self, key: Hashable, task: "asyncio.Task[Any]") -> None:
        answer = self._answers.get(key)
        if answer is not None and answer.task is task and (task.cancelled() or task.exception()):
            self._forget(key)

    def _forget(self, key: Hashable) -> None:
        answer = self._answers.pop(key, None)
        if answer is None:
            return
        for topic in answer.topics:
            keys = self._by_topic.get(topic)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_topic[topic]

    def _make_room(self, now: float) -> None:
        # Answers expire in the order they were made (one lifetime for all): the expired
        # ones are at the front. Then, if still full, the oldest go.
        while self._answers:
            key, answer = next(iter(self._answers.items()))
            if answer.expires > now and len(self._answers) < self.max_answers:
                return
            self._forget(key)


async def _call(read: Callable[[], Awaitable[T]]) -> T:
    return await read()
