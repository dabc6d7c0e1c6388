"""The outbox relay: claims due events with SKIP LOCKED and runs each registered handler once in effect.

Each handler runs inside a savepoint together with the row that marks it done, so a handler that
succeeded is never run again when a sibling handler fails and the event is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import OutboxEvent, OutboxHandlerRun
from services.marketplace.models.platform import OutboxStatus

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR_LENGTH = 4000


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    attempts: int


Handler = Callable[[AsyncSession, Event], Awaitable[None]]


@dataclass
class HandlerRegistry:
    """Handlers by topic pattern (``fnmatch`` syntax, e.g. ``listing.*``); names must be unique and stable."""

    _handlers: list[tuple[str, str, Handler]] = field(default_factory=list)

    def register(self, pattern: str, name: str, handler: Handler) -> None:
        if any(existing == name for _, existing, _ in self._handlers):
            raise ValueError(f"outbox handler {name!r} registered twice")
        self._handlers.append((pattern, name, handler))

    def handlers_for(self, topic: str) -> list[tuple[str, Handler]]:
        return [(name, handler) for pattern, name, handler in self._handlers if fnmatchcase(topic, pattern)]


def backoff_delay(attempts: int, base_seconds: float) -> timedelta:
    delay = timedelta(seconds=base_seconds * 2 ** max(attempts - 1, 0))
    jitter = random.uniform(0.9, 1.1)  # noqa: S311 - spreads retries, not security relevant
    return min(delay * jitter, MAX_BACKOFF)


class OutboxRelay:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: HandlerRegistry,
        *,
        max_attempts: int,
        backoff_base_seconds: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.max_attempts = max_attempts
        self.backoff_base_seconds = backoff_base_seconds

    async def relay_batch(self, limit: int = 100) -> int:
        """Process up to ``limit`` due events, one transaction each; return how many were processed."""
        processed = 0
        while processed < limit and await self._relay_one():
            processed += 1
        return processed

    async def run_forever(self, stop: asyncio.Event, poll_interval_seconds: float) -> None:
        while not stop.is_set():
            try:
                processed = await self.relay_batch()
            except Exception:
                logger.exception("outbox relay batch failed; retrying after the poll interval")
                processed = 0
            if processed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_interval_seconds)

    async def _relay_one(self) -> bool:
        async with self.sessionmaker() as session, session.begin():
            row = await session.scalar(
                select(OutboxEvent)
                .where(OutboxEvent.status == OutboxStatus.pending.value, OutboxEvent.available_at <= utcnow())
                .order_by(OutboxEvent.available_at, OutboxEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return False
            errors = await self._run_handlers(session, row)
            self._settle(row, errors)
            return True

    async def _run_handlers(self, session: AsyncSession, row: OutboxEvent) -> list[str]:
        event = Event(
            id=row.id,
            topic=row.topic,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            payload=row.payload,
            occurred_at=row.occurred_at,
            attempts=row.attempts,
        )
        done = set(await session.scalars(select(OutboxHandlerRun.handler).where(OutboxHandlerRun.event_id == row.id)))
        errors: list[str] = []
        for name, handler in self.registry.handlers_for(row.topic):
            if name in done:
                continue
            try:
                async with session.begin_nested():
                    await handler(session, event)
                    session.add(OutboxHandlerRun(event_id=row.id, handler=name))
                    await session.flush()
            except Exception as exc:
                logger.warning("outbox handler failed", extra={"handler": name, "event_id": row.id}, exc_info=exc)
                errors.append(f"{name}: {exc!r}")
        return errors

    def _settle(self, row: OutboxEvent, errors: list[str]) -> None:
        now = utcnow()
        if not errors:
            row.status = OutboxStatus.delivered.value
            row.delivered_at = now
            return
        row.attempts += 1
        row.last_error = "\n".join(errors)[:MAX_ERROR_LENGTH]
        if row.attempts >= self.max_attempts:
            row.status = OutboxStatus.dead.value
            logger.error("outbox event moved to dead letters", extra={"event_id": row.id, "topic": row.topic})
        else:
            row.available_at = now + backoff_delay(row.attempts, self.backoff_base_seconds)
