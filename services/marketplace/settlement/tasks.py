"""Worker side of settlement: Stripe inbox processing (an outbox handler) and the expiry timers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace.db import unit_of_work
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.outbox.relay import Event, HandlerRegistry
from services.marketplace.settlement import events, ledger, vouchers
from services.marketplace.settlement.records import record_change, snapshot
from services.marketplace.settlement.stripe_events import process_inbox_event

EXPIRY_BATCH = 100


async def process_stripe_event(session: AsyncSession, event: Event) -> None:
    await process_inbox_event(session, str(event.payload["stripe_event_id"]))


def register_settlement_handlers(registry: HandlerRegistry) -> None:
    registry.register(events.STRIPE_EVENT_RECEIVED, "settlement.process_stripe_event", process_stripe_event)


async def expire_pending_entries(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Reserves past their ``expires_at`` release their hold, each exactly once (SKIP LOCKED, resolve-once)."""
    async with unit_of_work(sessionmaker) as session:
        due = await ledger.due_pending_ids(session, utcnow(), EXPIRY_BATCH)
        for pending_id in due:
            pending = await ledger.lock_pending(session, pending_id)
            assert pending is not None
            before = snapshot(pending)
            await ledger.void_pending(session, pending, expired=True)
            await record_change(
                session,
                None,
                topic="settlement.pending_expired",
                row=pending,
                object_type="ledger_pending_entry",
                organisation_id=None,
                before=before,
                payload=events.pending_payload(pending),
            )
    return len(due)


async def expire_vouchers(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with unit_of_work(sessionmaker) as session:
        return await vouchers.expire_due_vouchers(session, shanghai_date(utcnow()), EXPIRY_BATCH)
