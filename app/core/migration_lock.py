"""One migration at a time per database, whoever starts it (prestart, alembic, reflex db).

Two prestarts on a fresh database (two deploys at once, a compose `up` racing a manual
`alembic upgrade head`) would otherwise both find no `alembic_version` and both run
CREATE TABLE: one fails. With the lock, the second waits, then finds the schema at head
and has nothing to do.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, text

# Any fixed bigint: the advisory-lock key every process of this project agrees on.
POSTGRES_LOCK_KEY = 0x4653_525F_4D49_47  # "FSR_MIG"


def sqlite_lock_path(database: str) -> Path:
    return Path(f"{database}.migrate.lock")


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
    # Imported here: POSIX only, and PostgreSQL migrations must still run where it is absent.
    import fcntl

    with sqlite_lock_path(database).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield
