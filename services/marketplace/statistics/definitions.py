"""The statistics definitions (DOMAIN.md), as pure functions shared by the rollups, the raw path and verify.

For a region R given by code prefix: 输出 (exported) counts contracts whose seller lies in R, 吸纳 (absorbed)
those whose buyer lies in R; the official indicator is their gross sum (a contract with both parties in R
counts on both sides); the union counts such a contract once (exported + absorbed − both).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.marketplace.kit.regions import RegionError, in_region

OUTSIDE_MAINLAND = frozenset({"71", "81", "82"})
YANGTZE_DELTA = frozenset({"31", "32", "33", "34"})
GLOBAL_SCOPE = "*"

EXPORTED, ABSORBED, BOTH, LOCAL = "exported", "absorbed", "both", "local"


@dataclass(frozen=True)
class Change:
    """The dimensions and amounts of one registered change (a fact)."""

    year: int
    month: int
    count_delta: int
    contract_amount_delta_fen: int
    technology_amount_delta_fen: int
    contract_type: str
    field_code: str | None
    seller_region_code: str | None
    seller_country_code: str | None
    seller_legal_nature: str
    buyer_region_code: str | None
    buyer_country_code: str | None
    buyer_legal_nature: str
    local_conversion: bool
    local_conversion_academic: bool


@dataclass(frozen=True)
class Contribution:
    scope: str
    measure: str
    dimension: str
    value: str


def party_in(scope: str, region_code: str | None, country_code: str | None) -> bool:
    if region_code is None or country_code is not None:
        return False
    try:
        return in_region(region_code, scope)
    except RegionError:
        return False


def seller_kind(legal_nature: str) -> str:
    """企业 / 科研机构 / 高等院校 / other."""
    return legal_nature if legal_nature in ("enterprise", "research_institute", "university") else "other"


def counterpart_location(scope: str, region_code: str | None, country_code: str | None) -> str:
    """Where the other party is, seen from region ``scope``: same_city … abroad."""
    if region_code is None or country_code is not None or region_code[:2] in OUTSIDE_MAINLAND:
        return "abroad"
    if len(scope) >= 4 and region_code.startswith(scope[:4]):
        return "same_city"
    if region_code[:2] == scope[:2]:
        return "same_province"
    if region_code[:2] in YANGTZE_DELTA:
        return "yangtze_delta"
    return "rest_of_china"


def _shared_dimensions(change: Change) -> list[tuple[str, str]]:
    return [
        ("total", "all"),
        ("contract_type", change.contract_type),
        ("field", change.field_code or "unknown"),
        ("seller_kind", seller_kind(change.seller_legal_nature)),
    ]


def contributions(change: Change, scope: str) -> Iterator[Contribution]:
    """Every rollup cell one change adds to for region ``scope`` (or the global local-conversion cells)."""
    if scope == GLOBAL_SCOPE:
        if change.local_conversion:
            yield Contribution(scope, LOCAL, "local_conversion", "all")
        if change.local_conversion_academic:
            yield Contribution(scope, LOCAL, "local_conversion", "academic")
        return
    seller_inside = party_in(scope, change.seller_region_code, change.seller_country_code)
    buyer_inside = party_in(scope, change.buyer_region_code, change.buyer_country_code)
    shared = _shared_dimensions(change)
    if seller_inside:
        for dimension, value in shared:
            yield Contribution(scope, EXPORTED, dimension, value)
        yield Contribution(scope, EXPORTED, "district", change.seller_region_code or "")
        yield Contribution(
            scope,
            EXPORTED,
            "counterpart",
            counterpart_location(scope, change.buyer_region_code, change.buyer_country_code),
        )
    if buyer_inside:
        for dimension, value in shared:
            yield Contribution(scope, ABSORBED, dimension, value)
        yield Contribution(scope, ABSORBED, "district", change.buyer_region_code or "")
        yield Contribution(
            scope,
            ABSORBED,
            "counterpart",
            counterpart_location(scope, change.seller_region_code, change.seller_country_code),
        )
    if seller_inside and buyer_inside:
        for dimension, value in shared:
            yield Contribution(scope, BOTH, dimension, value)
