"""The indexes and what each field is for. Searchable attributes are ordered short-and-specific first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IndexDefinition:
    name: str
    primary_key: str
    # Text fields, most important first: title > keywords > summary > description.
    searchable: tuple[str, ...]
    filterable: tuple[str, ...]
    sortable: tuple[str, ...]
    facets: tuple[str, ...]
    # Code-like fields where typo tolerance must stay off (patent numbers and the like).
    exact: tuple[str, ...] = ()


ACHIEVEMENTS = IndexDefinition(
    name="achievements",
    primary_key="id",
    searchable=("title", "keywords", "summary", "description", "ip_numbers"),
    filterable=(
        "status",
        "organisation_id",
        "owner_kind",
        "field_code",
        "industry_code",
        "region_code_prefixes",
        "trl",
        "price_fen",
        "price_mode",
        "transfer_modes",
    ),
    sortable=("published_at", "trl", "price_fen", "valid_until"),
    facets=("field_code", "industry_code", "transfer_modes", "owner_kind", "trl", "price_mode"),
    exact=("ip_numbers",),
)

DEMANDS = IndexDefinition(
    name="demands",
    primary_key="id",
    searchable=("title", "keywords", "problem", "technical_indicators"),
    filterable=(
        "status",
        "organisation_id",
        "owner_kind",
        "field_code",
        "industry_code",
        "region_code_prefixes",
        "min_trl",
        "budget_min_fen",
        "budget_max_fen",
        "cooperation_modes",
        "confidentiality",
    ),
    sortable=("published_at", "deadline", "budget_max_fen"),
    facets=("field_code", "industry_code", "cooperation_modes", "confidentiality", "owner_kind"),
)

INDEXES = {index.name: index for index in (ACHIEVEMENTS, DEMANDS)}


def region_prefixes(region_code: str) -> list[str]:
    """34, 3401, 340104 for 340104: what a region prefix filter matches on."""
    return [region_code[:2], region_code[:4], region_code]
