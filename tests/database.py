"""An isolated database for one test run: a SQLite file, or a fresh PostgreSQL database.

`TEST_DATABASE_URL` names a PostgreSQL server (any database on it); the run creates
its own `test_<random>` database there and drops it at the end. Without it, the run
uses a SQLite file in a temporary folder. The dev database is never touched.
"""

import secrets
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url


def _sync_url(url: str) -> URL:
    # Kept free of `app` imports: settings must not load before conftest sets the env.
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _admin_url(server: URL) -> URL:
    return server.set(database="postgres")


def create_test_database(server_url: str | None) -> str:
    """Return the sync URL of a new, empty database for this run."""
    if not server_url:
        folder = Path(tempfile.mkdtemp(prefix="fsr-test-"))
        return f"sqlite:///{folder / 'test.db'}"
    server = _sync_url(server_url)
    name = f"test_{secrets.token_hex(6)}"
    engine = create_engine(_admin_url(server), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_test_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(_admin_url(parsed), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    engine.dispose()
