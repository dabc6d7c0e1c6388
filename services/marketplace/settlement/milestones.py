"""Contract milestones: the buyer pays into escrow, the buyer's acceptance releases it to the seller.

A milestone's money is fixed when its first payment is made, from the contract's schedule: its amount, its
share of the broker's commission (the contract's commission split over the milestones by largest remainder,
so the shares add up to it exactly) and its gross, which includes that share when the buyer pays the
commission. On release the gross is split into commission + platform fee + the seller's part, exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts import repository as contracts_repo
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, NotFound, ValidationProblem
from services.marketplace.kit.money import split_fee, split_largest_remainder
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import Contract, Payment, Role, SettlementMilestone
from services.marketplace.models.contracts import Side
from services.marketplace.models.settlement import AccountKind, MilestoneStatus, PaymentStatus
from services.marketplace.settlement import events, ledger
from services.marketplace.settlement.policies import acts_for, check_is_org_admin_of
from services.marketplace.settlement.records import record_change, snapshot
from services.marketplace.settlement.specs import MILESTONE_LIFECYCLE, PAYABLE_CONTRACT_STATUSES


@dataclass(frozen=True)
class MilestoneTerms:
    index: int
    title: str
    amount_fen: int
    commission_fen: int
    gross_fen: int


@dataclass(frozen=True)
class ReleaseSplit:
    commission_fen: int
    fee_fen: int
    payee_fen: int


def schedule(contract: Contract) -> list[MilestoneTerms]:
    amounts = [int(item["amount_fen"]) for item in contract.milestones]
    commission = contract.commission_fen or 0
    shares = split_largest_remainder(commission, amounts) if commission and sum(amounts) else [0] * len(amounts)
    buyer_pays = contract.commission_payer == Side.buyer.value
    return [
        MilestoneTerms(
            index=index,
            title=str(item.get("title") or f"第 {index + 1} 期"),
            amount_fen=amount,
            commission_fen=share,
            gross_fen=amount + share if buyer_pays else amount,
        )
        for index, (item, amount, share) in enumerate(zip(contract.milestones, amounts, shares, strict=True))
    ]


def release_split(milestone: SettlementMilestone, fee_bp: int) -> ReleaseSplit:
    """commission + fee + payee = gross: the fee is taken from the milestone amount (largest remainder, which
    for two parts is half-up), the commission is the milestone's share, the seller gets the rest."""
    fee, _ = split_fee(milestone.amount_fen, fee_bp)
    payee = milestone.gross_fen - milestone.commission_fen - fee
    if payee < 0:
        raise Conflict("佣金与平台服务费之和超过付款节点金额，无法结算", fee_fen=fee)
    return ReleaseSplit(milestone.commission_fen, fee, payee)


async def readable_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    contract = await contracts_repo.get_readable(session, principal, contract_id)
    if contract is None:
        raise NotFound("技术合同不存在")
    return contract


def _check_payable_contract(contract: Contract) -> None:
    if contract.status not in PAYABLE_CONTRACT_STATUSES:
        raise Conflict("合同尚未签署或已终止，不能通过平台结算", contract_status=contract.status)
    if contract.seller_organisation_id is None or contract.buyer_organisation_id is None:
        raise Conflict("平台外当事人不能通过平台结算，请线下结算")


async def lock_milestone(session: AsyncSession, contract: Contract, index: int) -> SettlementMilestone:
    """The milestone's settlement row, created from the schedule on first use, locked for the caller."""
    _check_payable_contract(contract)
    terms = schedule(contract)
    if not 0 <= index < len(terms):
        raise ValidationProblem.for_field(["body", "milestone_index"], f"合同只有 {len(terms)} 个付款节点")
    statement = (
        select(SettlementMilestone)
        .where(SettlementMilestone.contract_id == contract.id, SettlementMilestone.milestone_index == index)
        .with_for_update()
    )
    milestone = await session.scalar(statement)
    if milestone is not None:
        return milestone
    term = terms[index]
    assert contract.seller_organisation_id is not None
    assert contract.buyer_organisation_id is not None
    await session.execute(
        insert(SettlementMilestone)
        .values(
            contract_id=contract.id,
            milestone_index=index,
            title=term.title[:200],
            payer_organisation_id=contract.buyer_organisation_id,
            payee_organisation_id=contract.seller_organisation_id,
            broker_user_id=contract.broker_user_id if term.commission_fen else None,
            amount_fen=term.amount_fen,
            commission_fen=term.commission_fen,
            gross_fen=term.gross_fen,
        )
        .on_conflict_do_nothing(constraint="uq_settlement_milestones_contract_index")
    )
    milestone = await session.scalar(statement)
    assert milestone is not None
    return milestone


async def in_flight_fen(session: AsyncSession, milestone: SettlementMilestone) -> int:
    """Payments recorded or started for the milestone and not yet decided."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Payment.amount_fen), 0)).where(
            Payment.milestone_id == milestone.id, Payment.status == PaymentStatus.pending.value
        )
    )
    return int(total or 0)


def fund(milestone: SettlementMilestone, amount_fen: int) -> None:
    if milestone.status != MilestoneStatus.open.value or milestone.funded_fen + amount_fen > milestone.gross_fen:
        raise Conflict("付款超过付款节点的应付金额", outstanding_fen=milestone.gross_fen - milestone.funded_fen)
    milestone.funded_fen += amount_fen
    if milestone.funded_fen == milestone.gross_fen:
        milestone.status = MILESTONE_LIFECYCLE.next_state(milestone.status, "fund")


def unfund(milestone: SettlementMilestone, amount_fen: int) -> None:
    if milestone.status == MilestoneStatus.funded.value:
        milestone.status = MILESTONE_LIFECYCLE.next_state(milestone.status, "refund")
    milestone.funded_fen -= amount_fen


async def accept_milestone(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, index: int, fee_bp: int
) -> SettlementMilestone:
    """The buyer accepts the milestone's delivery: escrow → seller, broker's commission, platform fee."""
    contract = await readable_contract(session, principal, contract_id)
    if contract.buyer_organisation_id is None:
        raise Conflict("平台外当事人不能通过平台结算，请线下结算")
    user_id = check_is_org_admin_of(principal, contract.buyer_organisation_id, "验收付款节点并放款")
    milestone = await lock_milestone(session, contract, index)
    next_status = MILESTONE_LIFECYCLE.next_state(milestone.status, "release")
    split = release_split(milestone, fee_bp)
    before = snapshot(milestone)
    escrow = await ledger.account(session, AccountKind.escrow, milestone.payer_organisation_id)
    payee = await ledger.account(session, AccountKind.payable, milestone.payee_organisation_id)
    legs = [ledger.debit(escrow, milestone.gross_fen), ledger.credit(payee, split.payee_fen)]
    if split.commission_fen:
        commissions = await ledger.account(session, AccountKind.commissions_payable)
        legs.append(ledger.credit(commissions, split.commission_fen))
    if split.fee_fen:
        fees = await ledger.account(session, AccountKind.fee_income)
        legs.append(ledger.credit(fees, split.fee_fen))
    entry = await ledger.post_entry(
        session, reference=f"milestone:{milestone.id}:release", kind="milestone_release", legs=legs
    )
    milestone.status = next_status
    milestone.fee_bp = fee_bp
    milestone.fee_fen = split.fee_fen
    milestone.payee_fen = split.payee_fen
    milestone.accepted_by = user_id
    milestone.released_at = utcnow()
    milestone.release_entry_id = entry.id
    await session.flush()
    await record_change(
        session,
        principal,
        topic="settlement.milestone_released",
        row=milestone,
        object_type="settlement_milestone",
        organisation_id=milestone.payer_organisation_id,
        before=before,
        payload=events.milestone_payload(milestone),
    )
    return milestone


@dataclass(frozen=True)
class MilestoneView:
    terms: MilestoneTerms
    row: SettlementMilestone | None


async def milestone_views(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> list[MilestoneView]:
    """The contract's schedule with each milestone's money: for the parties, their broker and officials (who
    oversee registered contracts); a registrar, who also reads the contract, does not see its money."""
    contract = await readable_contract(session, principal, contract_id)
    parties = (contract.seller_organisation_id, contract.buyer_organisation_id)
    if not (
        any(acts_for(principal, party) for party in parties)
        or (principal.user_id is not None and principal.user_id == contract.broker_user_id)
        or principal.has_role(Role.official)
    ):
        raise NotFound("技术合同不存在")
    rows = {
        row.milestone_index: row
        for row in await session.scalars(
            select(SettlementMilestone).where(SettlementMilestone.contract_id == contract.id)
        )
    }
    views = []
    for terms in schedule(contract):
        row = rows.get(terms.index)
        if row is not None:
            terms = MilestoneTerms(terms.index, row.title, row.amount_fen, row.commission_fen, row.gross_fen)
        views.append(MilestoneView(terms, row))
    return views
