"""The real backend (`reflex run --env prod`, several granian workers) configured with
DATABASE_REPLICA_URL and REDIS_URL: the settings reach the engines, and read-your-writes
holds whichever worker serves the next request."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from app.core.config import settings
from tests.conftest import TEST_REDIS_URL, Account, make_account
from tests.live.conftest import LiveBackend, run_own_backend
from tests.replica.conftest import Replica

pytestmark = [pytest.mark.live, pytest.mark.postgres]

ITEMS = f"{settings.API_V1_STR}/items/"


@pytest.fixture(scope="module")
def replica_backend(
    database: str, replica_server: Replica, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveBackend]:
    yield from run_own_backend(
        database,
        tmp_path_factory,
        "replica-backend",
        DATABASE_REPLICA_URL=replica_server.url,
        REDIS_URL=TEST_REDIS_URL,
        # Replay is paused on purpose below: the lag guard must not hide the replica.
        REPLICA_MAX_LAG_SECONDS="60",
        REPLICA_READ_YOUR_WRITES_SECONDS="120",
        GRANIAN_WORKERS="2",
    )


async def count_items(backend: httpx.AsyncClient, account: Account) -> int:
    response = await backend.get(ITEMS, headers=account.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


async def test_the_backend_reads_from_the_replica_and_never_stale_for_the_writer(
    replica_backend: LiveBackend,
    replica_server: Replica,
    client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    writer = await make_account(client, session)
    reader = await make_account(client, session, superuser=True)
    replica_server.start()
    await replica_server.caught_up()
    async with httpx.AsyncClient(base_url=replica_backend.url, timeout=30) as backend:
        assert await count_items(backend, reader) == 0
        replica_server.pause_replay()
        try:
            for number in range(1, 21):
                response = await backend.post(
                    ITEMS, json={"title": f"item {number}"}, headers=writer.headers
                )
                assert response.status_code == 200, response.text
                # Each request may land on either worker: the mark is in Redis.
                assert await count_items(backend, writer) == number
            # The superuser's list: from the paused replica, which has none of them.
            assert await count_items(backend, reader) == 0

            replica_server.stop()
            assert await count_items(backend, reader) == 20
            assert await count_items(backend, writer) == 20
        finally:
            replica_server.start()
            replica_server.resume_replay()
    log = await asyncio.to_thread(replica_backend.log.read_text)
    assert "Read replica unavailable" in log
