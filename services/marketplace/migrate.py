"""Running the Alembic migrations from code (CLI, tests, the embedded start-up)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def upgrade_to_head(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


async def upgrade_to_head_async(url: str) -> None:
    # Alembic's async env runs its own event loop, so it needs a thread of its own.
    await asyncio.to_thread(upgrade_to_head, url)
