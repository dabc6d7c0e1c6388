"""Demo listings: the owners and posters of the bundled data set as verified organisations, listings published."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.kit.taxonomy import field_code_by_name, industry_code_by_name
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.kit.uscc import ALPHABET, check_character
from services.marketplace.listings import events
from services.marketplace.listings.specs import ACHIEVEMENTS, DEMANDS, ListingSpec
from services.marketplace.models import Achievement, ListingContact, Organisation, VerificationStatus
from services.marketplace.models.listings import ListingStatus
from services.marketplace.outbox.service import emit_event

# Registration-authority and category characters of the USCC by organisation kind (GB 32100-2015).
_USCC_PREFIX = {"university": "12", "research_institute": "12", "enterprise": "91", "government": "11"}


def _records(filename: str) -> list[dict[str, Any]]:
    text = resources.files("services.marketplace").joinpath("seed_data", filename).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def demo_uscc(name: str, kind: str, region_code: str) -> str:
    """A stable, valid code derived from the organisation's name (the demo organisations are fictional)."""
    digest = hashlib.sha256(name.encode()).digest()
    body = _USCC_PREFIX[kind] + region_code + "".join(ALPHABET[byte % 10] for byte in digest[:9])
    return body + check_character(body)


async def _organisation(session: AsyncSession, name: str, kind: str, region_code: str) -> Organisation:
    uscc = demo_uscc(name, kind, region_code)
    organisation = await session.scalar(select(Organisation).where(Organisation.uscc == uscc))
    if organisation is None:
        organisation = Organisation(
            kind=kind,
            name=name,
            uscc=uscc,
            region_code=region_code,
            verification_status=VerificationStatus.verified.value,
            verified_at=utcnow(),
            verification_reason="演示数据",
        )
        session.add(organisation)
        await session.flush()
    return organisation


def _achievement_values(record: dict[str, Any]) -> dict[str, Any]:
    price = record["price_fen"]
    return {
        "title": record["title"],
        "summary": record["summary"],
        "description": record["description"],
        "field_code": field_code_by_name()[record["field"]],
        "industry_code": industry_code_by_name().get(record["industry"]),
        "keywords": record["keywords"],
        "trl": record["trl"],
        "transfer_modes": record["transfer_modes"],
        "ip_items": [
            {"type": item["type"], "number": item["number"].removeprefix("ZL"), "status": "granted"}
            for item in record["ip"]
        ],
        "price_mode": "negotiable" if price is None else "fixed",
        "price_fen": price,
        "region_code": record["region_code"],
        "valid_until": utcnow() + timedelta(days=730),
    }


def _demand_values(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": record["title"],
        "problem": record["problem"],
        "technical_indicators": record["indicators"],
        "budget_min_fen": record["budget_min_fen"],
        "budget_max_fen": record["budget_max_fen"],
        "cooperation_modes": record["cooperation_modes"],
        "field_code": field_code_by_name()[record["field"]],
        "industry_code": industry_code_by_name().get(record["industry"]),
        "keywords": record["keywords"],
        "min_trl": record["min_trl"],
        "region_code": record["region_code"],
        "deadline": utcnow() + timedelta(days=365),
        "confidentiality": "public",
    }


async def _publish(
    session: AsyncSession, spec: ListingSpec, organisation: Organisation, values: dict[str, Any], contact_name: str
) -> None:
    now = utcnow()
    listing = spec.model(
        **values,
        organisation_id=organisation.id,
        status=ListingStatus.published.value,
        version=1,
        submitted_at=now,
        reviewed_at=now,
        published_at=now,
        last_verified_at=now,
    )
    session.add(listing)
    await session.flush()
    session.add(
        ListingContact(
            listing_kind=spec.kind.value,
            listing_id=listing.id,
            name=contact_name,
            email=f"contact-{str(listing.id)[:8]}@demo.ahstm.cn",
        )
    )
    await record_audit(
        session,
        actor=None,
        action=f"{spec.kind.value}.seeded",
        object_type=spec.object_type,
        object_id=listing.id,
        organisation_id=organisation.id,
    )
    await emit_event(
        session,
        topic=events.topic(spec, "approve"),
        aggregate_type=spec.object_type,
        aggregate_id=listing.id,
        payload=events.listing_payload(spec, listing),
    )


async def seed_demo_listings(session: AsyncSession) -> tuple[int, int]:
    """Idempotent: does nothing when demo listings exist already. Returns (achievements, demands) created."""
    if await session.scalar(select(func.count()).select_from(Achievement)):
        return 0, 0
    for record in _records("achievements.jsonl"):
        owner = await _organisation(session, record["owner"], record["owner_kind"], record["region_code"])
        await _publish(session, ACHIEVEMENTS, owner, _achievement_values(record), "成果转化办公室")
    demands = _records("demands.jsonl")
    for record in demands:
        poster = await _organisation(session, record["poster"], "enterprise", record["region_code"])
        await _publish(session, DEMANDS, poster, _demand_values(record), "技术需求联系人")
    return len(_records("achievements.jsonl")), len(demands)
