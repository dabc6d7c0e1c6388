"""Innovation vouchers (合创券): a government's budget for an SME's technology services.

An official issues a voucher: its whole budget is held on the government's voucher fund (409 when the fund
does not have it). The SME assigns part of it to a technology-service contract it buys (a redemption); when
it accepts the service, that part is posted from the hold to the provider's payable, and the rest stays held.
At the end date the voucher expires: what no contract was assigned returns to the fund; what was assigned but
not yet accepted stays held for those contracts.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, NotFound, ValidationProblem
from services.marketplace.kit.money import format_yuan
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models import InnovationVoucher, Organisation, VoucherRedemption
from services.marketplace.models.identity import OrganisationKind, VerificationStatus
from services.marketplace.models.settlement import AccountKind, RedemptionStatus, VoucherStatus
from services.marketplace.settlement import events, ledger, milestones
from services.marketplace.settlement import repository as repo
from services.marketplace.settlement.policies import check_is_official_of, check_is_org_admin_of
from services.marketplace.settlement.records import record_change, snapshot
from services.marketplace.settlement.schemas import RedemptionCreate, VoucherCreate
from services.marketplace.settlement.specs import (
    PAYABLE_CONTRACT_STATUSES,
    REDEMPTION_LIFECYCLE,
    VOUCHER_CONTRACT_TYPES,
    VOUCHER_LIFECYCLE,
)

VOUCHER_PURPOSE = "innovation_voucher"


async def _record_voucher(
    session: AsyncSession,
    principal: Principal | None,
    voucher: InnovationVoucher,
    what: str,
    before: dict[str, object] | None,
    redemption: VoucherRedemption | None = None,
) -> None:
    await record_change(
        session,
        principal,
        topic=f"settlement.voucher_{what}",
        row=redemption or voucher,
        object_type="voucher_redemption" if redemption else "innovation_voucher",
        organisation_id=voucher.holder_organisation_id,
        before=before,
        payload=events.redemption_payload(voucher, redemption) if redemption else events.voucher_payload(voucher),
    )


async def issue_voucher(session: AsyncSession, principal: Principal, data: VoucherCreate) -> InnovationVoucher:
    government = await session.get(Organisation, principal.organisation_id)
    if government is None or government.kind != OrganisationKind.government.value:
        raise Conflict("合创券由政府部门发放")
    user_id = check_is_official_of(principal, government.id, "发放合创券")
    holder = await session.get(Organisation, data.holder_organisation_id)
    if (
        holder is None
        or holder.kind != OrganisationKind.enterprise.value
        or holder.verification_status != VerificationStatus.verified.value
    ):
        raise ValidationProblem.for_field(["body", "holder_organisation_id"], "合创券发放对象须为已认证的企业")
    if data.valid_until < shanghai_date(utcnow()):
        raise ValidationProblem.for_field(["body", "valid_until"], "有效期已过")
    voucher = InnovationVoucher(
        government_organisation_id=government.id,
        holder_organisation_id=holder.id,
        title=data.title,
        budget_fen=data.budget_fen,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        status=VoucherStatus.active.value,
        issued_by=user_id,
    )
    session.add(voucher)
    await session.flush()
    fund = await ledger.account(session, AccountKind.voucher_fund, government.id)
    hold = await ledger.create_pending(
        session,
        reference=f"voucher:{voucher.id}",
        purpose=VOUCHER_PURPOSE,
        debit_account=fund,
        amount_fen=data.budget_fen,
        details={"voucher_id": str(voucher.id)},
    )
    voucher.hold_id = hold.id
    await session.flush()
    await _record_voucher(session, principal, voucher, "issued", None)
    return voucher


async def _voucher(session: AsyncSession, principal: Principal, voucher_id: uuid.UUID) -> InnovationVoucher:
    voucher = await repo.get_voucher(session, principal, voucher_id, for_update=True)
    if voucher is None:
        raise NotFound("合创券不存在")
    return voucher


async def redeem(
    session: AsyncSession, principal: Principal, voucher_id: uuid.UUID, data: RedemptionCreate
) -> VoucherRedemption:
    """The SME assigns part of its voucher to a technology-service contract it buys."""
    voucher = await _voucher(session, principal, voucher_id)
    user_id = check_is_org_admin_of(principal, voucher.holder_organisation_id, "使用合创券")
    VOUCHER_LIFECYCLE.next_state(voucher.status, "redeem")
    today = shanghai_date(utcnow())
    if not voucher.valid_from <= today <= voucher.valid_until:
        raise Conflict("合创券不在有效期内", valid_from=voucher.valid_from.isoformat())
    contract = await milestones.readable_contract(session, principal, data.contract_id)
    if contract.buyer_organisation_id != voucher.holder_organisation_id:
        raise ValidationProblem.for_field(["body", "contract_id"], "合创券只能用于本企业作为委托方（买方）的合同")
    if contract.contract_type not in VOUCHER_CONTRACT_TYPES:
        raise ValidationProblem.for_field(["body", "contract_id"], "合创券只能用于技术服务或技术咨询合同")
    if contract.status not in PAYABLE_CONTRACT_STATUSES or contract.seller_organisation_id is None:
        raise Conflict("合同尚未签署、已终止，或服务方不是平台机构")
    available = voucher.budget_fen - voucher.committed_fen
    if data.amount_fen > available:
        raise ValidationProblem.for_field(["body", "amount_fen"], f"合创券余额为 {format_yuan(available)}")
    before = snapshot(voucher)
    redemption = VoucherRedemption(
        voucher_id=voucher.id,
        contract_id=contract.id,
        provider_organisation_id=contract.seller_organisation_id,
        amount_fen=data.amount_fen,
        status=RedemptionStatus.committed.value,
        created_by=user_id,
    )
    session.add(redemption)
    voucher.committed_fen += data.amount_fen
    await session.flush()
    await _record_voucher(session, principal, voucher, "redeemed", before, redemption)
    return redemption


async def _redemption(session: AsyncSession, voucher: InnovationVoucher, redemption_id: uuid.UUID) -> VoucherRedemption:
    redemption = await session.scalar(
        select(VoucherRedemption)
        .where(VoucherRedemption.id == redemption_id, VoucherRedemption.voucher_id == voucher.id)
        .with_for_update()
    )
    if redemption is None:
        raise NotFound("合创券使用记录不存在")
    return redemption


async def accept_redemption(
    session: AsyncSession, principal: Principal, voucher_id: uuid.UUID, redemption_id: uuid.UUID
) -> VoucherRedemption:
    """The SME accepts the service: the provider is paid from the voucher fund."""
    voucher = await _voucher(session, principal, voucher_id)
    user_id = check_is_org_admin_of(principal, voucher.holder_organisation_id, "验收合创券服务")
    redemption = await _redemption(session, voucher, redemption_id)
    next_status = REDEMPTION_LIFECYCLE.next_state(redemption.status, "accept")
    assert voucher.hold_id is not None
    hold = await ledger.lock_pending(session, voucher.hold_id)
    assert hold is not None
    provider = await ledger.account(session, AccountKind.payable, redemption.provider_organisation_id)
    resolution = await ledger.post_pending(
        session,
        hold,
        amount_fen=redemption.amount_fen,
        credits=[ledger.CreditSplit(provider, redemption.amount_fen)],
        carry_remainder=True,
        kind="voucher_payment",
        memo=f"合创券 {voucher.id} 支付服务合同 {redemption.contract_id}",
    )
    before = snapshot(voucher)
    voucher.hold_id = resolution.successor.id if resolution.successor else None
    voucher.paid_fen += redemption.amount_fen
    redemption.status = next_status
    redemption.accepted_by = user_id
    redemption.accepted_at = utcnow()
    redemption.entry_id = resolution.entry.id if resolution.entry else None
    await session.flush()
    await _record_voucher(session, principal, voucher, "paid", before, redemption)
    return redemption


async def _reduce_hold(session: AsyncSession, voucher: InnovationVoucher, keep_fen: int, *, expired: bool) -> None:
    """Hold only ``keep_fen`` of the fund for the voucher from now on; the rest returns to the fund."""
    if voucher.hold_id is None:
        return
    hold = await ledger.lock_pending(session, voucher.hold_id)
    assert hold is not None
    if hold.amount_fen == keep_fen:
        return
    resolution = await ledger.void_pending(session, hold, expired=expired, carry_fen=keep_fen)
    voucher.hold_id = resolution.successor.id if resolution.successor else None


async def cancel_redemption(
    session: AsyncSession, principal: Principal, voucher_id: uuid.UUID, redemption_id: uuid.UUID
) -> VoucherRedemption:
    voucher = await _voucher(session, principal, voucher_id)
    check_is_org_admin_of(principal, voucher.holder_organisation_id, "撤销合创券使用")
    redemption = await _redemption(session, voucher, redemption_id)
    redemption.status = REDEMPTION_LIFECYCLE.next_state(redemption.status, "cancel")
    before = snapshot(voucher)
    voucher.committed_fen -= redemption.amount_fen
    if voucher.status == VoucherStatus.expired.value:
        await _reduce_hold(session, voucher, voucher.committed_fen - voucher.paid_fen, expired=False)
    await session.flush()
    await _record_voucher(session, principal, voucher, "redemption_cancelled", before, redemption)
    return redemption


async def expire_due_vouchers(session: AsyncSession, today: date, limit: int = 100) -> int:
    """Vouchers past their end date: the budget no contract was assigned returns to the fund."""
    due = list(
        await session.scalars(
            select(InnovationVoucher)
            .where(InnovationVoucher.status == VoucherStatus.active.value, InnovationVoucher.valid_until < today)
            .order_by(InnovationVoucher.valid_until)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for voucher in due:
        before = snapshot(voucher)
        voucher.status = VOUCHER_LIFECYCLE.next_state(voucher.status, "expire")
        voucher.expired_at = utcnow()
        await _reduce_hold(session, voucher, voucher.committed_fen - voucher.paid_fen, expired=True)
        await session.flush()
        await _record_voucher(session, None, voucher, "expired", before)
    return len(due)
