"""Reads on a real streaming replica: served by it, never stale for the caller who wrote,
and moved to the primary while it is down or lagging.

To tell which server answered, replay is paused on the replica and a row written on the
primary: a page without it came from the replica, a page with it from the primary.
"""

import asyncio
import time

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app import db
from app.core.config import settings
from app.models import Item, User
from app.ui.state.admin import AdminState
from app.ui.state.failures import DATABASE_UNAVAILABLE
from app.ui.state.items import ItemsState
from tests.api.test_metrics import scrape, value
from tests.conftest import Account
from tests.replica.conftest import WINDOW_SECONDS, ReplicaSetup, policy, shared_writers
from tests.ui.test_handlers import run, signed_in

pytestmark = pytest.mark.postgres

ITEMS = f"{settings.API_V1_STR}/items/"
USERS = f"{settings.API_V1_STR}/users/"


async def api_titles(client: httpx.AsyncClient, account: Account) -> list[str]:
    response = await client.get(ITEMS, headers=account.headers, params={"limit": 1000})
    assert response.status_code == 200, response.text
    return [row["title"] for row in response.json()["data"]]


async def ui_titles(account: Account) -> list[str]:
    state = signed_in(ItemsState, account)
    events = await run(ItemsState.open_page, state)
    assert DATABASE_UNAVAILABLE not in events and "error" not in events.lower(), events
    return [row.cells["title"] for row in state.rows]


async def write_on_primary(row: Item | User) -> int:
    """A row written straight to the primary, as another process would: it marks nobody
    as a recent writer (a plain session, not the app's write session)."""
    async with AsyncSession(db.engine, expire_on_commit=False) as session:
        session.add(row)
        await session.commit()
    assert row.id is not None
    return row.id


async def create_item(client: httpx.AsyncClient, account: Account, title: str) -> int:
    response = await client.post(ITEMS, json={"title": title}, headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def test_list_and_read_endpoints_of_both_faces_are_served_by_the_replica(
    replica: ReplicaSetup, client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    await write_on_primary(Item(title="replayed", owner_id=normal_user.id))
    await replica.server.caught_up()
    replica.server.pause_replay()
    newer = await write_on_primary(Item(title="only on the primary", owner_id=normal_user.id))
    await write_on_primary(User(email="late@example.com", hashed_password="x"))

    assert await api_titles(client, normal_user) == ["replayed"]
    assert await ui_titles(normal_user) == ["replayed"]
    single = await client.get(f"{ITEMS}{newer}", headers=normal_user.headers)
    assert single.status_code == 404
    emails = (await client.get(USERS, headers=superuser.headers)).json()["data"]
    assert "late@example.com" not in [row["email"] for row in emails]
    admin = signed_in(AdminState, superuser)
    await run(AdminState.open_page, admin)
    assert "late@example.com" not in [row.email for row in admin.users]

    # The primary had them all along: those pages were the replica's.
    replica.server.resume_replay()
    await replica.server.caught_up()
    assert await api_titles(client, normal_user) == ["only on the primary", "replayed"]
    assert (await client.get(f"{ITEMS}{newer}", headers=normal_user.headers)).status_code == 200
    await run(AdminState.open_page, admin)
    assert "late@example.com" in [row.email for row in admin.users]


async def test_a_callers_write_is_never_stale_on_their_next_read(
    replica: ReplicaSetup, client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    before = await scrape(client)
    # Paused, the replica never has the new items: a read served by it would miss them.
    replica.server.pause_replay()
    for number in range(50):
        created = await create_item(client, normal_user, f"item {number}")
        response = await client.get(ITEMS, headers=normal_user.headers, params={"limit": 1})
        assert response.json()["count"] == number + 1
        assert response.json()["data"][0]["title"] == f"item {number}"
        single = await client.get(f"{ITEMS}{created}", headers=normal_user.headers)
        assert single.status_code == 200
    # Meanwhile another caller's list came from the replica, which has none of them.
    everyone = await client.get(ITEMS, headers=superuser.headers)
    assert everyone.json()["count"] == 0
    after = await scrape(client)
    for served_by, reason, count in (("primary", "wrote", 100), ("replica", "", 1)):
        labels = {"served_by": served_by, "reason": reason}
        served = value(after, "replica_reads_total", **labels)
        assert served - value(before, "replica_reads_total", **labels) == count
    # The window is what sent the writer to the primary: once it is over (and with the
    # lag guard off in these tests), the writer reads the paused replica too.
    await asyncio.sleep(WINDOW_SECONDS)
    assert await api_titles(client, normal_user) == []


async def test_a_write_in_one_face_is_read_in_the_other(
    replica: ReplicaSetup, client: httpx.AsyncClient, normal_user: Account
) -> None:
    replica.server.pause_replay()
    await create_item(client, normal_user, "from the API")
    assert await ui_titles(normal_user) == ["from the API"]

    await asyncio.sleep(WINDOW_SECONDS)
    tab = signed_in(ItemsState, normal_user)
    events = await run(ItemsState.create, tab, {"title": "from the UI"})
    assert "Item created successfully" in events
    # A new tab and the API both read after the UI's write: from the primary.
    assert await ui_titles(normal_user) == ["from the UI", "from the API"]
    assert await api_titles(client, normal_user) == ["from the UI", "from the API"]


async def test_recent_writes_are_shared_through_redis_by_every_backend(
    replica: ReplicaSetup, client: httpx.AsyncClient, normal_user: Account
) -> None:
    first_backend = shared_writers()
    await replica.use(writers=first_backend)
    replica.server.pause_replay()
    await create_item(client, normal_user, "written through one backend")
    # Another backend (or worker): nothing in its memory, the same Redis.
    second_backend = shared_writers()
    second_backend.key_prefix = first_backend.key_prefix
    await replica.use(writers=second_backend)
    try:
        assert await api_titles(client, normal_user) == ["written through one backend"]
    finally:
        await first_backend.close()


async def test_a_replica_stopped_mid_run_sends_reads_to_the_primary_without_errors(
    replica: ReplicaSetup, client: httpx.AsyncClient, normal_user: Account, superuser: Account
) -> None:
    await replica.use(health=policy(retry_seconds=1.0))
    await create_item(client, normal_user, "first")
    await asyncio.sleep(WINDOW_SECONDS)  # the writer's reads may use the replica again
    await replica.server.caught_up()
    failures: list[str] = []
    reads = 0
    stopped = asyncio.Event()

    async def read_until_stopped_and_after() -> None:
        nonlocal reads
        deadline = None
        while deadline is None or time.monotonic() < deadline:
            for account in (normal_user, superuser):
                response = await client.get(ITEMS, headers=account.headers)
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
            events = await run(ItemsState.open_page, signed_in(ItemsState, normal_user))
            if DATABASE_UNAVAILABLE in events:
                failures.append(events)
            reads += 1
            if deadline is None and stopped.is_set():
                deadline = time.monotonic() + 1.0

    async def stop_meanwhile() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(replica.server.stop)
        stopped.set()

    before = await scrape(client)
    await asyncio.gather(*[read_until_stopped_and_after() for _ in range(3)], stop_meanwhile())
    assert failures == []
    assert replica.health.is_down()
    after = await scrape(client)
    # Reads cut off by the stop ran again on the primary ("failed"), the next ones went
    # straight there ("down").
    fell_back = sum(
        value(scraped, "replica_reads_total", served_by="primary", reason=reason) * sign
        for scraped, sign in ((after, 1), (before, -1))
        for reason in ("failed", "down")
    )
    assert fell_back > 0
    # Down, the replica is not tried on every request: reads go straight to the primary.
    await write_on_primary(Item(title="second", owner_id=normal_user.id))
    assert await api_titles(client, normal_user) == ["second", "first"]

    # Back up: once the retry delay is over, reads are the replica's again.
    replica.server.start()
    await replica.server.caught_up()
    await asyncio.sleep(1.0)
    replica.server.pause_replay()
    await write_on_primary(Item(title="third", owner_id=normal_user.id))
    assert await api_titles(client, normal_user) == ["second", "first"]
    assert not replica.health.is_down()
    assert reads > 3


# Wide enough that a loaded machine reads the replica's page well within it.
LAG_LIMIT = 2.0


async def test_reads_go_to_the_primary_while_the_replica_lags(
    replica: ReplicaSetup, client: httpx.AsyncClient, normal_user: Account
) -> None:
    await replica.use(health=policy(max_lag=LAG_LIMIT))
    await write_on_primary(Item(title="replayed", owner_id=normal_user.id))
    await replica.server.caught_up()
    assert await api_titles(client, normal_user) == ["replayed"]
    assert replica.health.lag == 0.0
    replica.server.pause_replay()
    await write_on_primary(Item(title="not replayed", owner_id=normal_user.id))
    await asyncio.sleep(0.15)  # past the probe interval (0.1 s)
    # Behind, but by less than the limit: still the replica's page.
    assert await api_titles(client, normal_user) == ["replayed"]
    assert 0 < replica.health.lag <= LAG_LIMIT
    await asyncio.sleep(LAG_LIMIT + 0.2)
    # Paused for longer than the limit: the primary's page.
    assert await api_titles(client, normal_user) == ["not replayed", "replayed"]
    assert replica.health.lag > LAG_LIMIT
    assert value(await scrape(client), "replica_lag_seconds") > LAG_LIMIT

    replica.server.resume_replay()
    await replica.server.caught_up()
    # Two probes: the second finds the replica past the first's position.
    for _ in range(2):
        await asyncio.sleep(0.15)
        assert await api_titles(client, normal_user) == ["not replayed", "replayed"]
    assert replica.health.lag <= LAG_LIMIT
    # That figure now holds for a while.
    replica.health.check_seconds = 60.0
    replica.server.pause_replay()
    await write_on_primary(Item(title="newest", owner_id=normal_user.id))
    # Within the probe interval the replica serves, stale as it is: one probe per
    # interval, not one per request.
    assert await api_titles(client, normal_user) == ["not replayed", "replayed"]


async def test_replica_positions_tell_how_far_the_replica_has_replayed(
    replica: ReplicaSetup, normal_user: Account
) -> None:
    await replica.server.caught_up()
    written, replayed = await db.replica_positions()
    assert replayed is not None and replayed <= written
    replica.server.pause_replay()
    await write_on_primary(Item(title="not replayed", owner_id=normal_user.id))
    later, still = await db.replica_positions()
    assert later > written and still is not None and still < later


async def test_the_caller_is_read_from_the_replica_while_the_primary_is_gone(
    replica: ReplicaSetup,
    client: httpx.AsyncClient,
    normal_user: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failover, in one process: the primary answers nothing (nothing listens on port
    1), the standby is up. A signed-in caller still reads; a write gets the 503."""
    await replica.server.caught_up()
    dead = db.create_async_engine("postgresql://postgres@127.0.0.1:1/app", connect_timeout=2)
    monkeypatch.setattr(db, "engine", dead)
    monkeypatch.setattr(db, "ReadOnlySessionMaker", db.read_sessions(dead))
    monkeypatch.setattr(db, "SessionMaker", async_sessionmaker(dead, class_=db.WriteSession))
    try:
        me = await client.get(f"{settings.API_V1_STR}/users/me", headers=normal_user.headers)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == normal_user.email
        listed = await client.get(f"{settings.API_V1_STR}/items/", headers=normal_user.headers)
        assert listed.status_code == 200, listed.text
        write = await client.post(
            f"{settings.API_V1_STR}/items/", headers=normal_user.headers, json={"title": "x"}
        )
        assert write.status_code == 503
    finally:
        await dead.dispose()
