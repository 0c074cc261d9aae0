"""A real streaming replica of the run's PostgreSQL primary (scripts/dev/replica.sh), and the
app pointed at it."""

import asyncio
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.db import recent_writes
from app.db.recent_writes import RecentWriters
from app.db.replica_health import ReplicaHealth
from devtools.servers import ROOT, free_port
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.skip_policy import on_postgres, unavailable

SCRIPT = ROOT / "scripts/dev/replica.sh"
# Generous: the primary is shared, and may be in the middle of someone's bulk load.
REPLAY_SECONDS = 120
WINDOW_SECONDS = 2.0


def replica_script(*arguments: str | int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *map(str, arguments)], capture_output=True, text=True, timeout=120
    )


@dataclass
class Replica:
    """The replica server on `port`, streaming the run's database from the primary."""

    port: int
    url: str

    def stop(self) -> None:
        result = replica_script("stop", self.port)
        assert result.returncode == 0, result.stderr

    def start(self) -> None:
        result = replica_script("start", self.port)
        assert result.returncode == 0, result.stdout + result.stderr

    def sql(self, statement: str) -> str:
        """One statement on the replica as the superuser, its first value as text."""
        database = make_url(self.url).database
        result = subprocess.run(
            ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", str(database), "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    async def caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary has written so far
        (the run's CREATE DATABASE and migrations included)."""
        async with db.engine.connect() as primary:
            position = (await primary.execute(text("SELECT pg_current_wal_lsn()"))).scalar_one()
        deadline = time.monotonic() + REPLAY_SECONDS
        while True:
            try:
                if self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{position}'") == "t":
                    return
            except AssertionError:
                pass  # the database itself is not replayed yet
            if time.monotonic() > deadline:
                pytest.fail(f"the replica did not replay up to {position} in {REPLAY_SECONDS} s")
            await asyncio.sleep(0.05)

    def pause_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="session")
def replica_server() -> Iterator[Replica]:
    if not on_postgres():
        pytest.skip("a streaming replica needs the PostgreSQL primary")
    port = free_port()
    result = replica_script("start", port)
    if result.returncode != 0:
        replica_script("remove", port)
        unavailable(
            "the replica tests need PostgreSQL's server tools and a primary that allows "
            f"replication (scripts/dev/replica.sh start failed: {result.stderr.strip()})"
        )
    url = make_url(TEST_DATABASE_URL).set(host="127.0.0.1", port=port)
    try:
        yield Replica(port, url.render_as_string(hide_password=False))
    finally:
        replica_script("remove", port)


@dataclass
class ReplicaSetup:
    """The app's replica policy in force for one test, with the knobs tests turn."""

    server: Replica
    engine: AsyncEngine
    health: ReplicaHealth
    writers: RecentWriters
    monkeypatch: pytest.MonkeyPatch

    async def use(
        self, health: ReplicaHealth | None = None, writers: RecentWriters | None = None
    ) -> None:
        if health is not None:
            self.health = health
            self.monkeypatch.setattr(db, "replica_health", health)
            # Probes until one bounds the lag, as a running backend has long done: the
            # very first knows no earlier position to bound it with.
            await self.server.caught_up()
            deadline = time.monotonic() + REPLAY_SECONDS
            while not await health.usable(db.replica_positions):
                assert time.monotonic() < deadline, f"the replica lags {health.lag} s"
                await asyncio.sleep(health.check_seconds)
        if writers is not None:
            self.writers = writers
            self.monkeypatch.setattr(recent_writes, "recent_writers", writers)


def policy(max_lag: float = 1000.0, retry_seconds: float = 1.0) -> ReplicaHealth:
    # A lag limit that never trips by default: tests pause replay to make the replica
    # stale on purpose, and only the lag tests want the guard.
    return ReplicaHealth(retry_seconds=retry_seconds, max_lag=max_lag, check_seconds=0.1)


def shared_writers() -> RecentWriters:
    """Marks in the real Redis, under a prefix of the test's own."""
    return RecentWriters(
        WINDOW_SECONDS, redis_url=TEST_REDIS_URL, key_prefix=f"test-rw-{secrets.token_hex(6)}"
    )


@pytest.fixture
async def replica(
    replica_server: Replica, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[ReplicaSetup]:
    """The app reading from the real replica, as DATABASE_REPLICA_URL would set it, with
    read-your-writes marks in memory."""
    replica_server.start()
    await replica_server.caught_up()
    engine = db.create_async_engine(replica_server.url, connect_timeout=2)
    writers = RecentWriters(WINDOW_SECONDS)
    setup = ReplicaSetup(replica_server, engine, policy(), writers, monkeypatch)
    monkeypatch.setattr(db, "replica_engine", engine)
    monkeypatch.setattr(db, "ReplicaSessionMaker", db.read_sessions(engine))
    await setup.use(setup.health, writers)
    try:
        yield setup
    finally:
        replica_server.start()
        replica_server.resume_replay()
        await setup.writers.close()
        await engine.dispose()
