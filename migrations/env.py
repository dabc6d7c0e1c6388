"""Alembic environment (async). The URL comes from ``config.attributes['url']`` or from the settings."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from services.marketplace.models import Base
from services.marketplace.settings import Settings
from services.matching.embedded_schema import metadata as matching_metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = [Base.metadata, matching_metadata]


def _database_url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    settings = Settings()
    if settings.database_url:
        return settings.database_url
    from services.marketplace.embedded import start_embedded_postgres

    return start_embedded_postgres(settings.data_dir)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        await connection.run_sync(_run)
        return
    engine = create_async_engine(_database_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
