"""Engine-neutral search requests and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FilterValue = str | int | bool


@dataclass(frozen=True)
class Eq:
    field: str
    value: FilterValue


@dataclass(frozen=True)
class In:
    """The field (scalar or list) equals, or contains, any of ``values``."""

    field: str
    values: tuple[FilterValue, ...]


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; a document without the field never matches."""

    field: str
    gte: int | None = None
    lte: int | None = None


@dataclass(frozen=True)
class Prefix:
    """Region containment: ``region_code`` 340104 lies in prefixes 34, 3401 and 340104.

    Engines match on the precomputed ``<field>_prefixes`` list of the document.
    """

    field: str
    prefix: str


@dataclass(frozen=True)
class AnyOf:
    """A disjunction of other filters (used for visibility: public OR own organisation)."""

    filters: tuple[Filter, ...]


Filter = Eq | In | Range | Prefix | AnyOf


@dataclass(frozen=True)
class Sort:
    field: str
    direction: Literal["asc", "desc"] = "desc"


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filters: tuple[Filter, ...] = ()
    facets: tuple[str, ...] = ()
    sort: tuple[Sort, ...] = ()
    limit: int = 20
    offset: int = 0
    highlight: bool = True


@dataclass(frozen=True)
class Hit:
    document: dict[str, Any]
    score: float
    highlights: dict[str, str] = field(default_factory=dict)
    matched_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
