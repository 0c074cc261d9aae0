"""The alembic history and `python -m app.prestart`, on a fresh database of the run's kind."""

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from alembic import command
from app import db
from app.core.config import PROJECT_ROOT, async_driver_url
from app.prestart import alembic_config, warn_if_not_migrated

IGNORED = shutil.ignore_patterns("__pycache__")


def test_upgrade_check_downgrade_and_upgrade_again(fresh_database: str) -> None:
    config = alembic_config(fresh_database)
    command.upgrade(config, "head")
    engine = create_engine(fresh_database)
    try:
        schema = inspect(engine)
        assert {"user", "item", "alembic_version"} <= set(schema.get_table_names())
        user_indexes = {ix["name"]: ix for ix in schema.get_indexes("user")}
        assert user_indexes["ix_user_email"]["unique"]
        # The owner's newest-first index also serves the foreign key's lookups.
        item_indexes = {ix["name"]: ix["column_names"] for ix in schema.get_indexes("item")}
        assert item_indexes["ix_item_owner_id_created_at_id"] == ["owner_id", "created_at", "id"]
        [foreign_key] = schema.get_foreign_keys("item")
        assert foreign_key["referred_table"] == "user"
        assert foreign_key["options"].get("ondelete") == "CASCADE"
        # The models and the history agree: autogenerate finds nothing to add.
        command.check(config)
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert {"user", "item"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def run_prestart(database_url: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FIRST_SUPERUSER": "first@example.com",
        "FIRST_SUPERUSER_PASSWORD": "first-password",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.prestart"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prestart_is_idempotent(fresh_database: str) -> None:
    for _ in range(2):
        result = run_prestart(fresh_database)
        assert result.returncode == 0, result.stderr
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text('SELECT email, is_superuser FROM "user"')).all()
    finally:
        engine.dispose()
    assert [(email, bool(flag)) for email, flag in rows] == [("first@example.com", True)]


def test_prestart_gives_up_with_a_clear_message_when_the_database_is_down() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    result = run_prestart(f"postgresql://postgres@127.0.0.1:{closed_port}/app", DB_WAIT_SECONDS="2")
    assert result.returncode == 1
    assert "did not answer within 2 s" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("revision", "reported"),
    [(None, True), ("head", False), ("9999_from_a_newer_release", False)],
)
async def test_a_backend_reports_a_database_behind_its_migrations_only(
    fresh_database: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    revision: str | None,
    reported: bool,
) -> None:
    # Behind (never migrated) is reported; at head, or ahead as a rolling deploy's older
    # replica sees it, is not.
    config = alembic_config(fresh_database)
    if revision == "head":
        command.upgrade(config, "head")
    elif revision:
        command.upgrade(config, "head")
        sync = create_engine(fresh_database)
        with sync.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
        sync.dispose()
    engine = db.create_async_engine(async_driver_url(fresh_database))
    monkeypatch.setattr(db, "engine", engine)
    try:
        with caplog.at_level(logging.CRITICAL, logger="app.prestart"):
            await warn_if_not_migrated()
    finally:
        await engine.dispose()
    lines = [r.getMessage() for r in caplog.records if r.name == "app.prestart"]
    assert len(lines) == int(reported), lines
    if reported:
        assert "is not migrated (revision none" in lines[0]
        assert "python -m app.prestart" in lines[0]


def test_counts_are_backfilled_and_the_migration_reverses(fresh_database: str) -> None:
    """0002 on a database that already holds rows: the counters start exact; down to
    0001 leaves no trace of them (and the indexes as they were); up again, exact again."""
    config = alembic_config(fresh_database)
    command.upgrade(config, "0001")
    engine = create_engine(fresh_database)
    now = "CURRENT_TIMESTAMP"
    counters = (
        "SELECT (SELECT sum(n) FROM row_total WHERE table_name = 'item'),"
        " (SELECT sum(n) FROM row_total WHERE table_name = 'user'),"
        " (SELECT sum(n) FROM item_count WHERE owner_id = :owner)"
    )
    try:
        with engine.begin() as connection:
            owners = [
                connection.execute(
                    text(
                        'INSERT INTO "user" (email, is_active, is_superuser, hashed_password,'
                        f" created_at, updated_at, password_changed_at) VALUES (:email, true,"
                        f" false, 'x', {now}, {now}, {now}) RETURNING id"
                    ),
                    {"email": f"owner{n}@example.com"},
                ).scalar_one()
                for n in range(3)
            ]
            for n in range(7):
                connection.execute(
                    text(
                        "INSERT INTO item (title, owner_id, created_at, updated_at)"
                        f" VALUES ('old', :owner, {now}, {now})"
                    ),
                    {"owner": owners[n % 2]},
                )
        for _ in range(2):
            command.upgrade(config, "head")
            with engine.connect() as connection:
                row = connection.execute(text(counters), {"owner": owners[0]}).one()
                assert tuple(row) == (7, 3, 4)
            command.downgrade(config, "0001")
            schema = inspect(engine)
            assert not {"item_count", "row_total"} & set(schema.get_table_names())
            assert {ix["name"] for ix in schema.get_indexes("item")} == {
                "ix_item_owner_id",
                "ix_item_created_at",
                "ix_item_owner_id_created_at",
            }
            with engine.begin() as connection:
                # No trigger is left to count (or fail on) a write.
                connection.execute(
                    text(
                        "INSERT INTO item (title, owner_id, created_at, updated_at)"
                        f" VALUES ('gone', :owner, {now}, {now})"
                    ),
                    {"owner": owners[2]},
                )
                connection.execute(text("DELETE FROM item WHERE title = 'gone'"))
    finally:
        engine.dispose()


def test_an_autogenerated_migration_passes_ruff_and_mypy(tmp_path: Path) -> None:
    """`alembic revision --autogenerate`, as docs/development.md says to make one, writes a file
    the project's own checks accept unedited (its template, env.py's rendering of
    SQLModel's column types, alembic.ini's ruff hooks). With no history, every table is
    new, so every column type the models use is rendered."""
    shutil.copytree(PROJECT_ROOT / "alembic", tmp_path / "alembic", ignore=IGNORED)
    for old in (tmp_path / "alembic" / "versions").glob("*.py"):
        old.unlink()
    shutil.copy(PROJECT_ROOT / "alembic.ini", tmp_path / "alembic.ini")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    bin_dir = Path(sys.executable).parent

    def run(*command: str) -> str:
        done = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    config = str(tmp_path / "alembic.ini")
    run(str(bin_dir / "alembic"), "-c", config, "revision", "--autogenerate", "-m", "all tables")
    (written,) = (tmp_path / "alembic" / "versions").glob("*.py")
    text = written.read_text()
    assert 'op.create_table(\n        "user_session"' in text and "sqlmodel" not in text
    run(str(bin_dir / "ruff"), "check", "--no-cache", str(written))
    run(str(bin_dir / "ruff"), "format", "--check", "--no-cache", str(written))
    run(str(bin_dir / "mypy"), "--no-incremental", str(written))
    # And it builds the schema.
    run(str(bin_dir / "alembic"), "-c", config, "upgrade", "head")


def test_accounts_from_before_0004_count_as_verified(fresh_database: str) -> None:
    """Issue #25: nobody is locked out by REQUIRE_EMAIL_VERIFICATION for an address made
    before anyone was asked to verify one; a row inserted afterwards starts unverified."""
    config = alembic_config(fresh_database)
    command.upgrade(config, "0003")
    engine = create_engine(fresh_database)
    insert = text(
        'INSERT INTO "user" (email, is_active, is_superuser, hashed_password, created_at,'
        " updated_at, password_changed_at) VALUES (:email, true, false, 'x',"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    verified = text('SELECT email, email_verified FROM "user" ORDER BY email')
    try:
        with engine.begin() as connection:
            connection.execute(insert, {"email": "old@example.com"})
        command.upgrade(config, "0004")
        with engine.begin() as connection:
            connection.execute(insert, {"email": "new@example.com"})
            rows = [(email, bool(flag)) for email, flag in connection.execute(verified)]
        assert rows == [("new@example.com", False), ("old@example.com", True)]
        command.downgrade(config, "0003")
        assert "email_verified" not in {c["name"] for c in inspect(engine).get_columns("user")}
    finally:
        engine.dispose()
