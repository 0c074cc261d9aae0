"""The app's engines on a real Patroni cluster (scripts/dev/ha.sh): the multi-host URLs
reach the leader and a standby, and when the leader dies mid-stream every acknowledged
write is on the new leader, the errors meanwhile are the ones answered 503, and writes
come back by themselves."""

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.core.config import Settings
from devtools.servers import ROOT
from tests.skip_policy import on_postgres, unavailable

pytestmark = pytest.mark.postgres

SCRIPT = ROOT / "scripts/dev/ha.sh"
# The target: writes back within 30 s of the leader's death.
RESUME_SECONDS = 30


@dataclass
class Cluster:
    root: str
    urls: dict[str, str]

    def run(self, *arguments: str) -> str:
        result = subprocess.run(
            ["bash", str(SCRIPT), *arguments],
            env={**os.environ, "HA_ROOT": self.root},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    if not on_postgres():
        pytest.skip("a Patroni cluster is PostgreSQL")
    ha = Cluster(f"/tmp/full-stack-reflex-ha-test-{secrets.token_hex(4)}", {})
    try:
        started = ha.run("start")
    except AssertionError as error:
        ha.run("remove")
        unavailable(f"the failover tests need patroni and etcd (ha.sh start failed: {error})")
    ha.urls = dict(line.split("=", 1) for line in started.splitlines() if "=" in line)
    try:
        yield ha
    finally:
        ha.run("remove")


@pytest.fixture
async def engines(cluster: Cluster) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """The primary and replica engines the app builds from the cluster's URLs."""
    settings = Settings(
        _env_file=None,
        DATABASE_URL=cluster.urls["DATABASE_URL"],
        DATABASE_REPLICA_URL=cluster.urls["DATABASE_REPLICA_URL"],
    )
    assert settings.async_replica_url is not None
    primary = db.create_async_engine(settings.async_database_url)
    replica = db.create_async_engine(settings.async_replica_url, connect_timeout=2)
    yield primary, replica
    await primary.dispose()
    await replica.dispose()


async def is_standby(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return bool((await connection.execute(text("SELECT pg_is_in_recovery()"))).scalar_one())


async def test_the_urls_reach_the_leader_and_a_standby(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    primary, replica = engines
    assert not await is_standby(primary)
    assert await is_standby(replica)


async def port_of(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT inet_server_port()"))).scalar_one())


async def replica_on_the_synchronous_standby(
    cluster: Cluster, primary: AsyncEngine
) -> tuple[AsyncEngine, int]:
    """A replica engine whose URL names first the standby Patroni will promote, so that
    it reads there until the leader dies."""
    async with primary.connect() as connection:
        name = (
            await connection.execute(
                text("SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync'")
            )
        ).scalar_one()
    url = cluster.urls["DATABASE_REPLICA_URL"]
    hosts = url.split("@", 1)[1].split("/", 1)[0].split(",")
    promoted = hosts[int(str(name).removeprefix("pg")) - 1]
    ordered = ",".join([promoted, *(host for host in hosts if host != promoted)])
    settings = Settings(
        _env_file=None, DATABASE_URL=url, DATABASE_REPLICA_URL=url.replace(",".join(hosts), ordered)
    )
    assert settings.async_replica_url is not None
    replica = db.create_async_engine(settings.async_replica_url, connect_timeout=2)
    return replica, int(promoted.rsplit(":", 1)[1])


async def test_no_acknowledged_write_is_lost_when_the_leader_dies(
    cluster: Cluster, engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    primary, _ = engines
    async with primary.begin() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS failover_probe (n int)"))
    replica, promoted = await replica_on_the_synchronous_standby(cluster, primary)
    assert await port_of(replica) == promoted
    acknowledged: list[int] = []
    refused: list[BaseException] = []
    killed_at = resumed_at = 0.0
    deadline = time.monotonic() + 90
    number = 0
    # 40 writes, the leader's death, then writes until 20 more were acknowledged.
    while time.monotonic() < deadline and len(acknowledged) < 60:
        if number == 40:
            await asyncio.to_thread(cluster.run, "kill-leader")
            killed_at = time.monotonic()
        number += 1
        try:
            async with primary.begin() as connection:
                await connection.execute(
                    text("INSERT INTO failover_probe VALUES (:n)"), {"n": number}
                )
        except db.DATABASE_UNAVAILABLE_ERRORS as error:
            refused.append(error)
            await asyncio.sleep(0.2)
            continue
        acknowledged.append(number)
        if killed_at and not resumed_at:
            resumed_at = time.monotonic()
        await asyncio.sleep(0.05)
    assert killed_at and resumed_at, f"writes did not resume: {refused[-1:]}"
    assert resumed_at - killed_at < RESUME_SECONDS
    assert refused, "the leader's death went unnoticed: no write was refused"
    async with primary.connect() as connection:
        stored = set((await connection.execute(text("SELECT n FROM failover_probe"))).scalars())
    assert set(acknowledged) <= stored

    # The replica policy's probe finds its standby promoted, and the replica pool moves
    # to the standby that is left.
    monkeypatch.setattr(db, "engine", primary)
    monkeypatch.setattr(db, "replica_engine", replica)
    try:
        assert (await db.replica_positions())[1] is None
        assert (await db.replica_positions())[1] is not None
        assert await is_standby(replica)
        assert await port_of(replica) != promoted
    finally:
        await replica.dispose()
