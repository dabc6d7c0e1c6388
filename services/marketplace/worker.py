"""``techmarket worker``: the outbox relay and the timers, in its own process or inside ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.marketplace.challenges import tasks as challenge_tasks
from services.marketplace.db import unit_of_work
from services.marketplace.kit.ratelimit import RateLimiter
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.listings import imports as listing_imports
from services.marketplace.listings import tasks as listing_tasks
from services.marketplace.models import IdempotencyRecord
from services.marketplace.outbox.relay import HandlerRegistry, OutboxRelay
from services.marketplace.search.tasks import register_search_handlers
from services.marketplace.settings import Settings
from services.marketplace.settlement import tasks as settlement_tasks
from services.marketplace.statistics.tasks import register_statistics_handlers
from services.matching.engine import SearchEngine

logger = logging.getLogger(__name__)

IDEMPOTENCY_RETENTION = timedelta(hours=24)
RATE_LIMIT_RETENTION = timedelta(days=1)

Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]


@dataclass(frozen=True)
class Timer:
    name: str
    interval_seconds: float
    job: Job


async def purge_expired_records(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    now = utcnow()
    async with unit_of_work(sessionmaker) as session:
        result = await session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - IDEMPOTENCY_RETENTION)
        )
        engine = session.bind
    assert isinstance(engine, AsyncEngine)
    purged = await RateLimiter(engine).purge_expired(now - RATE_LIMIT_RETENTION)
    return int(result.rowcount or 0) + purged  # type: ignore[attr-defined]


TIMERS = (
    Timer("purge_expired_records", 300.0, purge_expired_records),
    Timer("close_expired_listings", 60.0, listing_tasks.close_expired_listings),
    Timer("remind_reverification", 3600.0, listing_tasks.remind_reverification),
    Timer("run_import_jobs", 2.0, listing_imports.run_queued_import_jobs),
    Timer("expire_pending_entries", 60.0, settlement_tasks.expire_pending_entries),
    Timer("expire_vouchers", 300.0, settlement_tasks.expire_vouchers),
    Timer("close_challenge_applications", 60.0, challenge_tasks.close_applications_at_deadline),
    Timer("award_after_public_notice", 60.0, challenge_tasks.award_after_public_notice),
)


def build_handler_registry(search: SearchEngine) -> HandlerRegistry:
    """Every outbox handler of every domain."""
    registry = HandlerRegistry()
    register_search_handlers(registry, search)
    register_statistics_handlers(registry)
    settlement_tasks.register_settlement_handlers(registry)
    challenge_tasks.register_challenge_handlers(registry, search)
    return registry


async def _run_timer(timer: Timer, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            done = await timer.job(sessionmaker)
            if done:
                logger.info("timer finished work", extra={"timer": timer.name, "items": done})
        except Exception:
            logger.exception("timer failed; retrying at the next interval", extra={"timer": timer.name})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=timer.interval_seconds)


async def run_worker(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    search: SearchEngine,
) -> None:
    relay = OutboxRelay(
        sessionmaker,
        build_handler_registry(search),
        max_attempts=settings.outbox_max_attempts,
        backoff_base_seconds=settings.outbox_backoff_base_seconds,
    )
    logger.info("worker started")
    await asyncio.gather(
        relay.run_forever(stop, settings.outbox_poll_interval_seconds),
        *(_run_timer(timer, sessionmaker, stop) for timer in TIMERS),
    )
    logger.info("worker stopped")
