"""Payment use cases on both rails: record or start, confirm, reject, capture, refund. Services flush only.

Capturing a payment posts it once (the entry's reference is ``payment:<id>:capture``). Refunds are posted as
they become known, as the difference between what is known refunded and what was already posted
(``payment:<id>:refunded-to:<total>``), so a refund learnt twice, or before the payment's success, is posted
exactly once and only after the capture: the order of Stripe's events does not change the end state.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, NotFound, ValidationProblem
from services.marketplace.kit.money import format_yuan
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import (
    GovernmentPayable,
    LedgerAccount,
    Organisation,
    Payment,
    Refund,
    SettlementMilestone,
)
from services.marketplace.models.identity import OrganisationKind
from services.marketplace.models.settlement import (
    AccountKind,
    GovernmentPayableStatus,
    MilestoneStatus,
    PaymentPurpose,
    PaymentStatus,
    Rail,
    RefundStatus,
)
from services.marketplace.settings import Settings
from services.marketplace.settlement import events, ledger, milestones
from services.marketplace.settlement import repository as repo
from services.marketplace.settlement.policies import (
    acts_for_government,
    check_can_pay_for,
    check_is_finance,
)
from services.marketplace.settlement.rails import rail_for
from services.marketplace.settlement.records import record_change, snapshot
from services.marketplace.settlement.schemas import PaymentCreate, RefundCreate
from services.marketplace.settlement.specs import (
    CAPTURED_STATUSES,
    PAYMENT_LIFECYCLE,
    RAIL_PURPOSES,
    STRIPE_MAX_CHARGE_FEN,
)

CLEARING = {Rail.bank_transfer: AccountKind.bank_clearing, Rail.stripe: AccountKind.stripe_clearing}


class AboveOnlineLimit(ValidationProblem):
    slug = "amount-above-online-limit"
    title = "金额超过在线支付单笔上限"


async def record_payment_change(
    session: AsyncSession, principal: Principal | None, payment: Payment, what: str, before: dict[str, object] | None
) -> None:
    await record_change(
        session,
        principal,
        topic=f"settlement.payment_{what}",
        row=payment,
        object_type="settlement_payment",
        organisation_id=payment.payer_organisation_id,
        before=before,
        payload=events.payment_payload(payment),
    )


# --- creating -----------------------------------------------------------------------------------------


def _check_rail(settings: Settings, data: PaymentCreate) -> None:
    if data.purpose not in RAIL_PURPOSES[data.rail]:
        raise ValidationProblem.for_field(["body", "rail"], f"{data.purpose.value} 付款只能通过对公转账")
    if data.rail is Rail.stripe and data.amount_fen > STRIPE_MAX_CHARGE_FEN:
        message = (
            f"在线支付单笔上限为 {format_yuan(STRIPE_MAX_CHARGE_FEN)}，"
            f"{format_yuan(data.amount_fen)} 请使用对公转账（rail=bank_transfer）"
        )
        raise AboveOnlineLimit(
            message,
            errors=[FieldError(loc=["body", "amount_fen"], msg=message, type="above_online_limit")],
            max_amount_fen=STRIPE_MAX_CHARGE_FEN,
            suggested_rail=Rail.bank_transfer.value,
        )


async def _milestone_for(session: AsyncSession, principal: Principal, data: PaymentCreate) -> SettlementMilestone:
    assert data.contract_id is not None
    assert data.milestone_index is not None
    contract = await milestones.readable_contract(session, principal, data.contract_id)
    if contract.buyer_organisation_id is None:
        raise Conflict("平台外当事人不能通过平台结算，请线下结算")
    check_can_pay_for(principal, contract.buyer_organisation_id, "支付合同款项")
    milestone = await milestones.lock_milestone(session, contract, data.milestone_index)
    if milestone.status != MilestoneStatus.open.value:
        raise Conflict("该付款节点已付清", milestone_status=milestone.status)
    outstanding = milestone.gross_fen - milestone.funded_fen - await milestones.in_flight_fen(session, milestone)
    if data.amount_fen > outstanding:
        raise ValidationProblem.for_field(
            ["body", "amount_fen"],
            f"付款金额超过该节点尚未支付的 {format_yuan(max(outstanding, 0))}（含待确认的付款）",
            "amount_above_outstanding",
        )
    return milestone


async def _government_payable_for(
    session: AsyncSession, principal: Principal, data: PaymentCreate
) -> GovernmentPayable:
    payable = await session.scalar(
        select(GovernmentPayable).where(GovernmentPayable.id == data.government_payable_id).with_for_update()
    )
    if payable is None or not (
        principal.is_platform_admin or acts_for_government(principal, payable.government_organisation_id)
    ):
        raise NotFound("政府应付款项不存在")
    if not acts_for_government(principal, payable.government_organisation_id):
        raise Conflict("政府应付款项由该政府部门登记付款")
    if payable.status != GovernmentPayableStatus.open.value:
        raise Conflict("该应付款项已支付")
    if data.amount_fen != payable.amount_fen:
        raise ValidationProblem.for_field(["body", "amount_fen"], f"应付金额为 {format_yuan(payable.amount_fen)}")
    in_flight = await session.scalar(
        select(func.count()).where(
            Payment.government_payable_id == payable.id, Payment.status == PaymentStatus.pending.value
        )
    )
    if in_flight:
        raise Conflict("该应付款项已有待确认的付款")
    return payable


async def _check_payer(session: AsyncSession, principal: Principal, data: PaymentCreate) -> None:
    if data.purpose is PaymentPurpose.voucher_fund:
        organisation = await session.get(Organisation, principal.organisation_id)
        if organisation is None or organisation.kind != OrganisationKind.government.value:
            raise Conflict("只有政府部门可以向合创券资金池注资")
        if not acts_for_government(principal, principal.organisation_id):
            check_can_pay_for(principal, principal.organisation_id, "向合创券资金池注资")
    elif data.purpose in (PaymentPurpose.escrow_deposit, PaymentPurpose.service_fee):
        check_can_pay_for(principal, principal.organisation_id, "付款")


async def create_payment(
    session: AsyncSession, principal: Principal, settings: Settings, data: PaymentCreate
) -> tuple[Payment, str | None]:
    """Record a bank transfer the payer made, or start a Stripe payment; returns it and Stripe's client secret."""
    _check_rail(settings, data)
    rail = rail_for(settings, data.rail)
    milestone = payable = None
    if data.purpose is PaymentPurpose.milestone:
        milestone = await _milestone_for(session, principal, data)
        payer = milestone.payer_organisation_id
    elif data.purpose is PaymentPurpose.government_payable:
        payable = await _government_payable_for(session, principal, data)
        payer = payable.government_organisation_id
    else:
        await _check_payer(session, principal, data)
        payer = principal.organisation_id
    if data.bank_reference is not None:
        taken = await session.scalar(
            select(Payment.id).where(
                Payment.bank_reference == data.bank_reference, Payment.status != PaymentStatus.rejected.value
            )
        )
        if taken is not None:
            raise Conflict("该银行流水号已登记过付款", bank_reference=data.bank_reference)
    payment = Payment(
        rail=data.rail.value,
        purpose=data.purpose.value,
        status=PaymentStatus.pending.value,
        payer_organisation_id=payer,
        milestone_id=milestone.id if milestone else None,
        government_payable_id=payable.id if payable else None,
        amount_fen=data.amount_fen,
        description=data.description,
        bank_reference=data.bank_reference,
        paid_on=data.paid_on,
        recorded_by=principal.user_id,
    )
    session.add(payment)
    await session.flush()
    started = await rail.start_payment(payment)
    if data.rail is Rail.stripe:
        payment.stripe_payment_intent_id = started.external_id
        await session.flush()
    await record_payment_change(session, principal, payment, "created", None)
    return payment, started.client_secret


# --- deciding -----------------------------------------------------------------------------------------


async def _capture_legs(session: AsyncSession, payment: Payment) -> list[ledger.Leg]:
    clearing = await ledger.account(session, CLEARING[Rail(payment.rail)])
    amount = payment.amount_fen
    purpose = PaymentPurpose(payment.purpose)
    if purpose in (PaymentPurpose.milestone, PaymentPurpose.escrow_deposit):
        destination = await ledger.account(session, AccountKind.escrow, payment.payer_organisation_id)
    elif purpose is PaymentPurpose.service_fee:
        destination = await ledger.account(session, AccountKind.fee_income)
    elif purpose is PaymentPurpose.voucher_fund:
        destination = await ledger.account(session, AccountKind.voucher_fund, payment.payer_organisation_id)
    else:
        payable = await session.get(GovernmentPayable, payment.government_payable_id)
        assert payable is not None
        government = payable.government_organisation_id
        return [
            ledger.debit(clearing, amount),
            ledger.credit(await ledger.account(session, AccountKind.receivable, government), amount),
            ledger.debit(await ledger.account(session, AccountKind.subsidies_payable, government), amount),
            ledger.credit(await ledger.account(session, AccountKind.payable, payable.payee_organisation_id), amount),
        ]
    return [ledger.debit(clearing, amount), ledger.credit(destination, amount)]


async def _after_capture(session: AsyncSession, principal: Principal | None, payment: Payment) -> None:
    if payment.milestone_id is not None:
        milestone = await session.scalar(
            select(SettlementMilestone).where(SettlementMilestone.id == payment.milestone_id).with_for_update()
        )
        assert milestone is not None
        before = snapshot(milestone)
        milestones.fund(milestone, payment.amount_fen)
        await session.flush()
        if milestone.status == MilestoneStatus.funded.value:
            await record_change(
                session,
                principal,
                topic="settlement.milestone_funded",
                row=milestone,
                object_type="settlement_milestone",
                organisation_id=milestone.payer_organisation_id,
                before=before,
                payload=events.milestone_payload(milestone),
            )
    if payment.government_payable_id is not None:
        payable = await session.get(GovernmentPayable, payment.government_payable_id, with_for_update=True)
        assert payable is not None
        before = snapshot(payable)
        if payable.status != GovernmentPayableStatus.open.value:
            raise Conflict("该应付款项已支付")
        payable.status = GovernmentPayableStatus.paid.value
        payable.paid_entry_id = payment.capture_entry_id
        payable.paid_at = utcnow()
        await session.flush()
        await record_change(
            session,
            principal,
            topic="settlement.government_payable_paid",
            row=payable,
            object_type="government_payable",
            organisation_id=payable.government_organisation_id,
            before=before,
            payload=events.government_payable_payload(payable),
        )


async def capture(
    session: AsyncSession,
    principal: Principal | None,
    payment: Payment,
    *,
    via: str,
    confirmed_by: uuid.UUID | None = None,
) -> Payment:
    """The money arrived: post it, fund what it pays for; then post any refund already known."""
    next_status = PAYMENT_LIFECYCLE.next_state(payment.status, "succeed")
    before = snapshot(payment)
    entry = await ledger.post_entry(
        session,
        reference=f"payment:{payment.id}:capture",
        kind=f"payment_{payment.purpose}",
        legs=await _capture_legs(session, payment),
    )
    payment.status = next_status
    payment.capture_entry_id = entry.id
    payment.succeeded_at = utcnow()
    payment.confirmed_via = via
    payment.confirmed_by = confirmed_by
    await session.flush()
    await _after_capture(session, principal, payment)
    await record_payment_change(session, principal, payment, "succeeded", before)
    await sync_refunds(session, principal, payment)
    return payment


async def _finance_lock(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> Payment:
    payment = await repo.get_payment(session, principal, payment_id, for_update=True)
    if payment is None:
        raise NotFound("付款不存在")
    return payment


async def confirm_payment(session: AsyncSession, principal: Principal, payment_id: uuid.UUID) -> Payment:
    """Platform finance saw the transfer on the platform account."""
    user_id = check_is_finance(principal, "确认到账")
    payment = await _finance_lock(session, principal, payment_id)
    if payment.rail != Rail.bank_transfer.value:
        raise Conflict("在线支付由 Stripe 确认，不能人工确认")
    return await capture(session, principal, payment, via="finance", confirmed_by=user_id)


async def reject_payment(session: AsyncSession, principal: Principal, payment_id: uuid.UUID, reason: str) -> Payment:
    user_id = check_is_finance(principal, "驳回付款登记")
    payment = await _finance_lock(session, principal, payment_id)
    if payment.rail != Rail.bank_transfer.value:
        raise Conflict("在线支付不能人工驳回")
    before = snapshot(payment)
    payment.status = PAYMENT_LIFECYCLE.next_state(payment.status, "reject")
    payment.rejection_reason = reason
    payment.confirmed_by = user_id
    await session.flush()
    await record_payment_change(session, principal, payment, "rejected", before)
    return payment


async def cancel_payment(session: AsyncSession, principal: Principal | None, payment: Payment, reason: str) -> None:
    before = snapshot(payment)
    payment.status = PAYMENT_LIFECYCLE.next_state(payment.status, "cancel")
    payment.failure_message = reason
    await session.flush()
    await record_payment_change(session, principal, payment, "cancelled", before)


# --- refunds ------------------------------------------------------------------------------------------


async def _refund_source(
    session: AsyncSession, payment: Payment, amount: int, *, strict: bool
) -> tuple[LedgerAccount, SettlementMilestone | None]:
    """Where a refund comes from: the payer's escrow while it holds the money; once it moved on, the payer owes
    it back (its receivable). ``strict`` (an API refund) refuses instead of falling back."""
    purpose = PaymentPurpose(payment.purpose)
    payer = payment.payer_organisation_id
    if purpose is PaymentPurpose.service_fee:
        return await ledger.account(session, AccountKind.fee_income), None
    if purpose is PaymentPurpose.government_payable:
        if strict:
            raise Conflict("奖补款已转入收款方应付账户，不能退款")
        return await ledger.account(session, AccountKind.receivable, payer), None
    if purpose is PaymentPurpose.milestone:
        milestone = await session.scalar(
            select(SettlementMilestone).where(SettlementMilestone.id == payment.milestone_id).with_for_update()
        )
        assert milestone is not None
        if milestone.status != MilestoneStatus.released.value:
            return await ledger.account(session, AccountKind.escrow, payer), milestone
        if strict:
            raise Conflict("该付款节点已放款给卖方，不能退款")
        return await ledger.account(session, AccountKind.receivable, payer), None
    held = AccountKind.escrow if purpose is PaymentPurpose.escrow_deposit else AccountKind.voucher_fund
    source = await ledger.account(session, held, payer)
    if (await ledger.balance(session, source)).available_fen >= amount:
        return source, None
    if strict:
        raise Conflict("这笔资金已被预留或使用，不能退款")
    return await ledger.account(session, AccountKind.receivable, payer), None


async def sync_refunds(session: AsyncSession, principal: Principal | None, payment: Payment) -> None:
    """Post whatever refund is known and not yet posted (only once the payment itself was posted)."""
    succeeded = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.succeeded.value
        )
    )
    known = min(max(int(succeeded or 0), payment.reported_refunded_fen, payment.refunded_fen), payment.amount_fen)
    payment.refunded_fen = known
    if payment.status not in CAPTURED_STATUSES or known <= payment.refund_posted_fen:
        await session.flush()
        return
    delta = known - payment.refund_posted_fen
    before = snapshot(payment)
    source, milestone = await _refund_source(session, payment, delta, strict=False)
    clearing = await ledger.account(session, CLEARING[Rail(payment.rail)])
    await ledger.post_entry(
        session,
        reference=f"payment:{payment.id}:refunded-to:{known}",
        kind="payment_refund",
        legs=[ledger.debit(source, delta), ledger.credit(clearing, delta)],
    )
    if milestone is not None:
        milestones.unfund(milestone, delta)
    payment.refund_posted_fen = known
    payment.status = PAYMENT_LIFECYCLE.next_state(
        payment.status, "refund_all" if known == payment.amount_fen else "refund_part"
    )
    await session.flush()
    await record_payment_change(session, principal, payment, "refunded", before)


async def request_refund(
    session: AsyncSession, principal: Principal, settings: Settings, payment_id: uuid.UUID, data: RefundCreate
) -> Refund:
    """Finance returns money to the payer on the payment's own rail, while the money is still refundable."""
    user_id = check_is_finance(principal, "退款")
    payment = await _finance_lock(session, principal, payment_id)
    if payment.status not in CAPTURED_STATUSES:
        raise Conflict("付款尚未到账，不能退款", payment_status=payment.status)
    pending = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.pending.value
        )
    )
    refundable = payment.amount_fen - payment.refunded_fen - int(pending or 0)
    amount = data.amount_fen if data.amount_fen is not None else refundable
    if not 0 < amount <= refundable:
        raise ValidationProblem.for_field(
            ["body", "amount_fen"], f"可退金额为 {format_yuan(max(refundable, 0))}", "amount_above_refundable"
        )
    await _refund_source(session, payment, amount, strict=True)
    if (payment.rail == Rail.bank_transfer.value) != (data.bank_reference is not None):
        raise ValidationProblem.for_field(["body", "bank_reference"], "对公转账退款须填写银行流水号，在线支付不填")
    refund = Refund(
        payment_id=payment.id,
        amount_fen=amount,
        status=RefundStatus.pending.value,
        reason=data.reason,
        bank_reference=data.bank_reference,
        requested_by=user_id,
    )
    session.add(refund)
    await session.flush()
    outcome = await rail_for(settings, Rail(payment.rail)).refund(payment, refund)
    refund.status = outcome.status.value
    if payment.rail == Rail.stripe.value:
        refund.stripe_refund_id = outcome.external_id
    await session.flush()
    await record_change(
        session,
        principal,
        topic="settlement.refund_requested",
        row=refund,
        object_type="settlement_refund",
        organisation_id=payment.payer_organisation_id,
        before=None,
        payload=events.payment_payload(payment) | {"refund_id": str(refund.id), "refund_amount_fen": amount},
    )
    await sync_refunds(session, principal, payment)
    return refund
