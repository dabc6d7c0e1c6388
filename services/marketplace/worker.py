"""``techmarket worker``: the outbox relay and periodic housekeeping, in its own process or inside ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.marketplace.db import unit_of_work
from services.marketplace.kit.ratelimit import RateLimiter
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import IdempotencyRecord
from services.marketplace.outbox.relay import HandlerRegistry, OutboxRelay
from services.marketplace.settings import Settings

logger = logging.getLogger(__name__)

IDEMPOTENCY_RETENTION = timedelta(hours=24)
RATE_LIMIT_RETENTION = timedelta(days=1)
HOUSEKEEPING_INTERVAL_SECONDS = 300.0


def build_handler_registry() -> HandlerRegistry:
    """Every outbox handler of every domain; domains add theirs here as they gain consumers."""
    return HandlerRegistry()


async def purge_expired_records(engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - IDEMPOTENCY_RETENTION)
        )
    await RateLimiter(engine).purge_expired(now - RATE_LIMIT_RETENTION)


async def _housekeeping(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await purge_expired_records(engine, sessionmaker)
        except Exception:
            logger.exception("housekeeping failed; retrying at the next interval")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=HOUSEKEEPING_INTERVAL_SECONDS)


async def run_worker(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    registry: HandlerRegistry | None = None,
) -> None:
    relay = OutboxRelay(
        sessionmaker,
        registry or build_handler_registry(),
        max_attempts=settings.outbox_max_attempts,
        backoff_base_seconds=settings.outbox_backoff_base_seconds,
    )
    logger.info("worker started")
    await asyncio.gather(
        relay.run_forever(stop, settings.outbox_poll_interval_seconds),
        _housekeeping(engine, sessionmaker, stop),
    )
    logger.info("worker stopped")
