"""Search documents built from listings: the only shape services.matching sees of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.marketplace.models import Achievement, Demand
from services.matching.indexes import region_prefixes


def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _common(listing: Achievement | Demand, owner_kind: str, kind: str) -> dict[str, Any]:
    return {
        "id": str(listing.id),
        "version": listing.version,
        "kind": kind,
        "status": listing.status,
        "organisation_id": str(listing.organisation_id),
        "owner_kind": owner_kind,
        "title": listing.title,
        "keywords": list(listing.keywords),
        "field_code": listing.field_code,
        "industry_code": listing.industry_code,
        "region_code": listing.region_code,
        "region_code_prefixes": region_prefixes(listing.region_code),
        "published_at": _epoch(listing.published_at),
    }


def achievement_document(listing: Achievement, owner_kind: str) -> dict[str, Any]:
    return _common(listing, owner_kind, "achievement") | {
        "summary": listing.summary,
        "description": listing.description,
        "ip_numbers": [str(item["number"]) for item in listing.ip_items],
        "trl": listing.trl,
        "price_fen": listing.price_fen,
        "price_mode": listing.price_mode,
        "transfer_modes": list(listing.transfer_modes),
        "valid_until": _epoch(listing.valid_until),
    }


def demand_document(listing: Demand, owner_kind: str) -> dict[str, Any]:
    return _common(listing, owner_kind, "demand") | {
        "problem": listing.problem,
        "technical_indicators": listing.technical_indicators,
        "min_trl": listing.min_trl,
        "budget_min_fen": listing.budget_min_fen,
        "budget_max_fen": listing.budget_max_fen,
        "cooperation_modes": list(listing.cooperation_modes),
        "confidentiality": listing.confidentiality,
        "deadline": _epoch(listing.deadline),
    }
