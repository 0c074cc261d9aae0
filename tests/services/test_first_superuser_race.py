"""Two `python -m app.prestart` at once: one superuser, one migration, both exit 0.

Left alone, two processes rarely meet inside ensure_first_superuser's window (after
the "no such user" check, before the commit). So the test holds the database's write
lock: both processes find no superuser and then wait at their INSERT. Once both are
seen waiting, the lock goes and they insert together, as a real race would.

The last test plays the same race inside the test process, where mutation testing sees
which code it runs: the losing side's fallback (find the row the winner made).
"""

import asyncio
import glob
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from alembic import command
from app.core.config import PROJECT_ROOT, settings
from app.db import SessionMaker, engine
from app.db.migration_lock import POSTGRES_LOCK_KEY, file_lock, sqlite_lock_path
from app.models import User
from app.prestart import alembic_config
from app.services import users
from tests.database import create_test_database, drop_test_database

EMAIL = "race@example.com"
WAIT_SECONDS = 60
# x86-64 and arm64 numbers of clock_nanosleep, where SQLite's busy handler sleeps.
CLOCK_NANOSLEEP = {"230", "115"}


@pytest.fixture
def migrated_database() -> Iterator[str]:
    url = create_test_database(os.environ.get("TEST_DATABASE_URL"))
    command.upgrade(alembic_config(url), "head")
    yield url
    drop_test_database(url)


def start_prestart(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FIRST_SUPERUSER": EMAIL,
        "FIRST_SUPERUSER_PASSWORD": "race-password",
    }
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "app.prestart"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_for(
    condition: Callable[[], bool],
    processes: list[subprocess.Popen[bytes]],
    where: str = "their INSERT",
) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        exited = [p.returncode for p in processes if p.poll() is not None]
        assert not exited, f"a prestart ended before waiting at {where}: {exited}"
        assert time.monotonic() < deadline, f"the prestarts never both waited at {where}"
        time.sleep(0.05)


@contextmanager
def postgres_insert_gate(url: str) -> Iterator[Callable[[], bool]]:
    """Block INSERTs into "user" (reads still pass); report when two sessions wait on it."""
    engine = create_engine(url)
    database = make_url(url).database
    try:
        with engine.connect() as gate, engine.connect() as observer:
            gate.execute(text('LOCK TABLE "user" IN SHARE ROW EXCLUSIVE MODE'))

            def both_waiting(connection: Connection = observer) -> bool:
                waiting = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :db AND wait_event_type = 'Lock'"
                    ),
                    {"db": database},
                ).scalar_one()
                connection.rollback()
                return bool(waiting >= 2)

            yield both_waiting
            gate.rollback()
    finally:
        engine.dispose()


def sleeping_in_sqlite_busy_handler(pid: int) -> bool:
    # The process's only reason to sleep is SQLite's busy handler waiting for the lock
    # (asyncio and idle worker threads wait in epoll and futexes, not in a sleep).
    for task in glob.glob(f"/proc/{pid}/task/*/syscall"):
        try:
            number = Path(task).read_text().split()[0]
        except (OSError, IndexError):
            continue
        if number in CLOCK_NANOSLEEP:
            return True
    return False


@contextmanager
def sqlite_insert_gate(
    url: str, processes: list[subprocess.Popen[bytes]]
) -> Iterator[Callable[[], bool]]:
    """Hold SQLite's write lock (WAL readers still pass); report when both writers wait."""
    gate = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    try:
        gate.execute("PRAGMA journal_mode=WAL")
        gate.execute("BEGIN IMMEDIATE")
        yield lambda: all(sleeping_in_sqlite_busy_handler(p.pid) for p in processes)
        gate.execute("ROLLBACK")
    finally:
        gate.close()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the processes wait")
def test_two_racing_prestarts_make_one_superuser_and_both_succeed(
    migrated_database: str, tmp_path: Path
) -> None:
    is_sqlite = make_url(migrated_database).get_backend_name() == "sqlite"
    processes: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"prestart-{n}.log" for n in range(2)]
    gate = (
        sqlite_insert_gate(migrated_database, processes)
        if is_sqlite
        else postgres_insert_gate(migrated_database)
    )
    try:
        with gate as both_waiting:
            processes.extend(start_prestart(migrated_database, log) for log in logs)
            wait_for(both_waiting, processes)
        codes = [p.wait(WAIT_SECONDS) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = "\n".join(log.read_text() for log in logs)
    assert codes == [0, 0], output
    engine = create_engine(migrated_database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text('SELECT email, is_superuser FROM "user"')).all()
    finally:
        engine.dispose()
    assert [(email, bool(flag)) for email, flag in rows] == [(EMAIL, True)]


async def waiting_on_a_lock() -> bool:
    """In this process: a query waits for another transaction's lock."""
    if engine.dialect.name == "sqlite":
        return await asyncio.to_thread(sleeping_in_sqlite_busy_handler, os.getpid())
    async with engine.connect() as observer:
        waiting = (
            await observer.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        ).scalar_one()
    return bool(waiting >= 1)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the insert wait")
async def test_superuser_committed_inside_the_window_is_returned() -> None:
    """The same race in one process, so the losing side's fallback is seen here.

    Another transaction has inserted the superuser but not committed: the lookup finds
    nobody and the INSERT waits for it. Once it commits, the INSERT loses on the unique
    email and ensure_first_superuser returns the row the other side made.
    """
    async with SessionMaker() as other, SessionMaker() as own:
        assert not await waiting_on_a_lock()
        made = User(email=settings.FIRST_SUPERUSER, hashed_password="x", is_superuser=True)
        other.add(made)
        await other.flush()
        ensuring = asyncio.create_task(users.ensure_first_superuser(own))
        deadline = time.monotonic() + WAIT_SECONDS
        while not await waiting_on_a_lock():
            assert not ensuring.done(), "ensure_first_superuser never waited at its INSERT"
            assert time.monotonic() < deadline, "ensure_first_superuser never reached its INSERT"
            await asyncio.sleep(0.02)
        await other.commit()
        returned = await ensuring
        assert returned.id == made.id
        assert returned.hashed_password == "x"


# Racing migrations ---------------------------------------------------------------

# x86-64 and arm64 numbers of flock(2), where a process waits for the SQLite file lock.
FLOCK = {"73", "32"}


def waiting_in_flock(pid: int) -> bool:
    for task in glob.glob(f"/proc/{pid}/task/*/syscall"):
        try:
            number = Path(task).read_text().split()[0]
        except (OSError, IndexError):
            continue
        if number in FLOCK:
            return True
    return False


@contextmanager
def migration_gate(
    url: str, processes: list[subprocess.Popen[bytes]]
) -> Iterator[Callable[[], bool]]:
    """Hold the migration lock; report when both prestarts wait for it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with file_lock(sqlite_lock_path(parsed.database or "")):
            yield lambda: all(waiting_in_flock(p.pid) for p in processes)
        return
    engine = create_engine(url)
    try:
        with engine.connect() as gate, engine.connect() as observer:
            gate.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_LOCK_KEY})

            def both_waiting() -> bool:
                waiting = observer.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
                        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    ),
                    {"db": parsed.database},
                ).scalar_one()
                observer.rollback()
                return bool(waiting >= 2)

            yield both_waiting
            gate.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRES_LOCK_KEY})
            gate.commit()
    finally:
        engine.dispose()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the processes wait")
def test_two_prestarts_on_an_empty_database_migrate_once_and_both_succeed(
    tmp_path: Path,
) -> None:
    # Both start before either has made a table: without the migration lock, both run
    # the first migration's CREATE TABLE and one of them fails.
    url = create_test_database(os.environ.get("TEST_DATABASE_URL"))
    processes: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"prestart-{n}.log" for n in range(2)]
    try:
        with migration_gate(url, processes) as both_waiting:
            processes.extend(start_prestart(url, log) for log in logs)
            wait_for(both_waiting, processes, where="the migration lock")
        codes = [p.wait(WAIT_SECONDS) for p in processes]
        output = "\n".join(log.read_text() for log in logs)
        assert codes == [0, 0], output
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                version = connection.execute(text("SELECT version_num FROM alembic_version"))
                users_made = connection.execute(text('SELECT count(*) FROM "user"')).scalar_one()
                head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
                assert [row[0] for row in version] == [head]
                assert users_made == 1
        finally:
            engine.dispose()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        drop_test_database(url)
