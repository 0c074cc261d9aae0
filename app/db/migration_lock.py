"""One migration at a time per database, whoever starts it (prestart, alembic, reflex db).

Two prestarts on a fresh database (two deploys at once, a compose `up` racing a manual
`alembic upgrade head`) would otherwise both find no `alembic_version` and both run
CREATE TABLE: one fails. With the lock, the second waits, then finds the schema at head
and has nothing to do.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text

# Any fixed bigint: the advisory-lock key every process of this project agrees on.
POSTGRES_LOCK_KEY = 0x4653_525F_4D49_47  # "FSR_MIG"


def sqlite_lock_path(database: str) -> Path:
    return Path(f"{database}.migrate.lock")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on the file at `path` (created when missing), held while the
    block runs: one process at a time, on this machine or any sharing the folder.

    The file is opened without truncating it, so taking the lock leaves it unmodified:
    `reflex run`'s hot reload watches the files beside the default `app.db`, and a lock
    file rewritten at every backend start would restart the backend in a loop."""
    # Imported here: POSIX only, and PostgreSQL migrations must still run where it is absent.
    import fcntl

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # released when the descriptor closes
        yield
    finally:
        os.close(descriptor)


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the database's migration lock: on PostgreSQL a transaction-level advisory
    lock (call inside the migration transaction: it goes with the commit), on SQLite an
    exclusive lock on a file beside the database."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
        yield
        return
    database = connection.engine.url.database
    if connection.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with file_lock(sqlite_lock_path(database)):
        yield
