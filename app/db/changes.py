"""Change notices: what each committed write changed, told to every backend process.

Every session that writes through the ORM is watched (SQLAlchemy session events, so no
service, face or script can forget): the rows a flush inserted, changed or deleted are
collected on the session, dropped if its transaction rolls back, and published once it
commits, as one message per commit. A notice carries only (kind, id, owner, action);
whoever listens reads what it may see through the services, with its own user.

With REDIS_URL the message goes through Redis pub/sub, so every worker and replica hears
every write (each process's subscriber hands it to its listeners, the writer's own
included); without it, straight to the listeners in this process. Redis being down never
fails a write: the notice is handed to this process's listeners only, one warning is
logged per outage, and Redis is left alone for OUTAGE_RETRY_SECONDS before it is tried
again (so a dead Redis costs writes nothing).
"""

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction
from sqlalchemy.util.concurrency import await_, in_greenlet

from app.core.config import settings
from app.models import User
from app.observability.outage import Outage

logger = logging.getLogger(__name__)

# What changed: "user", "session" (a user's sessions ended, id 0, owner the user:
# published by app/services/sessions.py itself, since it ends them with bulk UPDATEs), or
# the kind an entity's rules declare (`track`, called by services/entity.py: "item"...).
Kind = str
Action = Literal["created", "updated", "deleted"]
OUTAGE_RETRY_SECONDS = 5.0
REDIS_TIMEOUT_SECONDS = 1.0
# Where a session keeps what its flushes changed until the transaction ends.
_PENDING = "change_notices"
# ... and what its commit made news of, until the connection is back in the pool.
_COMMITTED = "committed_change_notices"


@dataclass(frozen=True)
class Tracked:
    kind: Kind
    # Whether each row belongs to a user (its owner_id); if not, a notice's owner is 0,
    # except a user's, whose owner is the user themselves.
    owned: bool


_TRACKED: dict[type, Tracked] = {User: Tracked("user", owned=False)}
_UNTRACKED_KINDS = frozenset({"session"})


def track(table: type, kind: Kind, *, owned: bool) -> None:
    """Publish a notice for every committed write of `table`'s rows, as `kind`."""
    _TRACKED[table] = Tracked(kind, owned)


def owned_kinds() -> list[Kind]:
    """The kinds whose rows a user owns: a user's deletion takes theirs with it."""
    return [tracked.kind for tracked in _TRACKED.values() if tracked.owned]


def _known(kind: object) -> bool:
    return kind in _UNTRACKED_KINDS or any(kind == t.kind for t in _TRACKED.values())


@dataclass(frozen=True)
class Change:
    kind: Kind
    id: int
    # Whose row it is: an item's owner, or the user themselves.
    owner: int
    action: Action


Listener = Callable[[Change], None]


def encode(changes: Iterable[Change]) -> str:
    return json.dumps([[c.kind, c.id, c.owner, c.action] for c in changes])


def decode(message: str | bytes) -> list[Change]:
    """The changes in a published message; anything malformed is dropped, never raised:
    the channel is shared with whoever else can reach Redis."""
    try:
        entries = json.loads(message)
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(entries, list):
        return []
    changes = []
    for entry in entries:
        match entry:
            case [
                str() as kind,
                int() as row_id,
                int() as owner,
                "created" | "updated" | "deleted" as action,
            ] if _known(kind):
                changes.append(Change(kind, row_id, owner, action))
    return changes


def _change_of(row: Any, action: Action) -> Change | None:
    tracked = _TRACKED.get(type(row))
    if tracked is None or row.id is None:
        return None
    owner = row.owner_id if tracked.owned else row.id if isinstance(row, User) else 0
    return Change(tracked.kind, row.id, owner, action)


class Notices:
    """Publishes the changes of committed writes and hands them to this process's listeners."""

    def __init__(
        self, redis_url: str | None, enabled: bool = True, channel: str = "changes"
    ) -> None:
        self.enabled = enabled
        self.redis_url = redis_url
        self.channel = channel
        self._listeners: list[Listener] = []
        self._redis: Redis | None = None
        self._outage = Outage(
            logger,
            "Redis does not answer (%s): open tables on other processes stop being "
            "live until it does; writes go on",
            "Redis answers again: change notices reach every process",
            retry_seconds=OUTAGE_RETRY_SECONDS,
        )
        # Changes waiting for the next message, the future their writers await, and
        # the message being sent (one at a time).
        self._batch: list[Change] = []
        self._batch_sent: asyncio.Future[None] | None = None
        self._sending: asyncio.Task[None] | None = None

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def hand_out(self, changes: list[Change]) -> None:
        for change in changes:
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:
                    # A listener's bug must not undo or fail the write that was heard.
                    logger.exception("A change listener failed on %s", change)

    def _client(self) -> Redis:
        if self._redis is None:
            assert self.redis_url
            self._redis = Redis.from_url(
                self.redis_url,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
        return self._redis

    async def publish(self, changes: list[Change]) -> None:
        """Tell every process; returns once the changes are on their way. Never raises.

        Commits that finish while a message is being sent share the next one: under load
        one PUBLISH carries many writes' changes, so its cost is not paid per write.
        """
        if not changes:
            return
        if not self.redis_url or self._outage.skipping():
            self.hand_out(changes)
            return
        self._batch.extend(changes)
        if self._batch_sent is None:
            self._batch_sent = asyncio.get_running_loop().create_future()
        sent = self._batch_sent
        if self._sending is None:
            self._send_next()
        await asyncio.shield(sent)

    def _send_next(self) -> None:
        batch, self._batch = self._batch, []
        sent, self._batch_sent = self._batch_sent, None
        if not batch or sent is None:
            self._sending = None
            return
        self._sending = asyncio.get_running_loop().create_task(self._send(batch, sent))

    async def _send(self, batch: list[Change], sent: "asyncio.Future[None]") -> None:
        try:
            await self._client().publish(self.channel, encode(batch))
        except (RedisError, OSError) as error:
            self._outage.failed(error)
            self.hand_out(batch)
        else:
            self._outage.works()
        finally:
            sent.set_result(None)
            # What arrived meanwhile goes out now, as one message.
            self._send_next()

    async def subscribe(self, ready: asyncio.Event | None = None) -> None:
        """Hand every published change to this process's listeners, until cancelled;
        reconnects after an outage. `ready` is set once subscribed (each time)."""
        assert self.redis_url
        while True:
            client = Redis.from_url(self.redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    if ready is not None:
                        ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.hand_out(decode(message["data"]))
            except (RedisError, OSError) as error:
                self._outage.failed(error)
                await asyncio.sleep(OUTAGE_RETRY_SECONDS)
            finally:
                await client.aclose()

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


notices = Notices(settings.REDIS_URL, settings.LIVE_TABLES, settings.LIVE_TABLES_CHANNEL)


def _pending(session: Session) -> list[Change]:
    pending: list[Change] = session.info.setdefault(_PENDING, [])
    return pending


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _: UOWTransaction) -> None:
    if not notices.enabled:
        return
    found: list[Change | None] = [_change_of(row, "created") for row in session.new]
    found += [
        _change_of(row, "updated")
        for row in session.dirty
        if session.is_modified(row, include_collections=False)
    ]
    found += [_change_of(row, "deleted") for row in session.deleted]
    _pending(session).extend(change for change in found if change is not None)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    changes = session.info.pop(_PENDING, None)
    if not changes:
        return
    # Each row once, its last action: a row created and then changed in one transaction
    # is news of a creation; one created and deleted is news of a deletion.
    latest: dict[tuple[Kind, int], Change] = {}
    for change in changes:
        first = latest.get((change.kind, change.id))
        if first is not None and first.action == "created" and change.action == "updated":
            continue
        latest[(change.kind, change.id)] = change
    session.info[_COMMITTED] = list(latest.values())


@event.listens_for(Session, "after_transaction_end")
def _publish(session: Session, transaction: SessionTransaction) -> None:
    # After the connection went back to the pool (after_commit still holds it): the
    # publish never makes another request wait for a connection.
    if transaction.parent is not None:
        return
    changes = session.info.pop(_COMMITTED, None)
    if not changes:
        return
    if in_greenlet():
        # An AsyncSession commits in a greenlet: the publish runs before `await
        # session.commit()` returns, so the writer's response follows its notice.
        await_(notices.publish(changes))
    else:
        logger.debug("A commit outside the event loop publishes nothing: %s", changes)
