"""scripts/deploy/backup.sh and scripts/deploy/restore.sh on the stack's PostgreSQL database."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT
from devtools.servers import free_port
from tests.database import drop_test_database
from tests.deploy.conftest import Stack, start, wait_for
from tests.factories import random_email, random_lower_string


def script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
            return {
                table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
                for table in sorted(tables)
            }
    finally:
        engine.dispose()


@pytest.fixture
def restored_url(stack: Stack) -> Iterator[str]:
    url = make_url(stack.database_url).set(database=f"restored_{random_lower_string()[:12]}")
    rendered = url.render_as_string(hide_password=False)
    yield rendered
    drop_test_database(rendered)


def seed(stack: Stack, email: str, password: str) -> None:
    """A user with items, made through the proxy like any client would."""
    stack.create_user(email, password)
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        token = client.post(
            "/api/v1/login/access-token", data={"username": email, "password": password}
        ).json()["access_token"]
        for number in range(3):
            created = client.post(
                "/api/v1/items/",
                json={"title": f"Backed up {number}", "description": "kept"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 200, created.text


def test_backup_then_restore_into_a_new_database(
    stack: Stack, restored_url: str, tmp_path: Path
) -> None:
    email, password = random_email(), "restored-user-password"
    seed(stack, email, password)
    backups = tmp_path / "backups"

    backup = script("scripts/deploy/backup.sh", "--dir", str(backups), stack.database_url)
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip().splitlines()[-1])
    assert dump.parent == backups and dump.exists()
    database = make_url(stack.database_url).database
    assert dump.name.startswith(f"{database}-") and dump.suffix == ".dump"
    assert not list(backups.glob("*.partial"))

    restore = script("scripts/deploy/restore.sh", str(dump), restored_url)
    assert restore.returncode == 0, restore.stderr
    assert "creating database" in restore.stderr

    source, copy = row_counts(stack.database_url), row_counts(restored_url)
    assert copy == source
    assert {"user", "item", "alembic_version"} <= set(copy)
    assert copy["item"] >= 3 and copy["user"] >= 2

    # The restored database alone serves a login for that user (the REST API on it).
    port = free_port()
    env = {**stack.env, "DATABASE_URL": restored_url}
    api = start(
        "uvicorn on the restored database",
        [sys.executable, "-m", "uvicorn", "app.api.main:api",
         "--host", "127.0.0.1", "--port", str(port)],
        env,
        tmp_path / "restored-api.log",
        port,
    )  # fmt: skip
    try:
        wait_for(api, f"http://127.0.0.1:{port}/api/v1/utils/health-check/", timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            login = client.post(
                "/api/v1/login/access-token", data={"username": email, "password": password}
            )
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert client.get("/api/v1/users/me", headers=headers).json()["email"] == email
            items = client.get("/api/v1/items/", headers=headers).json()
            assert items["count"] == 3
    finally:
        api.stop()


def test_restore_refuses_to_restore_over_existing_tables_without_clean(
    stack: Stack, restored_url: str, tmp_path: Path
) -> None:
    backup = script("scripts/deploy/backup.sh", "--dir", str(tmp_path), stack.database_url)
    dump = backup.stdout.strip().splitlines()[-1]
    assert script("scripts/deploy/restore.sh", dump, restored_url).returncode == 0
    again = script("scripts/deploy/restore.sh", dump, restored_url)
    assert again.returncode == 1, again.stderr
    assert "pg_restore failed; the transaction was rolled back" in again.stderr
    cleaned = script("scripts/deploy/restore.sh", "--clean", dump, restored_url)
    assert cleaned.returncode == 0, cleaned.stderr
    assert row_counts(restored_url) == row_counts(stack.database_url)


def test_backup_retention_by_age_and_by_count(stack: Stack, tmp_path: Path) -> None:
    database = make_url(stack.database_url).database
    old = tmp_path / f"{database}-20000101T000000Z.dump"
    recent = [tmp_path / f"{database}-2099010{day}T000000Z.dump" for day in (1, 2)]
    other = tmp_path / "otherdb-20000101T000000Z.dump"
    for path in (old, *recent, other):
        path.write_bytes(b"placeholder")
    month_ago = time.time() - 30 * 86400
    for path in (old, other):
        os.utime(path, (month_ago, month_ago))
    for hours, path in zip((3, 2), recent, strict=True):
        stamp = time.time() - hours * 3600
        os.utime(path, (stamp, stamp))

    result = script(
        "scripts/deploy/backup.sh", "--dir", str(tmp_path), "--keep-days", "7", "--keep", "2",
        stack.database_url,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    newest = Path(result.stdout.strip().splitlines()[-1])
    remaining = sorted(path.name for path in tmp_path.glob("*.dump"))
    # Older than 7 days: gone. Of the rest, the 2 newest stay. Other databases: untouched.
    assert remaining == sorted([newest.name, recent[1].name, other.name])


def test_backup_without_a_database_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "POSTGRES_SERVER")}
    env.pop("BACKUP_DATABASE_URL", None)
    result = script("scripts/deploy/backup.sh", "--dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "no database" in result.stderr
    assert not list(tmp_path.iterdir())
