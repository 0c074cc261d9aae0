"""Wait for the database, migrate it to head, create the first superuser.

Run before every start (`python -m app.prestart`); every step is idempotent.
"""

import asyncio
import logging
import sys
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, create_engine, text
from tenacity import RetryError, retry, stop_after_delay, wait_fixed

from alembic import command
from app.core.config import PROJECT_ROOT, settings
from app.core.db import dispose_engines, session_scope
from app.core.logging import configure_logging
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
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    logger.info("Applying migrations")
    migrate()
    asyncio.run(create_first_superuser())
    return 0


if __name__ == "__main__":
    sys.exit(main())
