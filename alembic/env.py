"""Alembic environment: SQLModel metadata, URL from the app's settings."""

from logging.config import fileConfig
from typing import Literal

from alembic.autogenerate.api import AutogenContext
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import app.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from alembic import context
from app.core.config import settings
from app.db.migration_lock import migration_lock

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def include_object(_: object, name: str | None, type_: str, *__: object) -> bool:
    # Trigram indexes exist on PostgreSQL only (migration 0002), outside the models.
    return not (type_ == "index" and name is not None and name.endswith("_trgm"))


def render_item(type_: str, obj: object, _: AutogenContext) -> str | Literal[False]:
    """SQLModel's column types as the plain SQLAlchemy types they store as (`sa.String`,
    `sa.DateTime(timezone=True)`, as migration 0001 writes them): the default rendering,
    `sqlmodel.sql.sqltypes.AutoString()`, fails strict mypy (the sqlmodel package does
    not export `sql`) and ruff (no import of `sqlmodel` in the file)."""
    if type_ != "type":
        return False
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def database_url() -> str:
    # Tests and prestart may hand a URL in; otherwise the settings decide.
    return str(config.attributes.get("database_url") or settings.database_url)


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
        render_as_batch=True,
        include_object=include_object,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = database_url()
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            compare_type=True,
            render_as_batch=True,
            include_object=include_object,
            render_item=render_item,
        )
        # The lock is taken inside the transaction: on PostgreSQL it is released by the
        # commit that makes the new schema visible to whoever waited for it.
        with context.begin_transaction(), migration_lock(connection):
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
