"""Payouts: the platform pays an organisation what its payable account holds, or a broker their commissions.

The ledger is debited first (an overdraft is refused before any money moves), then the rail moves the money:
a Stripe Connect transfer to the organisation's connected account (idempotency key ``payout-<id>``), or a bank
transfer finance made and records by its reference. A rail failure rolls the whole payout back.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, ValidationProblem
from services.marketplace.kit.money import format_yuan
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import Organisation, Payout, SettlementMilestone, User
from services.marketplace.models.settlement import (
    AccountKind,
    MilestoneStatus,
    PayoutSource,
    PayoutStatus,
    Rail,
)
from services.marketplace.settings import Settings
from services.marketplace.settlement import events, ledger
from services.marketplace.settlement.policies import check_is_finance
from services.marketplace.settlement.rails import rail_for
from services.marketplace.settlement.records import record_change, snapshot
from services.marketplace.settlement.schemas import PayoutCreate
from services.marketplace.settlement.service import CLEARING
from services.marketplace.settlement.specs import PAYOUT_LIFECYCLE


async def broker_commission_owed(session: AsyncSession, broker: User) -> int:
    """Commissions of released milestones the broker brought, less what was already paid out to them."""
    earned = await session.scalar(
        select(func.coalesce(func.sum(SettlementMilestone.commission_fen), 0)).where(
            SettlementMilestone.broker_user_id == broker.id,
            SettlementMilestone.status == MilestoneStatus.released.value,
        )
    )
    paid = await session.scalar(
        select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(
            Payout.broker_user_id == broker.id, Payout.status != PayoutStatus.failed.value
        )
    )
    return int(earned or 0) - int(paid or 0)


async def create_payout(session: AsyncSession, principal: Principal, settings: Settings, data: PayoutCreate) -> Payout:
    user_id = check_is_finance(principal, "出款")
    rail = rail_for(settings, data.rail)
    if data.source is PayoutSource.commissions:
        # The broker's row lock serialises their payouts, so two cannot both spend what is owed.
        broker = await session.scalar(select(User).where(User.id == data.broker_id).with_for_update())
        if broker is None:
            raise ValidationProblem.for_field(["body", "broker_id"], "技术经纪人不存在")
        owed = await broker_commission_owed(session, broker)
        if data.amount_fen > owed:
            raise Conflict(f"该经纪人可提佣金为 {format_yuan(owed)}", owed_fen=owed)
        organisation_id = broker.organisation_id
        source = await ledger.account(session, AccountKind.commissions_payable)
    else:
        assert data.organisation_id is not None
        if await session.get(Organisation, data.organisation_id) is None:
            raise ValidationProblem.for_field(["body", "organisation_id"], "机构不存在")
        organisation_id = data.organisation_id
        source = await ledger.account(session, AccountKind.payable, organisation_id)
    payout = Payout(
        rail=data.rail.value,
        source=data.source.value,
        organisation_id=organisation_id,
        broker_user_id=data.broker_id,
        amount_fen=data.amount_fen,
        status=PayoutStatus.pending.value,
        stripe_account_id=data.stripe_account_id,
        bank_reference=data.bank_reference,
        requested_by=user_id,
    )
    session.add(payout)
    await session.flush()
    clearing = await ledger.account(session, CLEARING[Rail(data.rail)])
    entry = await ledger.post_entry(
        session,
        reference=f"payout:{payout.id}",
        kind="payout",
        legs=[ledger.debit(source, data.amount_fen), ledger.credit(clearing, data.amount_fen)],
    )
    outcome = await rail.payout(payout)
    before = snapshot(payout)
    payout.status = PAYOUT_LIFECYCLE.next_state(payout.status, "pay")
    payout.entry_id = entry.id
    payout.paid_at = utcnow()
    if data.rail is Rail.stripe:
        payout.stripe_transfer_id = outcome.external_id
    await session.flush()
    await record_change(
        session,
        principal,
        topic="settlement.payout_paid",
        row=payout,
        object_type="settlement_payout",
        organisation_id=organisation_id,
        before=before,
        payload=events.payout_payload(payout),
    )
    return payout
