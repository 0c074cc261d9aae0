"""Change notices: published once a write commits, never for one rolled back; through a
real Redis when configured, and writes go on when Redis is unreachable."""

import asyncio
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from app.db import changes, engine, session_scope
from app.db.changes import Change, Notices, decode, encode
from app.models import Item, ItemCreate, ItemUpdate, UserCreate, UserUpdate
from app.services import items, users
from app.services.errors import BadRequest
from tests.conftest import TEST_REDIS_URL, Account
from tests.factories import detached_user, random_email

# Nothing listens on this port: Redis "down" without stopping the shared one.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


class Heard:
    """What this process's listeners were handed, in order."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.arrived = asyncio.Event()

    def __call__(self, change: Change) -> None:
        self.changes.append(change)
        self.arrived.set()

    async def next(self) -> list[Change]:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        found, self.changes = self.changes, []
        return found


async def use(monkeypatch: pytest.MonkeyPatch, notices: Notices) -> Heard:
    monkeypatch.setattr(changes, "notices", notices)
    heard = Heard()
    notices.listen(heard)
    return heard


@pytest.fixture
async def in_process(monkeypatch: pytest.MonkeyPatch) -> Heard:
    return await use(monkeypatch, Notices(None))


@pytest.fixture
async def through_redis(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Heard]:
    """Notices through the real Redis, on a channel of this test's own, heard back by a
    subscriber as another backend process hears them."""
    notices = Notices(TEST_REDIS_URL, channel=f"test-changes-{secrets.token_hex(6)}")
    heard = await use(monkeypatch, notices)
    ready = asyncio.Event()
    subscriber = asyncio.create_task(notices.subscribe(ready))
    await asyncio.wait_for(ready.wait(), 5)
    yield heard
    subscriber.cancel()
    await asyncio.gather(subscriber, return_exceptions=True)
    await notices.close()


async def test_item_writes_publish_after_commit(normal_user: Account, in_process: Heard) -> None:
    user = await detached_user(normal_user.id)
    assert user is not None
    async with session_scope() as session:
        item = await items.create_item(session, user, ItemCreate(title="One"))
    assert item.id is not None
    assert await in_process.next() == [Change("item", item.id, normal_user.id, "created")]
    async with session_scope() as session:
        await items.update_item(session, user, item.id, ItemUpdate(title="Two"))
    assert await in_process.next() == [Change("item", item.id, normal_user.id, "updated")]
    async with session_scope() as session:
        await items.delete_item(session, user, item.id)
    assert await in_process.next() == [Change("item", item.id, normal_user.id, "deleted")]


async def test_nothing_is_published_before_the_commit_nor_for_a_rollback(
    session: AsyncSession, normal_user: Account, in_process: Heard
) -> None:
    user = await detached_user(normal_user.id)
    assert user is not None
    dropped = Item.model_validate(ItemCreate(title="Dropped"), update={"owner_id": user.id})
    session.add(dropped)
    await session.flush()
    assert in_process.changes == []
    await session.rollback()
    # The same session's next transaction publishes its own write only.
    kept = await items.create_item(session, user, ItemCreate(title="Kept"))
    assert kept.id is not None
    assert await in_process.next() == [Change("item", kept.id, normal_user.id, "created")]


async def test_a_rolled_back_duplicate_email_publishes_nothing_through_redis(
    session: AsyncSession, normal_user: Account, through_redis: Heard
) -> None:
    with pytest.raises(BadRequest):
        await users.create_user(session, UserCreate(email=normal_user.email, password="x" * 8))
    other = await users.create_user(session, UserCreate(email=random_email(), password="x" * 8))
    assert other.id is not None
    # The only message the subscriber hears is the later, committed one.
    assert await through_redis.next() == [Change("user", other.id, other.id, "created")]


async def test_a_lost_unique_email_race_publishes_nothing(
    session: AsyncSession, normal_user: Account, other_user: Account, in_process: Heard
) -> None:
    # The pre-check is skipped, so the unique index refuses the change at commit.
    caller = await users.get_user(session, other_user.id)
    assert caller is not None
    caller.email = normal_user.email
    session.add(caller)
    with pytest.raises(Exception):  # noqa: B017 - whichever IntegrityError the driver raises
        await session.commit()
    await session.rollback()
    assert in_process.changes == []
    await users.update_user(session, other_user.id, UserUpdate(full_name="Fine"))
    assert await in_process.next() == [Change("user", other_user.id, other_user.id, "updated")]


async def test_deleting_a_user_is_news_for_their_items_too(
    session: AsyncSession, superuser: Account, normal_user: Account, in_process: Heard
) -> None:
    caller = await detached_user(superuser.id)
    assert caller is not None
    await users.delete_user(session, caller, normal_user.id)
    # One notice; the routing (app/ui/table/live.py) sends it to the user's Items lists.
    assert await in_process.next() == [Change("user", normal_user.id, normal_user.id, "deleted")]


async def test_writes_succeed_when_redis_is_unreachable(
    normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    notices = Notices(UNREACHABLE_REDIS_URL)
    heard = await use(monkeypatch, notices)
    user = await detached_user(normal_user.id)
    assert user is not None
    for title in ("First", "Second"):
        async with session_scope() as session:
            item = await items.create_item(session, user, ItemCreate(title=title))
        # This process's own tables still hear it; other processes cannot.
        assert await heard.next() == [Change("item", item.id or 0, normal_user.id, "created")]
    await notices.close()


async def test_turned_off_nothing_is_collected_or_published(
    normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard = await use(monkeypatch, Notices(None, enabled=False))
    user = await detached_user(normal_user.id)
    assert user is not None
    async with session_scope() as session:
        await items.create_item(session, user, ItemCreate(title="Quiet"))
        assert changes._PENDING not in session.sync_session.info
    assert heard.changes == []


def test_messages_round_trip_and_junk_is_dropped() -> None:
    sent = [Change("item", 1, 2, "created"), Change("user", 3, 3, "deleted")]
    assert decode(encode(sent)) == sent
    assert decode(b"not json") == []
    assert decode('{"kind": "item"}') == []
    assert decode('[["item", "1", 2, "created"], ["table", 1, 1, "created"], 5]') == []
    assert decode(b"\xff") == []


async def test_a_failing_listener_does_not_fail_the_write(
    normal_user: Account, in_process: Heard
) -> None:
    def broken(_: Change) -> None:
        raise RuntimeError("a listener's bug")

    changes.notices.listen(broken)
    user = await detached_user(normal_user.id)
    assert user is not None
    async with session_scope() as session:
        item = await items.create_item(session, user, ItemCreate(title="Still saved"))
    assert await in_process.next() == [Change("item", item.id or 0, normal_user.id, "created")]


async def test_the_api_writes_as_usual_with_redis_unreachable(
    client: httpx.AsyncClient, normal_user: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    notices = Notices(UNREACHABLE_REDIS_URL)
    heard = await use(monkeypatch, notices)
    api = settings.API_V1_STR
    created = await client.post(f"{api}/items/", headers=normal_user.headers, json={"title": "A"})
    assert created.status_code == 200, created.text
    item_id = created.json()["id"]
    updated = await client.put(
        f"{api}/items/{item_id}", headers=normal_user.headers, json={"title": "B"}
    )
    assert updated.status_code == 200, updated.text
    deleted = await client.delete(f"{api}/items/{item_id}", headers=normal_user.headers)
    assert deleted.status_code == 200, deleted.text
    assert [change.action for change in heard.changes] == ["created", "updated", "deleted"]
    await notices.close()


async def test_the_subscriber_outlives_an_unreachable_redis(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "OUTAGE_RETRY_SECONDS", 0.05)
    notices = Notices(UNREACHABLE_REDIS_URL)
    subscriber = asyncio.create_task(notices.subscribe())
    await asyncio.sleep(0.3)
    # Still trying, and the outage said once, not once per attempt.
    assert not subscriber.done()
    assert caplog.text.count("Redis does not answer") == 1
    subscriber.cancel()
    await asyncio.gather(subscriber, return_exceptions=True)


async def test_publishing_resumes_when_redis_answers_again(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    notices = Notices(UNREACHABLE_REDIS_URL, channel=f"test-changes-{secrets.token_hex(6)}")
    heard = await use(monkeypatch, notices)
    change = Change("item", 1, 1, "created")
    await notices.publish([change])
    assert heard.changes == [change]
    # The same process, once Redis is back (its address fixed, the pause over).
    notices.redis_url, notices._redis, notices._outage.until = TEST_REDIS_URL, None, 0.0
    heard.changes.clear()
    await notices.publish([change])
    # Through Redis now: only a subscriber would hand it to the listeners.
    assert heard.changes == []
    assert "Redis answers again" in caplog.text
    await notices.close()


def test_a_commit_outside_the_event_loop_publishes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    notices = Notices(None)
    monkeypatch.setattr(changes, "notices", notices)
    heard = Heard()
    notices.listen(heard)
    sync_session = Session()
    sync_session.info[changes._PENDING] = [Change("item", 1, 1, "created")]
    changes._committed(sync_session)
    root = sync_session.begin()
    changes._publish(sync_session, root)
    assert heard.changes == []
    assert changes._COMMITTED not in sync_session.info


async def test_the_notice_goes_out_after_the_connection_is_back_in_the_pool(
    normal_user: Account, in_process: Heard
) -> None:
    held: list[int] = []
    pool = engine.pool
    assert isinstance(pool, QueuePool), pool
    changes.notices.listen(lambda _: held.append(pool.checkedout()))
    user = await detached_user(normal_user.id)
    assert user is not None
    async with session_scope() as session:
        await items.create_item(session, user, ItemCreate(title="Pooled"))
        # Published inside `commit()`, with the connection already returned.
        assert held == [0]
        assert len(in_process.changes) == 1


async def test_commits_finishing_together_share_one_message(
    monkeypatch: pytest.MonkeyPatch, through_redis: Heard
) -> None:
    messages: list[str] = []

    def counted(batch: list[Change]) -> str:
        messages.append(encode(batch))
        return messages[-1]

    monkeypatch.setattr(changes, "encode", counted)
    sent = [Change("item", number, 1, "created") for number in range(1, 21)]
    await asyncio.gather(*(changes.notices.publish([change]) for change in sent))
    # The first goes out alone; the others, which arrived while it was sent, together.
    assert len(messages) == 2
    heard: list[Change] = []
    while len(heard) < len(sent):
        heard += await through_redis.next()
    assert heard == sent
