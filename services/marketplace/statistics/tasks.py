"""Outbox handlers that keep the statistics in step with registered contracts and amendments."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.outbox.relay import Event, HandlerRegistry
from services.marketplace.statistics.rollups import amendment_fact, record_change, registration_fact


async def record_registration(session: AsyncSession, event: Event) -> None:
    await record_change(session, registration_fact(event.payload))


async def record_amendment(session: AsyncSession, event: Event) -> None:
    await record_change(session, amendment_fact(event.payload))


def register_statistics_handlers(registry: HandlerRegistry) -> None:
    registry.register("contract.registered", "statistics.record_registration", record_registration)
    registry.register("contract.amended", "statistics.record_amendment", record_amendment)
