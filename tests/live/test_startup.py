"""A backend that cannot start stops at once with one clear line and a non-zero exit.

A container with a wrong DATABASE_URL (or a database that never came up) must not run
unhealthy forever: it exits, so the orchestrator restarts it and a rolling deploy rolls
back (scripts/deploy/deploy.sh). The same holds for a missing secret in production.
"""

import os
import re
import subprocess
from collections.abc import Generator
from pathlib import Path

import httpx
import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from reflex.utils.exec import HOTRELOAD_IGNORE_PATTERNS
from sqlalchemy import create_engine, text

from app.prestart import alembic_config
from devtools.servers import free_port, stop_process_group
from tests.database import create_test_database, drop_test_database
from tests.live.conftest import backend_env, serve_backend, start_backend

pytestmark = pytest.mark.live


def start_in(tmp_path: Path, **settings_env: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "backend.log"
    env = backend_env(
        REFLEX_WEB_WORKDIR=str(tmp_path / "web"),
        REFLEX_STATES_WORKDIR=str(tmp_path / "states"),
        **settings_env,
    )
    return start_backend(env, log, free_port()), log


def test_an_unreachable_database_stops_the_backend_with_one_line(tmp_path: Path) -> None:
    # Nothing listens on port 1; the password must never reach the log.
    process, log = start_in(
        tmp_path,
        DATABASE_URL="postgresql://app:do-not-log-me@127.0.0.1:1/app",
        DB_WAIT_SECONDS="2",
    )
    try:
        assert process.wait(120) != 0
    finally:
        stop_process_group(process)
    text = log.read_text()
    critical = [line for line in text.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1, text
    assert "did not answer within 2 s (DB_WAIT_SECONDS)" in critical[0]
    assert "postgresql+psycopg://app:***@127.0.0.1:1/app" in critical[0]
    assert "do-not-log-me" not in text
    assert "Traceback" not in text


def test_a_missing_secret_in_production_stops_the_backend_with_one_line(tmp_path: Path) -> None:
    process, log = start_in(tmp_path, ENVIRONMENT="production", SECRET_KEY="")
    try:
        assert process.wait(120) != 0
    finally:
        stop_process_group(process)
    text = log.read_text()
    assert "configuration error:" in text and "SECRET_KEY must be set" in text, text
    assert "Traceback" not in text


def serve(tmp_path: Path, **settings_env: str) -> Generator[str, None, None]:
    """A backend until the generator is closed; its URL once it answers /api/ping."""
    env = backend_env(
        REFLEX_WEB_WORKDIR=str(tmp_path / "web"),
        REFLEX_STATES_WORKDIR=str(tmp_path / "states"),
        **settings_env,
    )
    # A fresh clone's configuration: whatever database the test run itself uses is gone.
    for name in ("DATABASE_URL", "POSTGRES_SERVER"):
        if name not in settings_env:
            env.pop(name, None)
    process, port = serve_backend(env, tmp_path / "backend.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(process)


def test_a_plain_local_run_migrates_sqlite_and_creates_the_first_superuser(
    tmp_path: Path,
) -> None:
    # A fresh clone: no DATABASE_URL, the embedded SQLite default, two workers racing
    # to prepare it (they take turns on a file lock).
    database = tmp_path / "data" / "app.db"
    backend = serve(
        tmp_path,
        ENVIRONMENT="local",
        SQLITE_PATH=str(database),
        GRANIAN_WORKERS="2",
        FIRST_SUPERUSER="first@example.com",
        FIRST_SUPERUSER_PASSWORD="first-superuser-password",
    )
    url = next(backend)
    try:
        login = httpx.post(
            f"{url}/api/v1/login/access-token",
            data={"username": "first@example.com", "password": "first-superuser-password"},
            timeout=30,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = httpx.get(
            f"{url}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert me.json()["is_superuser"] is True
    finally:
        backend.close()
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            count = connection.execute(text('SELECT count(*) FROM "user"')).scalar_one()
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert (current, count) == (head, 1)
    log = (tmp_path / "backend.log").read_text()
    assert "Traceback" not in log, log

    # `reflex run`'s hot reload watches the files beside the default app.db: starting
    # again on the prepared database must leave every one it does not ignore untouched,
    # or a dev backend restarts itself in a loop.
    before = watched_files(database.parent)
    assert before, "the lock files are there to watch"
    again = serve(tmp_path, ENVIRONMENT="local", SQLITE_PATH=str(database))
    next(again)
    again.close()
    assert watched_files(database.parent) == before


def watched_files(folder: Path) -> dict[str, int]:
    """The files in `folder` Reflex's dev reload reacts to, with their modification time."""
    ignored = [re.compile(pattern) for pattern in HOTRELOAD_IGNORE_PATTERNS]
    return {
        path.name: path.stat().st_mtime_ns
        for path in folder.iterdir()
        if path.is_file() and not any(pattern.match(str(path)) for pattern in ignored)
    }


def test_production_on_an_unmigrated_database_says_so_in_one_line(tmp_path: Path) -> None:
    database = create_test_database(os.environ.get("TEST_DATABASE_URL"))
    backend = serve(
        tmp_path,
        ENVIRONMENT="production",
        DATABASE_URL=database,
        SECRET_KEY="a-production-secret-for-this-test-only",
        FIRST_SUPERUSER_PASSWORD="not-the-default-password",
        POSTGRES_PASSWORD="not-the-default-password",
    )
    try:
        next(backend)
        log = (tmp_path / "backend.log").read_text()
    finally:
        backend.close()
        drop_test_database(database)
    # The line comes from the lifespan, which finishes before the backend answers.
    lines = [line for line in log.splitlines() if "is not migrated" in line]
    assert len(lines) == 1, log
    assert "CRITICAL" in lines[0] and "run `python -m app.prestart`" in lines[0]
    assert "revision none" in lines[0]
    # Nothing was migrated behind the operator's back.
    assert "Running upgrade" not in log
