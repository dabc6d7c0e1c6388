"""Stripe webhook events: stored once in the inbox by the endpoint, applied by the worker.

Applying an event only records facts Stripe reports (the PaymentIntent succeeded or was cancelled, a refund
of this amount exists) and then brings the ledger in line with all known facts, so applying the same event
twice changes nothing, and events in another order (a refund before the success) end in the same state.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import Payment, Refund, StripeInboxEvent
from services.marketplace.models.settlement import PaymentStatus
from services.marketplace.outbox.service import emit_event
from services.marketplace.settlement import events, service
from services.marketplace.settlement import repository as repo
from services.marketplace.settlement.rails.stripe import refund_status

logger = logging.getLogger(__name__)


class PaymentNotYetVisible(RuntimeError):
    """The event names a payment of ours that is not committed yet: retry later (the outbox backs off)."""


async def store_event(session: AsyncSession, event: dict[str, Any]) -> bool:
    """Keep a verified event once per Stripe event id; False when it was already received."""
    stored = await session.scalar(
        insert(StripeInboxEvent)
        .values(
            id=event["id"],
            type=event["type"],
            livemode=bool(event.get("livemode", False)),
            stripe_created=int(event.get("created") or 0),
            payload=event,
        )
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeInboxEvent.id)
    )
    if stored is None:
        return False
    await emit_event(
        session,
        topic=events.STRIPE_EVENT_RECEIVED,
        aggregate_type="stripe_event",
        aggregate_id=event["id"],
        payload={"stripe_event_id": event["id"], "type": event["type"]},
    )
    return True


async def _payment_for_intent(session: AsyncSession, intent_id: str | None, metadata: Any) -> Payment | None:
    if not intent_id:
        return None
    payment = await repo.payment_by_intent(session, intent_id)
    if payment is None and isinstance(metadata, dict) and metadata.get("payment_id"):
        raise PaymentNotYetVisible(f"payment {metadata['payment_id']} of {intent_id} is not visible yet")
    return payment


async def _intent_succeeded(session: AsyncSession, intent: dict[str, Any]) -> str:
    payment = await _payment_for_intent(session, intent.get("id"), intent.get("metadata"))
    if payment is None:
        return "ignored: not a platform payment"
    received = intent.get("amount_received") or intent.get("amount")
    if received != payment.amount_fen or str(intent.get("currency", "")).upper() != payment.currency:
        payment.failure_message = f"Stripe 报告收款 {received} {intent.get('currency')}，与付款金额不符，需人工处理"
        await session.flush()
        logger.error("stripe amount mismatch", extra={"payment_id": str(payment.id)})
        return "amount mismatch: left for finance"
    if payment.status != PaymentStatus.pending.value:
        return f"already {payment.status}"
    await service.capture(session, None, payment, via="stripe")
    return "captured"


async def _intent_failed(session: AsyncSession, intent: dict[str, Any]) -> str:
    payment = await _payment_for_intent(session, intent.get("id"), intent.get("metadata"))
    if payment is None:
        return "ignored: not a platform payment"
    error = intent.get("last_payment_error") or {}
    if payment.status == PaymentStatus.pending.value:
        payment.failure_message = str(error.get("message") or "支付失败，可更换支付方式重试")[:2000]
        await session.flush()
    return "payment attempt failed"


async def _intent_cancelled(session: AsyncSession, intent: dict[str, Any]) -> str:
    payment = await _payment_for_intent(session, intent.get("id"), intent.get("metadata"))
    if payment is None:
        return "ignored: not a platform payment"
    if payment.status != PaymentStatus.pending.value:
        return f"already {payment.status}"
    await service.cancel_payment(session, None, payment, "Stripe PaymentIntent 已取消")
    return "cancelled"


async def _record_refund(session: AsyncSession, payment: Payment, refund: dict[str, Any]) -> None:
    amount = refund.get("amount")
    if not isinstance(refund.get("id"), str) or not isinstance(amount, int) or amount <= 0:
        return
    status = refund_status(refund.get("status")).value
    await session.execute(
        insert(Refund)
        .values(
            payment_id=payment.id,
            amount_fen=amount,
            status=status,
            reason="Stripe",
            stripe_refund_id=refund["id"],
        )
        .on_conflict_do_update(index_elements=["stripe_refund_id"], set_={"status": status})
    )


async def _refund_event(session: AsyncSession, refund: dict[str, Any]) -> str:
    intent_id = refund.get("payment_intent")
    payment = await _payment_for_intent(session, intent_id, refund.get("metadata"))
    if payment is None:
        return "ignored: not a platform payment"
    await _record_refund(session, payment, refund)
    await service.sync_refunds(session, None, payment)
    return f"refunds known: {payment.refunded_fen}"


async def _charge_refunded(session: AsyncSession, charge: dict[str, Any]) -> str:
    payment = await _payment_for_intent(session, charge.get("payment_intent"), charge.get("metadata"))
    if payment is None:
        return "ignored: not a platform payment"
    refunds = (charge.get("refunds") or {}).get("data") or []
    for refund in refunds:
        await _record_refund(session, payment, refund)
    reported = charge.get("amount_refunded")
    if isinstance(reported, int):
        payment.reported_refunded_fen = min(max(payment.reported_refunded_fen, reported), payment.amount_fen)
    await service.sync_refunds(session, None, payment)
    return f"refunds known: {payment.refunded_fen}"


HANDLERS = {
    "payment_intent.succeeded": _intent_succeeded,
    "payment_intent.payment_failed": _intent_failed,
    "payment_intent.canceled": _intent_cancelled,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "charge.refund.updated": _refund_event,
}


async def process_inbox_event(session: AsyncSession, event_id: str) -> str | None:
    """Apply one stored event once; returns its outcome, or None when it was already processed."""
    inbox = await session.scalar(select(StripeInboxEvent).where(StripeInboxEvent.id == event_id).with_for_update())
    if inbox is None or inbox.processed_at is not None:
        return None
    handler = HANDLERS.get(inbox.type)
    data_object = (inbox.payload.get("data") or {}).get("object") or {}
    outcome = await handler(session, data_object) if handler is not None else "ignored: event type not used"
    inbox.processed_at = utcnow()
    inbox.outcome = outcome
    await session.flush()
    return outcome
