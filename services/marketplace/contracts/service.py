"""Contract use cases up to signing, and the later lifecycle steps. Services flush; the boundary commits.

Registration and amendments are in ``registration.py``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.contracts import events, terms
from services.marketplace.contracts import repository as repo
from services.marketplace.contracts.policies import (
    PARTY_ROLES,
    ContractAccess,
    check_can_edit,
    check_can_record_offline_signature,
    check_can_sign,
    check_is_party_admin,
    party_organisation,
)
from services.marketplace.contracts.schemas import ContractCreate, ContractUpdate, PartyInput
from services.marketplace.contracts.specs import CONTRACT_LIFECYCLE, HEFEI_PREFIX
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.regions import in_region
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.listings import repository as listings_repo
from services.marketplace.listings.specs import ACHIEVEMENTS, DEMANDS, ListingSpec
from services.marketplace.models import (
    Achievement,
    Contract,
    ContractSignature,
    Demand,
    Organisation,
    OrganisationKind,
    Role,
    VerificationStatus,
)
from services.marketplace.models.contracts import SUBTYPES, ContractStatus, ContractType, LegalNature, Side
from services.marketplace.outbox.service import emit_event

LABEL = "技术合同"
# A platform organisation's legal nature on the registration form, from its kind.
LEGAL_NATURE_BY_KIND = {
    OrganisationKind.enterprise.value: LegalNature.enterprise,
    OrganisationKind.university.value: LegalNature.university,
    OrganisationKind.research_institute.value: LegalNature.research_institute,
    OrganisationKind.government.value: LegalNature.government,
    OrganisationKind.transfer_agency.value: LegalNature.other,
    OrganisationKind.platform.value: LegalNature.other,
}
ACADEMIC_KINDS = frozenset({OrganisationKind.university.value, OrganisationKind.research_institute.value})
# Input fields stored as they are (lists as JSON).
_PLAIN_FIELDS = (
    "title",
    "contract_type",
    "contract_subtype",
    "subject",
    "terms",
    "contract_amount_fen",
    "valid_from",
    "valid_until",
    "achievement_id",
    "demand_id",
    "field_code",
    "industry_code",
)
_JSON_LIST_FIELDS = ("non_technical_costs", "milestones", "attachments")
_PARTY_PARTS = ("organisation_id", "name", "uscc", "region_code", "country_code", "legal_nature")
# The columns of one contract version: what an edit may change and a signature covers.
_TERM_COLUMNS = (
    *_PLAIN_FIELDS,
    *_JSON_LIST_FIELDS,
    *(f"{side.value}_{part}" for side in Side for part in _PARTY_PARTS),
    "non_technical_amount_fen",
    "technology_amount_fen",
    "local_conversion",
    "local_conversion_academic",
    "broker_user_id",
    "commission_mode",
    "commission_rate_bp",
    "commission_fen",
    "commission_payer",
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(contract: Contract) -> dict[str, Any]:
    return {column.key: _json_safe(getattr(contract, column.key)) for column in Contract.__table__.columns}


def _organisation_of(contract: Contract) -> uuid.UUID | None:
    """The organisation an audit row of the contract is filed under: the seller's, else the buyer's."""
    return contract.seller_organisation_id or contract.buyer_organisation_id


async def record_change(
    session: AsyncSession,
    principal: Principal | None,
    contract: Contract,
    action: str,
    before: dict[str, Any] | None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Audit row and outbox event of one contract state change, in the caller's transaction."""
    await record_audit(
        session,
        actor=principal,
        action=f"contract.{action}",
        object_type="contract",
        object_id=contract.id,
        organisation_id=_organisation_of(contract),
        before=before,
        after=snapshot(contract),
    )
    await emit_event(
        session,
        topic=events.topic(action),
        aggregate_type="contract",
        aggregate_id=contract.id,
        payload=payload if payload is not None else events.contract_payload(contract),
    )


async def load_access(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, *, for_update: bool = True
) -> ContractAccess:
    contract = await repo.get_readable(session, principal, contract_id, for_update=for_update)
    if contract is None:
        raise NotFound(f"{LABEL}不存在")
    return ContractAccess(principal, contract)


async def get_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    return (await load_access(session, principal, contract_id, for_update=False)).contract


# --- composing the record -------------------------------------------------------------------------


async def _party_columns(
    session: AsyncSession, side: Side, party: PartyInput, errors: list[FieldError]
) -> dict[str, Any]:
    prefix = side.value
    if party.organisation_id is not None:
        organisation = await repo.get_organisation(session, party.organisation_id)
        if organisation is None or organisation.verification_status != VerificationStatus.verified.value:
            errors.append(
                FieldError(
                    loc=["body", prefix, "organisation_id"], msg="机构不存在或尚未通过认证", type="party_unknown"
                )
            )
            return {}
        return {
            f"{prefix}_organisation_id": organisation.id,
            f"{prefix}_name": organisation.name,
            f"{prefix}_uscc": organisation.uscc,
            f"{prefix}_region_code": organisation.region_code,
            f"{prefix}_country_code": None,
            f"{prefix}_legal_nature": LEGAL_NATURE_BY_KIND[organisation.kind].value,
        }
    assert party.name is not None
    assert party.legal_nature is not None
    return {
        f"{prefix}_organisation_id": None,
        f"{prefix}_name": party.name,
        f"{prefix}_uscc": party.uscc,
        f"{prefix}_region_code": party.region_code,
        f"{prefix}_country_code": party.country_code,
        f"{prefix}_legal_nature": party.legal_nature.value,
    }


async def _readable_listing(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID
) -> Achievement | Demand | None:
    viewer = await listings_repo.load_viewer(session, principal)
    return await listings_repo.get_readable(session, spec, viewer, listing_id)


async def _check_origin(
    session: AsyncSession,
    principal: Principal,
    columns: dict[str, Any],
    changed: set[str],
    errors: list[FieldError],
) -> str | None:
    """Validate the linked achievement and demand; returns the achievement owner's organisation kind."""
    owner_kind: str | None = None
    links = (
        ("achievement_id", ACHIEVEMENTS, Side.seller, "科技成果的所有者须为合同卖方"),
        ("demand_id", DEMANDS, Side.buyer, "技术需求的发布者须为合同买方"),
    )
    for field, spec, side, mismatch in links:
        listing_id = columns.get(field)
        if listing_id is None:
            continue
        if field in changed:
            listing = await _readable_listing(session, principal, spec, listing_id)
        else:
            listing = await session.get(spec.model, listing_id)
        if listing is None:
            errors.append(FieldError(loc=["body", field], msg=f"{spec.label}不存在", type="listing_unknown"))
            continue
        if listing.organisation_id != columns.get(f"{side.value}_organisation_id"):
            errors.append(FieldError(loc=["body", field], msg=mismatch, type="listing_not_a_party"))
            continue
        if columns.get("field_code") is None:
            columns["field_code"] = listing.field_code
            columns["industry_code"] = columns.get("industry_code") or listing.industry_code
        if spec is ACHIEVEMENTS:
            owner_kind = await session.scalar(
                select(Organisation.kind).where(Organisation.id == listing.organisation_id)
            )
    return owner_kind


def local_conversion_flags(buyer_region_code: str | None, achievement_owner_kind: str | None) -> tuple[bool, bool]:
    """就地转化: an achievement converted by a buyer located in Hefei; academic when its owner is a university
    or research institute."""
    local = (
        achievement_owner_kind is not None
        and buyer_region_code is not None
        and in_region(buyer_region_code, HEFEI_PREFIX)
    )
    return local, local and achievement_owner_kind in ACADEMIC_KINDS


async def _check_broker(
    session: AsyncSession, columns: dict[str, Any], changed: set[str], errors: list[FieldError]
) -> None:
    broker_id = columns.get("broker_user_id")
    if (
        broker_id is not None
        and "broker_user_id" in changed
        and await repo.get_certified_broker(session, broker_id) is None
    ):
        errors.append(FieldError(loc=["body", "broker_id"], msg="不是已认证的技术经纪人", type="broker_unknown"))
    if broker_id is None and columns.get("commission_mode") is not None:
        errors.append(
            FieldError(loc=["body", "commission"], msg="约定佣金需要指定技术经纪人", type="commission_without_broker")
        )


def _check_record(columns: dict[str, Any], errors: list[FieldError]) -> None:
    subtype = columns.get("contract_subtype")
    contract_type = ContractType(columns["contract_type"])
    if subtype is not None and subtype not in SUBTYPES[contract_type]:
        allowed = "、".join(SUBTYPES[contract_type]) or "无"
        errors.append(
            FieldError(
                loc=["body", "contract_subtype"],
                msg=f"{contract_type.value} 合同的子类型只能是：{allowed}",
                type="subtype_mismatch",
            )
        )
    valid_from, valid_until = columns.get("valid_from"), columns.get("valid_until")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        errors.append(FieldError(loc=["body", "valid_until"], msg="有效期截止日不能早于起始日", type="validity"))
    seller, buyer = columns.get("seller_organisation_id"), columns.get("buyer_organisation_id")
    if seller is None and buyer is None and "seller_name" in columns and "buyer_name" in columns:
        errors.append(FieldError(loc=["body", "seller"], msg="合同至少一方须为平台机构", type="no_platform_party"))
    if seller is not None and seller == buyer:
        errors.append(FieldError(loc=["body", "buyer"], msg="买卖双方不能是同一机构", type="same_party"))
    amount = columns["contract_amount_fen"]
    errors.extend(terms.amount_problems(amount, columns["non_technical_costs"], columns["milestones"], ["body"]))
    commission = terms.commission_problem(
        columns.get("commission_mode"), columns.get("commission_fen"), amount, ["body"]
    )
    if commission is not None:
        errors.append(commission)


def _commission_columns(commission: BaseModel | None) -> dict[str, Any]:
    if commission is None:
        return {"commission_mode": None, "commission_rate_bp": None, "commission_fen": None, "commission_payer": None}
    data = commission.model_dump(mode="json")
    return {
        "commission_mode": data["mode"],
        "commission_rate_bp": data["rate_bp"],
        "commission_fen": data["amount_fen"],
        "commission_payer": data["payer"],
    }


async def _compose(
    session: AsyncSession, principal: Principal, current: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """The contract's columns after ``changes`` (input fields) applied to ``current`` (columns), all checked."""
    columns = dict(current)
    changed: set[str] = set()
    errors: list[FieldError] = []
    for field in _PLAIN_FIELDS:
        if field in changes:
            value = changes[field]
            columns[field] = value.value if isinstance(value, Enum) else value
            changed.add(field)
    for field in _JSON_LIST_FIELDS:
        if field in changes:
            columns[field] = [item.model_dump(mode="json") for item in changes[field]]
    for side in Side:
        party = changes.get(side.value)
        if party is not None:
            columns |= await _party_columns(session, side, party, errors)
    if "broker_id" in changes:
        columns["broker_user_id"] = changes["broker_id"]
        changed.add("broker_user_id")
    if "commission" in changes:
        columns |= _commission_columns(changes["commission"])
    _check_record(columns, errors)
    await _check_broker(session, columns, changed, errors)
    owner_kind = await _check_origin(session, principal, columns, changed, errors)
    if errors:
        raise ValidationProblem(errors[0].msg, errors=errors)
    amounts = terms.compute_amounts(columns["contract_amount_fen"], columns["non_technical_costs"])
    columns["non_technical_amount_fen"] = amounts.non_technical_amount_fen
    columns["technology_amount_fen"] = amounts.technology_amount_fen
    if columns.get("commission_mode") is not None:
        columns["commission_fen"] = terms.commission_fen(
            columns["commission_mode"],
            columns["commission_rate_bp"],
            columns["commission_fen"],
            columns["contract_amount_fen"],
        )
    columns["local_conversion"], columns["local_conversion_academic"] = local_conversion_flags(
        columns.get("buyer_region_code"), owner_kind
    )
    return columns


def _term_values(contract: Contract) -> dict[str, Any]:
    return {column: getattr(contract, column) for column in _TERM_COLUMNS}


# --- use cases ---------------------------------------------------------------------------------------


async def create_contract(session: AsyncSession, principal: Principal, data: ContractCreate) -> Contract:
    """A draft by one of the parties, or by a certified broker (who is then the contract's broker)."""
    changes: dict[str, Any] = {name: getattr(data, name) for name in type(data).model_fields}
    party_ids = {data.seller.organisation_id, data.buyer.organisation_id} - {None}
    if not (principal.has_role(*PARTY_ROLES) and principal.organisation_id in party_ids):
        if (
            principal.user_id is None
            or not principal.has_role(Role.broker)
            or await repo.get_certified_broker(session, principal.user_id) is None
        ):
            raise Forbidden("只有合同当事机构的管理员、成员或认证技术经纪人可以起草合同")
        if data.broker_id not in (None, principal.user_id):
            raise ValidationProblem.for_field(["body", "broker_id"], "技术经纪人起草的合同，经纪人须为其本人")
        changes["broker_id"] = principal.user_id
    columns = await _compose(session, principal, {}, changes)
    contract = Contract(
        **columns, status=ContractStatus.draft.value, version=1, created_by=principal.user_id, rejection_reasons=[]
    )
    session.add(contract)
    await session.flush()
    await record_change(session, principal, contract, "create", None)
    return contract


def _check_party_replacement(contract: Contract, data: ContractUpdate) -> None:
    """Platform parties are fixed once drafted (their members' access hangs on it); outside parties may be
    corrected but not swapped for a platform organisation."""
    for side in Side:
        party: PartyInput | None = getattr(data, side.value)
        if party is None:
            continue
        if party.organisation_id != party_organisation(contract, side):
            raise ValidationProblem.for_field(
                ["body", side.value], "平台机构当事人不能更换，也不能改为或改自平台外当事人；如需更换请取消后重新起草"
            )


async def update_contract(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, data: ContractUpdate
) -> Contract:
    """Every accepted edit is a new version; signatures name a version, so those already given stop counting."""
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    check_can_edit(access)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    if not changes:
        return contract
    if "broker_id" in changes and not access.is_party:
        raise Forbidden("技术经纪人不能更换合同的经纪人")
    next_status = CONTRACT_LIFECYCLE.next_state(contract.status, "edit")
    _check_party_replacement(contract, data)
    columns = await _compose(session, principal, _term_values(contract), changes)
    before = snapshot(contract)
    voided = await repo.current_signatures(session, contract)
    for key, value in columns.items():
        setattr(contract, key, value)
    contract.version += 1
    contract.status = next_status
    contract.signed_at = contract.signed_on = None
    await session.flush()
    payload = events.contract_payload(contract) | {"voided_signatures": [signature.side for signature in voided]}
    await record_change(session, principal, contract, "edit", before, payload)
    return contract


def _missing_for_signature(contract: Contract) -> list[FieldError]:
    """What a registrar would miss: the subject, the sub-type, validity, a payment schedule, commission terms."""
    missing: list[tuple[str, str]] = []
    if not contract.subject:
        missing.append(("subject", "请填写合同标的（技术内容、范围与指标）"))
    if contract.contract_subtype is None and SUBTYPES[ContractType(contract.contract_type)]:
        missing.append(("contract_subtype", "请选择合同子类型"))
    if contract.valid_from is None or contract.valid_until is None:
        missing.append(("valid_until", "请填写合同有效期"))
    if not contract.milestones:
        missing.append(("milestones", "请填写付款节点，合计须等于合同成交额"))
    if contract.broker_user_id is not None and contract.commission_mode is None:
        missing.append(("commission", "有技术经纪人的合同须约定佣金"))
    return [FieldError(loc=["contract", field], msg=msg, type="missing") for field, msg in missing]


async def request_signatures(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    check_can_edit(access)
    next_status = CONTRACT_LIFECYCLE.next_state(contract.status, "request_signatures")
    missing = _missing_for_signature(contract)
    if missing:
        raise ValidationProblem("合同内容不完整，尚不能签署", errors=missing)
    before = snapshot(contract)
    contract.status = next_status
    await session.flush()
    await record_change(session, principal, contract, "request_signatures", before)
    return contract


async def _complete_signatures_if_all(
    session: AsyncSession, principal: Principal, contract: Contract, signatures: list[ContractSignature]
) -> None:
    if {signature.side for signature in signatures} != {side.value for side in Side}:
        return
    before = snapshot(contract)
    contract.status = CONTRACT_LIFECYCLE.next_state(contract.status, "complete_signatures")
    contract.signed_at = max(signature.signed_at for signature in signatures)
    contract.signed_on = shanghai_date(contract.signed_at)
    await session.flush()
    await record_change(session, principal, contract, "complete_signatures", before)


async def _add_signature(
    session: AsyncSession,
    principal: Principal,
    contract: Contract,
    side: Side,
    version: int,
    *,
    user_id: uuid.UUID,
    offline: bool,
    note: str | None,
) -> Contract:
    before = snapshot(contract)
    CONTRACT_LIFECYCLE.next_state(contract.status, "sign")
    if version != contract.version:
        raise Conflict(
            f"合同已修改为第 {contract.version} 版，请核对后签署当前版本",
            current_version=contract.version,
            signed_version=version,
        )
    signatures = await repo.current_signatures(session, contract)
    if any(signature.side == side.value for signature in signatures):
        raise Conflict("该方已签署当前版本")
    signature = ContractSignature(
        contract_id=contract.id,
        side=side.value,
        version=version,
        offline=offline,
        user_id=user_id,
        organisation_id=principal.organisation_id,
        note=note,
        signed_at=utcnow(),
    )
    session.add(signature)
    await session.flush()
    payload = events.contract_payload(contract) | {"side": side.value, "offline": offline}
    await record_change(session, principal, contract, "sign", before, payload)
    await _complete_signatures_if_all(session, principal, contract, [*signatures, signature])
    return contract


async def sign_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID, version: int) -> Contract:
    """A party's org_admin confirms exactly ``version``; a mismatch means the text changed under them (409)."""
    access = await load_access(session, principal, contract_id)
    side = access.side
    if side is None:
        raise Forbidden("只有合同当事机构的管理员可以签署合同")
    user_id = check_can_sign(access, side)
    return await _add_signature(
        session, principal, access.contract, side, version, user_id=user_id, offline=False, note=None
    )


async def record_offline_signature(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, side: Side, version: int, note: str
) -> Contract:
    """An outside party signs on paper; the platform counterparty's org_admin records it, for one version."""
    access = await load_access(session, principal, contract_id)
    user_id = check_can_record_offline_signature(access, side)
    return await _add_signature(
        session, principal, access.contract, side, version, user_id=user_id, offline=True, note=note
    )


async def _party_admin_transition(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, action: str, what: str
) -> Contract:
    access = await load_access(session, principal, contract_id)
    contract = access.contract
    check_is_party_admin(access, what)
    next_status = CONTRACT_LIFECYCLE.next_state(contract.status, action)
    if action == "complete" and await repo.has_open_amendment(session, contract.id):
        raise Conflict("合同有待确认或待登记的变更，处理完毕后才能确认履行完毕")
    before = snapshot(contract)
    contract.status = next_status
    now = utcnow()
    if action == "start_performance":
        contract.performance_started_at = now
    else:
        contract.closed_at = now
    await session.flush()
    await record_change(session, principal, contract, action, before)
    return contract


async def start_performance(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    return await _party_admin_transition(session, principal, contract_id, "start_performance", "开始履行合同")


async def complete_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    return await _party_admin_transition(session, principal, contract_id, "complete", "确认合同履行完毕")


async def cancel_contract(session: AsyncSession, principal: Principal, contract_id: uuid.UUID) -> Contract:
    """Abandon a contract that was never registered; a registered one ends by a registered termination."""
    return await _party_admin_transition(session, principal, contract_id, "cancel", "取消合同")
