"""Wait for the database, migrate it to head, create the first superuser.

Run before every start (`python -m app.prestart`); every step is idempotent. A local
backend on the embedded SQLite default runs the last two steps itself at startup
(`prepare_at_startup`); any other backend only checks that they were run.
"""

import asyncio
import logging
import sys
from contextlib import ExitStack
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from tenacity import RetryError, retry, stop_after_delay, wait_fixed

from alembic import command
from app import db
from app.core.config import PROJECT_ROOT, settings
from app.db import dispose_engines, session_scope
from app.db.migration_lock import file_lock
from app.observability.logging import configure_logging
from app.services.users import ensure_first_superuser

logger = logging.getLogger("app.prestart")


def wait_for_database(engine: Engine, seconds: int) -> None:
    """Poll with `SELECT 1` until the database answers, for at most `seconds`."""

    @retry(stop=stop_after_delay(seconds), wait=wait_fixed(1), reraise=False)
    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    ping()


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["configure_logger"] = False
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def create_first_superuser() -> None:
    async with session_scope() as session:
        user = await ensure_first_superuser(session)
    await dispose_engines()
    logger.info("First superuser: %s", user.email)


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def make_sqlite_folder(url: str) -> None:
    """SQLite creates a missing file, not a missing folder (SQLITE_PATH=data/app.db)."""
    if url.startswith("sqlite"):
        _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)


async def prepare_at_startup() -> None:
    """Migrate and create the first superuser (local SQLite default), or say in one line
    that the database is behind this code (anywhere else)."""
    if settings.prepares_itself:
        await _migrate_and_seed_locked()
    else:
        await warn_if_not_migrated()


async def _migrate_and_seed_locked() -> None:
    # Every worker process runs the lifespan: an exclusive lock on a file beside the
    # database lets one migrate and seed while the others wait, then find nothing to do.
    path = _sqlite_path(settings.database_url)
    lock = file_lock(path.with_name(f"{path.name}.startup.lock"))
    with ExitStack() as held:
        # Waiting for the lock, and alembic, are blocking: in threads, not on the loop.
        await asyncio.to_thread(held.enter_context, lock)
        await asyncio.to_thread(migrate)
        async with session_scope() as session:
            user = await ensure_first_superuser(session)
    logger.info("Database at head, first superuser: %s", user.email)


def _revisions(connection: Connection) -> tuple[str | None, str | None, set[str]]:
    script = ScriptDirectory.from_config(alembic_config())
    current = MigrationContext.configure(connection).get_current_revision()
    known = {revision.revision for revision in script.walk_revisions()}
    return current, script.get_current_head(), known


async def warn_if_not_migrated() -> None:
    try:
        async with db.engine.connect() as connection:
            current, head, known = await connection.run_sync(_revisions)
    except SQLAlchemyError as error:
        # Only a check: a database that answered SELECT 1 but not this keeps the backend
        # up, to answer 503s and recover, as any later outage would.
        logger.warning("Could not read the database's migration revision: %s", error)
        return
    # A revision this code does not know is a newer one (a rolling deploy migrated ahead
    # of this replica): expected, and compatible by the migration rule.
    if current != head and (current is None or current in known):
        logger.critical(
            "The database at %s is not migrated (revision %s, this code needs %s): "
            "run `python -m app.prestart` before starting the backend",
            db.engine.url.render_as_string(hide_password=True),
            current or "none",
            head,
        )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    configure_logging()
    url = settings.database_url
    engine = create_engine(url)
    safe_url = engine.url.render_as_string(hide_password=True)
    logger.info("Waiting for the database at %s", safe_url)
    try:
        wait_for_database(engine, settings.DB_WAIT_SECONDS)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        logger.error(
            "The database at %s did not answer within %d s (DB_WAIT_SECONDS): %s",
            safe_url,
            settings.DB_WAIT_SECONDS,
            cause,
        )
        return 1
    finally:
        engine.dispose()
    make_sqlite_folder(url)
    logger.info("Applying migrations")
    migrate()
    asyncio.run(create_first_superuser())
    return 0


if __name__ == "__main__":
    sys.exit(main())
