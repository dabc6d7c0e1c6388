"""The ledger API for other domains (揭榜挂帅 challenges): escrow reserves and government payables.

Call these inside your unit of work (they flush, never commit); each writes its audit row and outbox event.
References are yours and unique (e.g. ``challenge:<id>:reward``): a second call with the same reference is a
409 ``already-posted`` problem, so a retried step never moves money twice.

Escrow. The poster first funds its escrow (a payment with purpose ``escrow_deposit``, by bank transfer or
Stripe). ``reserve_escrow`` then holds the reward on it for the winner; ``post_escrow`` pays a tranche to
the winner's payable account and, with ``carry_remainder``, keeps holding the rest in a successor pending
entry (whose id it returns: keep it for the next tranche); ``void_escrow`` releases what is still held (on
termination). A pending entry resolves once; ``live_pending`` follows the chain to the one that is held.

Government payables. ``create_government_payable`` records a subsidy tranche (奖补) a government owes a
team: the government's receivable and subsidies-payable accounts grow by the amount. It is paid when the
government's bank transfer (a payment with purpose ``government_payable``) is confirmed by finance or
matched on the bank statement: the money then moves to the team's payable account and the payable is paid.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import NotFound
from services.marketplace.models import GovernmentPayable, LedgerPendingEntry
from services.marketplace.models.settlement import AccountKind, GovernmentPayableStatus, PendingStatus
from services.marketplace.settlement import events, ledger
from services.marketplace.settlement.ledger import Resolution
from services.marketplace.settlement.records import record_change, snapshot

ESCROW_PURPOSE = "escrow_reserve"


async def _record_pending(
    session: AsyncSession,
    actor: Principal | None,
    pending: LedgerPendingEntry,
    what: str,
    before: dict[str, Any] | None,
    organisation_id: uuid.UUID | None,
) -> None:
    await record_change(
        session,
        actor,
        topic=f"settlement.escrow_{what}",
        row=pending,
        object_type="ledger_pending_entry",
        organisation_id=organisation_id,
        before=before,
        payload=events.pending_payload(pending),
    )


async def reserve_escrow(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    payee_organisation_id: uuid.UUID,
    amount_fen: int,
    reference: str,
    actor: Principal | None = None,
    expires_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> LedgerPendingEntry:
    """Hold ``amount_fen`` of the organisation's escrow for the payee (409 ``insufficient-funds`` if the escrow
    does not have it available)."""
    escrow = await ledger.account(session, AccountKind.escrow, organisation_id)
    payee = await ledger.account(session, AccountKind.payable, payee_organisation_id)
    pending = await ledger.create_pending(
        session,
        reference=reference,
        purpose=ESCROW_PURPOSE,
        debit_account=escrow,
        credit_account=payee,
        amount_fen=amount_fen,
        expires_at=expires_at,
        details=(details or {}) | {"organisation_id": str(organisation_id), "payee_id": str(payee_organisation_id)},
    )
    await _record_pending(session, actor, pending, "reserved", None, organisation_id)
    return pending


async def _lock(session: AsyncSession, pending_id: uuid.UUID) -> LedgerPendingEntry:
    pending = await ledger.lock_pending(session, pending_id)
    if pending is None or pending.purpose != ESCROW_PURPOSE:
        raise NotFound("预留不存在")
    return pending


def _owner(pending: LedgerPendingEntry) -> uuid.UUID | None:
    owner = pending.details.get("organisation_id")
    return uuid.UUID(owner) if owner else None


async def post_escrow(
    session: AsyncSession,
    *,
    pending_id: uuid.UUID,
    amount_fen: int | None = None,
    carry_remainder: bool = True,
    actor: Principal | None = None,
    memo: str | None = None,
) -> Resolution:
    """Pay ``amount_fen`` (default: all held) to the payee; the rest stays held in ``successor`` when carried."""
    pending = await _lock(session, pending_id)
    before = snapshot(pending)
    resolution = await ledger.post_pending(
        session, pending, amount_fen=amount_fen, carry_remainder=carry_remainder, kind="escrow_release", memo=memo
    )
    await _record_pending(session, actor, pending, "posted", before, _owner(pending))
    if resolution.successor is not None:
        await _record_pending(session, actor, resolution.successor, "reserved", None, _owner(pending))
    return resolution


async def void_escrow(session: AsyncSession, *, pending_id: uuid.UUID, actor: Principal | None = None) -> Resolution:
    """Release what is held (the escrow's money stays the organisation's, available again)."""
    pending = await _lock(session, pending_id)
    before = snapshot(pending)
    resolution = await ledger.void_pending(session, pending)
    await _record_pending(session, actor, pending, "voided", before, _owner(pending))
    return resolution


async def live_pending(session: AsyncSession, pending_id: uuid.UUID) -> LedgerPendingEntry | None:
    """The entry of the chain starting at ``pending_id`` that is still held, if any."""
    current: LedgerPendingEntry | None = await session.get(LedgerPendingEntry, pending_id)
    while current is not None and current.status != PendingStatus.pending.value:
        current = await session.scalar(
            select(LedgerPendingEntry).where(LedgerPendingEntry.predecessor_id == current.id)
        )
    return current


async def pending_by_reference(session: AsyncSession, reference: str) -> LedgerPendingEntry | None:
    found: LedgerPendingEntry | None = await session.scalar(
        select(LedgerPendingEntry).where(LedgerPendingEntry.reference == reference)
    )
    return found


async def create_government_payable(
    session: AsyncSession,
    *,
    government_organisation_id: uuid.UUID,
    payee_organisation_id: uuid.UUID,
    amount_fen: int,
    reference: str,
    description: str,
    actor: Principal | None = None,
) -> GovernmentPayable:
    """Record that the government owes ``payee`` ``amount_fen`` (a subsidy tranche)."""
    receivable = await ledger.account(session, AccountKind.receivable, government_organisation_id)
    subsidies = await ledger.account(session, AccountKind.subsidies_payable, government_organisation_id)
    entry = await ledger.post_entry(
        session,
        reference=f"government-payable:{reference}",
        kind="government_payable",
        legs=[ledger.debit(receivable, amount_fen), ledger.credit(subsidies, amount_fen)],
        memo=description,
    )
    payable = GovernmentPayable(
        reference=reference,
        government_organisation_id=government_organisation_id,
        payee_organisation_id=payee_organisation_id,
        amount_fen=amount_fen,
        description=description,
        status=GovernmentPayableStatus.open.value,
        entry_id=entry.id,
    )
    session.add(payable)
    await session.flush()
    await record_change(
        session,
        actor,
        topic="settlement.government_payable_created",
        row=payable,
        object_type="government_payable",
        organisation_id=government_organisation_id,
        before=None,
        payload=events.government_payable_payload(payable),
    )
    return payable


async def government_payable_by_reference(session: AsyncSession, reference: str) -> GovernmentPayable | None:
    found: GovernmentPayable | None = await session.scalar(
        select(GovernmentPayable).where(GovernmentPayable.reference == reference)
    )
    return found
