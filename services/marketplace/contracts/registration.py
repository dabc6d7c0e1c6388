"""认定登记: submitting, registering or rejecting contracts, and registered amendments.

Registration numbers have 16 digits: the registry's 4-digit region prefix (the registrar organisation's
city, e.g. 3401 合肥), the registration year on the Shanghai calendar, and an 8-digit serial per registry
and year, e.g. ``3401202600000042``. The serial comes from a counter row locked by an upsert, so concurrent
registrations queue instead of racing, and the column is unique as well.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.contracts import events, terms
from services.marketplace.contracts import repository as repo
from services.marketplace.contracts.policies import (
    ContractAccess,
    check_can_submit,
    check_is_party_admin,
    check_is_registrar,
    other_side,
    party_organisation,
    registering_side,
    require_user,
)
from services.marketplace.contracts.schemas import AmendmentCreate
from services.marketplace.contracts.service import load_access, record_change, snapshot
from services.marketplace.contracts.specs import AMENDMENT_LIFECYCLE, CONTRACT_LIFECYCLE
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.listings import service as listings_service
from services.marketplace.listings.specs import ACHIEVEMENTS, DEMANDS
from services.marketplace.models import Contract, ContractAmendment, ListingStatus, Organisation
from services.marketplace.models.contracts import AmendmentKind, AmendmentStatus, RejectionReason
from services.marketplace.outbox.service import emit_event

SERIAL_DIGITS = 8


def format_registration_number(registry_prefix: str, year: int, serial: int) -> str:
    if not (len(registry_prefix) == 4 and registry_prefix.isdigit() and 1000 <= year <= 9999):
        raise ValueError(f"invalid registry {registry_prefix!r} or year {year}")
    if not 1 <= serial < 10**SERIAL_DIGITS:
        raise ValueError(f"serial {serial} does not fit in {SERIAL_DIGITS} digits")
    return f"{registry_prefix}{year:04d}{serial:0{SERIAL_DIGITS}d}"


async def issue_registration_number(session: AsyncSession, registry_prefix: str, year: int) -> str:
    serial = await repo.issue_registration_serial(session, registry_prefix, year)
    return format_registration_number(registry_prefix, year, serial)


async def submit_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    """The seller submits (the buyer for a technology import); after a rejection, the same party resubmits."""
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    side = registering_side(contract)
    if party_organisation(contract, side) is None:
        raise Conflict("卖方不是平台机构：合同由卖方在其所在地的技术合同登记机构登记")
    check_can_submit(access, side)
    before = snapshot(contract)
    contract.status = CONTRACT_LIFECYCLE.next_state(contract.status, "submit")
    contract.submitted_at, contract.submitted_by = utcnow(), principal.user_id
    await session.flush()
    await record_change(session, principal, contract, "submit", before)
    return contract


async def _registry_prefix(session: AsyncSession, principal: Principal) -> str:
    region_code = await session.scalar(
        select(Organisation.region_code).where(Organisation.id == principal.organisation_id)
    )
    assert region_code is not None, "a principal's organisation always exists"
    return str(region_code)[:4]


async def _mark_linked_listings_transacted(session: AsyncSession, principal: Principal, contract: Contract) -> None:
    """The linked achievement and demand become transacted; one withdrawn or expired meanwhile stays as it is."""
    for spec, listing_id in ((ACHIEVEMENTS, contract.achievement_id), (DEMANDS, contract.demand_id)):
        if listing_id is None:
            continue
        status = await session.scalar(select(spec.model.status).where(spec.model.id == listing_id).with_for_update())
        if status == ListingStatus.published.value:
            await listings_service.mark_transacted(session, spec, listing_id, contract.id, principal)


async def register_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    user_id = check_is_registrar(access)
    before = snapshot(contract)
    contract.status = CONTRACT_LIFECYCLE.next_state(contract.status, "register")
    now = utcnow()
    registered_on = shanghai_date(now)
    contract.registration_number = await issue_registration_number(
        session, await _registry_prefix(session, principal), registered_on.year
    )
    contract.registered_at, contract.registered_on, contract.registered_by = now, registered_on, user_id
    contract.registered_contract_amount_fen = contract.contract_amount_fen
    contract.registered_technology_amount_fen = contract.technology_amount_fen
    await session.flush()
    await _mark_linked_listings_transacted(session, principal, contract)
    await record_change(session, principal, contract, "register", before, events.registration_payload(contract))
    return contract


async def reject_contract(
    session: AsyncSession,
    principal: Principal,
    contract_id: uuid.UUID,
    reasons: list[RejectionReason],
    comment: str | None,
) -> Contract:
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    user_id = check_is_registrar(access)
    before = snapshot(contract)
    contract.status = CONTRACT_LIFECYCLE.next_state(contract.status, "reject")
    contract.rejected_at, contract.rejected_by = utcnow(), user_id
    contract.rejection_reasons = [reason.value for reason in reasons]
    contract.rejection_comment = comment
    await session.flush()
    payload = events.contract_payload(contract) | {"reasons": contract.rejection_reasons, "comment": comment}
    await record_change(session, principal, contract, "reject", before, payload)
    return contract


# --- amendments ----------------------------------------------------------------------------------------


async def _record_amendment(
    session: AsyncSession,
    principal: Principal,
    contract: Contract,
    amendment: ContractAmendment,
    action: str,
    payload: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
) -> None:
    """Audit row and outbox event; ``before`` is the contract's snapshot when the amendment changed it."""
    changed = {"contract_before": before, "contract_after": snapshot(contract)} if before is not None else {}
    await record_audit(
        session,
        actor=principal,
        action=f"contract.amendment_{action}",
        object_type="contract",
        object_id=contract.id,
        organisation_id=contract.seller_organisation_id or contract.buyer_organisation_id,
        after=changed
        | {
            "amendment_id": str(amendment.id),
            "sequence": amendment.sequence,
            "kind": amendment.kind,
            "status": amendment.status,
            "contract_amount_delta_fen": amendment.contract_amount_delta_fen,
            "technology_amount_delta_fen": amendment.technology_amount_delta_fen,
        },
    )
    await emit_event(
        session,
        topic=events.amendment_topic(action),
        aggregate_type="contract",
        aggregate_id=contract.id,
        payload=payload if payload is not None else events.amendment_lifecycle_payload(contract, amendment),
    )


def _check_amendment_amounts(contract: Contract, data: AmendmentCreate, technology_amount_fen: int) -> None:
    new = (data.contract_amount_fen, technology_amount_fen)
    current = (contract.contract_amount_fen, contract.technology_amount_fen)
    if data.kind is AmendmentKind.amount_change and new == current:
        raise ValidationProblem.for_field(["body", "contract_amount_fen"], "变更后的金额与当前金额相同")
    if data.kind is AmendmentKind.termination and (new[0] > current[0] or new[1] > current[1]):
        raise ValidationProblem.for_field(
            ["body", "contract_amount_fen"], "终止时的金额为已履行部分，不能高于当前合同成交额和技术交易额"
        )
    problem = terms.commission_problem(
        contract.commission_mode, contract.commission_fen, data.contract_amount_fen, ["body"]
    )
    if problem is not None:
        raise ValidationProblem(problem.msg, errors=[problem])


async def propose_amendment(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, data: AmendmentCreate
) -> ContractAmendment:
    """A party's org_admin proposes; the other platform party confirms, or an outside party signed on paper."""
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    side = check_is_party_admin(access, "提出合同变更")
    user_id = require_user(principal, "提出变更")
    CONTRACT_LIFECYCLE.next_state(contract.status, "amend")
    if await repo.has_open_amendment(session, contract.id):
        raise Conflict("该合同已有待确认或待登记的变更")
    costs = [line.model_dump(mode="json") for line in data.non_technical_costs]
    milestones = [milestone.model_dump(mode="json") for milestone in data.milestones]
    amounts = terms.check_amounts(data.contract_amount_fen, costs, milestones, ["body"])
    _check_amendment_amounts(contract, data, amounts.technology_amount_fen)
    counterparty_online = party_organisation(contract, other_side(side)) is not None
    if counterparty_online and data.counterparty_signed_offline:
        raise ValidationProblem.for_field(["body", "counterparty_signed_offline"], "对方为平台机构，须由其在线确认")
    if not counterparty_online and not data.counterparty_signed_offline:
        raise ValidationProblem.for_field(
            ["body", "counterparty_signed_offline"], "对方为平台外当事人，请确认其已线下签署变更协议"
        )
    amendment = ContractAmendment(
        contract_id=contract.id,
        sequence=await repo.next_amendment_sequence(session, contract.id),
        kind=data.kind.value,
        status=(AmendmentStatus.proposed if counterparty_online else AmendmentStatus.submitted).value,
        reason=data.reason,
        contract_amount_fen_before=contract.contract_amount_fen,
        technology_amount_fen_before=contract.technology_amount_fen,
        contract_amount_fen_after=amounts.contract_amount_fen,
        technology_amount_fen_after=amounts.technology_amount_fen,
        contract_amount_delta_fen=amounts.contract_amount_fen - contract.contract_amount_fen,
        technology_amount_delta_fen=amounts.technology_amount_fen - contract.technology_amount_fen,
        non_technical_costs=costs,
        milestones=milestones,
        proposed_by_side=side.value,
        proposed_by=user_id,
        counterparty_signed_offline=data.counterparty_signed_offline,
    )
    session.add(amendment)
    await session.flush()
    await _record_amendment(session, principal, contract, amendment, "propose")
    return amendment


async def _amendment(session: AsyncSession, access: ContractAccess, amendment_id: uuid.UUID) -> ContractAmendment:
    amendment = await repo.get_amendment(session, access.contract.id, amendment_id, for_update=True)
    if amendment is None:
        raise NotFound("合同变更不存在")
    return amendment


async def list_amendments(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID
) -> list[ContractAmendment]:
    access = await load_access(session, principal, contract_id, for_update=False)
    rows = await session.scalars(repo.amendments_of(access.contract.id).order_by(ContractAmendment.sequence))
    return list(rows)


async def confirm_amendment(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, amendment_id: uuid.UUID
) -> ContractAmendment:
    access = await load_access(session, principal, contract_id)
    amendment = await _amendment(session, access, amendment_id)
    side = check_is_party_admin(access, "确认合同变更")
    if side.value == amendment.proposed_by_side:
        raise Forbidden("合同变更须由对方确认")
    user_id = require_user(principal, "确认变更")
    amendment.status = AMENDMENT_LIFECYCLE.next_state(amendment.status, "confirm")
    amendment.confirmed_by, amendment.confirmed_at = user_id, utcnow()
    await session.flush()
    await _record_amendment(session, principal, access.contract, amendment, "confirm")
    return amendment


async def withdraw_amendment(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, amendment_id: uuid.UUID
) -> ContractAmendment:
    access = await load_access(session, principal, contract_id)
    amendment = await _amendment(session, access, amendment_id)
    side = check_is_party_admin(access, "撤回合同变更")
    if side.value != amendment.proposed_by_side:
        raise Forbidden("只有提出变更的一方可以撤回")
    amendment.status = AMENDMENT_LIFECYCLE.next_state(amendment.status, "withdraw")
    await session.flush()
    await _record_amendment(session, principal, access.contract, amendment, "withdraw")
    return amendment


async def register_amendment(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, amendment_id: uuid.UUID
) -> ContractAmendment:
    """The change takes effect on the contract and counts from today's registration date; a termination ends
    the contract. Earlier figures stay as they were registered."""
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    amendment = await _amendment(session, access, amendment_id)
    user_id = check_is_registrar(access)
    amendment.status = AMENDMENT_LIFECYCLE.next_state(amendment.status, "register")
    before = snapshot(contract)
    now = utcnow()
    amendment.registered_at, amendment.registered_on, amendment.registered_by = now, shanghai_date(now), user_id
    contract.contract_amount_fen = amendment.contract_amount_fen_after
    contract.non_technical_costs = amendment.non_technical_costs
    contract.non_technical_amount_fen = amendment.contract_amount_fen_after - amendment.technology_amount_fen_after
    contract.technology_amount_fen = amendment.technology_amount_fen_after
    contract.milestones = amendment.milestones
    contract.commission_fen = terms.commission_fen(
        contract.commission_mode, contract.commission_rate_bp, contract.commission_fen, contract.contract_amount_fen
    )
    if amendment.kind == AmendmentKind.termination.value:
        contract.status = CONTRACT_LIFECYCLE.next_state(contract.status, "terminate")
        contract.closed_at = now
    else:
        CONTRACT_LIFECYCLE.next_state(contract.status, "amend")
    await session.flush()
    payload = events.amendment_payload(contract, amendment)
    await _record_amendment(session, principal, contract, amendment, "register", payload, before)
    if amendment.kind == AmendmentKind.termination.value:
        await record_change(session, principal, contract, "terminate", before)
    return amendment


async def reject_amendment(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, amendment_id: uuid.UUID, comment: str
) -> ContractAmendment:
    access = await load_access(session, principal, contract_id)
    amendment = await _amendment(session, access, amendment_id)
    user_id = check_is_registrar(access)
    amendment.status = AMENDMENT_LIFECYCLE.next_state(amendment.status, "reject")
    amendment.rejected_at, amendment.rejected_by, amendment.rejection_comment = utcnow(), user_id, comment
    await session.flush()
    await _record_amendment(session, principal, access.contract, amendment, "reject")
    return amendment
