"""Worker jobs of the listings domain, each in its own unit of work."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace.db import unit_of_work
from services.marketplace.listings import service
from services.marketplace.listings.specs import SPECS


async def close_expired_listings(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Published achievements past ``valid_until`` and demands past ``deadline`` become expired."""
    closed = 0
    for spec in SPECS.values():
        async with unit_of_work(sessionmaker) as session:
            closed += await service.expire_due_listings(session, spec)
    return closed


async def remind_reverification(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    reminded = 0
    for spec in SPECS.values():
        async with unit_of_work(sessionmaker) as session:
            reminded += await service.remind_stale_listings(session, spec)
    return reminded
