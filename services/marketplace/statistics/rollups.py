"""Facts from contract events, and the rollups kept in step with them in the same transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.kit.regions import regions_under
from services.marketplace.models import StatContractChange, StatRollup
from services.marketplace.statistics.definitions import GLOBAL_SCOPE, Change, contributions

Cell = tuple[str, int, int, str, str, str]  # scope, year, month, measure, dimension, value
Sums = tuple[int, int, int]  # contract count, contract amount fen, technology amount fen

_INCREMENT = text(
    """
    INSERT INTO stat_rollups (scope, year, month, measure, dimension, value, contract_count,
                              contract_amount_fen, technology_amount_fen)
    VALUES (:scope, :year, :month, :measure, :dimension, :value, :count, :contract, :technology)
    ON CONFLICT (scope, year, month, measure, dimension, value) DO UPDATE SET
        contract_count = stat_rollups.contract_count + excluded.contract_count,
        contract_amount_fen = stat_rollups.contract_amount_fen + excluded.contract_amount_fen,
        technology_amount_fen = stat_rollups.technology_amount_fen + excluded.technology_amount_fen
    """
)


def watched_scopes() -> tuple[str, ...]:
    """Regions whose figures are rolled up: Anhui, Hefei, each Hefei district or county, and the global cells."""
    hefei_units = [region.code for region in regions_under("3401") if region.level == "county"]
    return ("34", "3401", *hefei_units, GLOBAL_SCOPE)


def change_from_fact(fact: StatContractChange) -> Change:
    return Change(
        year=fact.registered_on.year,
        month=fact.registered_on.month,
        count_delta=fact.count_delta,
        contract_amount_delta_fen=fact.contract_amount_delta_fen,
        technology_amount_delta_fen=fact.technology_amount_delta_fen,
        contract_type=fact.contract_type,
        field_code=fact.field_code,
        seller_region_code=fact.seller_region_code,
        seller_country_code=fact.seller_country_code,
        seller_legal_nature=fact.seller_legal_nature,
        buyer_region_code=fact.buyer_region_code,
        buyer_country_code=fact.buyer_country_code,
        buyer_legal_nature=fact.buyer_legal_nature,
        local_conversion=fact.local_conversion,
        local_conversion_academic=fact.local_conversion_academic,
    )


def cells(changes: Iterable[Change], scopes: Sequence[str]) -> dict[Cell, Sums]:
    """The rollup cells a set of changes sums to, computed in Python (the reference for verify)."""
    totals: dict[Cell, list[int]] = defaultdict(lambda: [0, 0, 0])
    for change in changes:
        for scope in scopes:
            for item in contributions(change, scope):
                cell = (item.scope, change.year, change.month, item.measure, item.dimension, item.value)
                sums = totals[cell]
                sums[0] += change.count_delta
                sums[1] += change.contract_amount_delta_fen
                sums[2] += change.technology_amount_delta_fen
    return {cell: (sums[0], sums[1], sums[2]) for cell, sums in totals.items()}


def _fact_values(
    payload: dict[str, Any], *, change_key: str, kind: str, count_delta: int, contract_delta: int, technology_delta: int
) -> dict[str, Any]:
    seller, buyer = payload["seller"], payload["buyer"]
    achievement_id = payload.get("achievement_id")
    return {
        "change_key": change_key,
        "contract_id": uuid.UUID(payload["contract_id"]),
        "kind": kind,
        "registered_on": date.fromisoformat(payload["registered_on"]),
        "count_delta": count_delta,
        "contract_amount_delta_fen": contract_delta,
        "technology_amount_delta_fen": technology_delta,
        "contract_type": payload["contract_type"],
        "field_code": payload.get("field_code"),
        "seller_region_code": seller.get("region_code"),
        "seller_country_code": seller.get("country_code"),
        "seller_legal_nature": seller["legal_nature"],
        "buyer_region_code": buyer.get("region_code"),
        "buyer_country_code": buyer.get("country_code"),
        "buyer_legal_nature": buyer["legal_nature"],
        "local_conversion": bool(payload.get("local_conversion")),
        "local_conversion_academic": bool(payload.get("local_conversion_academic")),
        "achievement_id": uuid.UUID(achievement_id) if achievement_id else None,
    }


def registration_fact(payload: dict[str, Any]) -> dict[str, Any]:
    return _fact_values(
        payload,
        change_key=f"registration:{payload['contract_id']}",
        kind="registration",
        count_delta=1,
        contract_delta=int(payload["contract_amount_fen"]),
        technology_delta=int(payload["technology_amount_fen"]),
    )


def amendment_fact(payload: dict[str, Any]) -> dict[str, Any]:
    return _fact_values(
        payload,
        change_key=f"amendment:{payload['amendment_id']}",
        kind="amendment",
        count_delta=0,
        contract_delta=int(payload["contract_amount_delta_fen"]),
        technology_delta=int(payload["technology_amount_delta_fen"]),
    )


async def record_change(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the fact once (keyed by its change) and add it to the rollups; False when already recorded."""
    fact = await session.scalar(
        insert(StatContractChange)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["change_key"])
        .returning(StatContractChange)
    )
    if fact is None:
        return False
    await _add_cells(session, cells([change_from_fact(fact)], watched_scopes()))
    return True


async def _add_cells(session: AsyncSession, totals: dict[Cell, Sums]) -> None:
    if not totals:
        return
    await session.execute(
        _INCREMENT,
        [
            {
                "scope": scope,
                "year": year,
                "month": month,
                "measure": measure,
                "dimension": dimension,
                "value": value,
                "count": sums[0],
                "contract": sums[1],
                "technology": sums[2],
            }
            for (scope, year, month, measure, dimension, value), sums in sorted(totals.items())
        ],
    )


async def all_changes(session: AsyncSession) -> list[Change]:
    return [change_from_fact(fact) for fact in await session.scalars(select(StatContractChange))]


async def rebuild_rollups(session: AsyncSession) -> int:
    """Recompute every rollup cell from the facts (after adding a watched region, or to repair)."""
    await session.execute(delete(StatRollup))
    totals = cells(await all_changes(session), watched_scopes())
    await _add_cells(session, totals)
    return len(totals)
