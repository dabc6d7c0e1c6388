"""Outbox topics and payloads of contracts.

``contract.registered`` and ``contract.amended`` feed the statistics rollups, so each carries every dimension
a rollup groups by (both parties' location and legal nature, type, field, local conversion) and the amounts
it adds, dated by its own registration: a rollup never needs to read the contract to place a figure.
Amounts are integer fen; ``registered_on`` and ``registration_year`` are on the Asia/Shanghai calendar.
"""

from __future__ import annotations

from typing import Any

from services.marketplace.contracts.policies import is_cross_border, registering_side
from services.marketplace.models import Contract, ContractAmendment
from services.marketplace.models.contracts import Side

PAYLOAD_SCHEMA_VERSION = 1

# Lifecycle actions that become topics ``contract.<topic>``.
ACTION_TOPICS = {
    "create": "drafted",
    "edit": "edited",
    "request_signatures": "awaiting_signatures",
    "sign": "signature_added",
    "complete_signatures": "signed",
    "submit": "submitted",
    "register": "registered",
    "reject": "rejected",
    "start_performance": "performing",
    "complete": "completed",
    "terminate": "terminated",
    "cancel": "cancelled",
}
AMENDMENT_TOPICS = {
    "propose": "amendment_proposed",
    "confirm": "amendment_submitted",
    "withdraw": "amendment_withdrawn",
    "register": "amended",
    "reject": "amendment_rejected",
}


def topic(action: str) -> str:
    return f"contract.{ACTION_TOPICS[action]}"


def amendment_topic(action: str) -> str:
    return f"contract.{AMENDMENT_TOPICS[action]}"


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def party_payload(contract: Contract, side: Side) -> dict[str, Any]:
    region_code = getattr(contract, f"{side.value}_region_code")
    country_code = getattr(contract, f"{side.value}_country_code")
    return {
        "organisation_id": _optional(getattr(contract, f"{side.value}_organisation_id")),
        "name": getattr(contract, f"{side.value}_name"),
        "region_code": region_code,
        "country_code": country_code,
        "cross_border": is_cross_border(region_code, country_code),
        "legal_nature": getattr(contract, f"{side.value}_legal_nature"),
    }


def contract_payload(contract: Contract) -> dict[str, Any]:
    """Small payload of lifecycle events: who is involved, for notifications."""
    return {
        "contract_id": str(contract.id),
        "version": contract.version,
        "status": contract.status,
        "seller_organisation_id": _optional(contract.seller_organisation_id),
        "buyer_organisation_id": _optional(contract.buyer_organisation_id),
        "broker_id": _optional(contract.broker_user_id),
    }


def _dimensions(contract: Contract) -> dict[str, Any]:
    return {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "contract_id": str(contract.id),
        "registration_number": contract.registration_number,
        "contract_type": contract.contract_type,
        "contract_subtype": contract.contract_subtype,
        "field_code": contract.field_code,
        "industry_code": contract.industry_code,
        "seller": party_payload(contract, Side.seller),
        "buyer": party_payload(contract, Side.buyer),
        "registering_side": registering_side(contract).value,
        "local_conversion": contract.local_conversion,
        "local_conversion_academic": contract.local_conversion_academic,
        "achievement_id": _optional(contract.achievement_id),
        "demand_id": _optional(contract.demand_id),
        "broker_id": _optional(contract.broker_user_id),
        "currency": "CNY",
        "amount_unit": "fen",
    }


def registration_payload(contract: Contract) -> dict[str, Any]:
    assert contract.registered_at is not None
    assert contract.registered_on is not None
    return _dimensions(contract) | {
        "registered_at": contract.registered_at.isoformat(),
        "registered_on": contract.registered_on.isoformat(),
        "registration_year": contract.registered_on.year,
        "signed_on": _optional(contract.signed_on),
        "contract_amount_fen": contract.contract_amount_fen,
        "technology_amount_fen": contract.technology_amount_fen,
        "commission_fen": contract.commission_fen,
    }


def amendment_payload(contract: Contract, amendment: ContractAmendment) -> dict[str, Any]:
    """The deltas count from the amendment's own registration date; the contract's first registration stays."""
    assert amendment.registered_at is not None
    assert amendment.registered_on is not None
    assert contract.registered_at is not None
    return _dimensions(contract) | {
        "amendment_id": str(amendment.id),
        "sequence": amendment.sequence,
        "kind": amendment.kind,
        "registered_at": amendment.registered_at.isoformat(),
        "registered_on": amendment.registered_on.isoformat(),
        "registration_year": amendment.registered_on.year,
        "contract_registered_at": contract.registered_at.isoformat(),
        "contract_amount_delta_fen": amendment.contract_amount_delta_fen,
        "technology_amount_delta_fen": amendment.technology_amount_delta_fen,
        "contract_amount_fen_after": amendment.contract_amount_fen_after,
        "technology_amount_fen_after": amendment.technology_amount_fen_after,
        "status_after": contract.status,
    }


def amendment_lifecycle_payload(contract: Contract, amendment: ContractAmendment) -> dict[str, Any]:
    return contract_payload(contract) | {
        "amendment_id": str(amendment.id),
        "sequence": amendment.sequence,
        "kind": amendment.kind,
        "amendment_status": amendment.status,
    }
