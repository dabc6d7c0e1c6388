"""Figures for a region and year: from the rollups for watched regions, from the facts for any other prefix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from sqlalchemy import case, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.models import StatContractChange, StatRollup
from services.marketplace.statistics.definitions import ABSORBED, BOTH, EXPORTED, GLOBAL_SCOPE, LOCAL
from services.marketplace.statistics.rollups import Sums, cells, change_from_fact, watched_scopes

SHARED_DIMENSIONS = ("contract_type", "field", "seller_kind")
SIDE_DIMENSIONS = ("district", "counterpart")


@dataclass
class Figure:
    contract_count: int = 0
    contract_amount_fen: int = 0
    technology_amount_fen: int = 0

    def add(self, sums: Sums, sign: int = 1) -> None:
        self.contract_count += sign * sums[0]
        self.contract_amount_fen += sign * sums[1]
        self.technology_amount_fen += sign * sums[2]

    def plus(self, other: Figure, sign: int = 1) -> Figure:
        result = Figure(self.contract_count, self.contract_amount_fen, self.technology_amount_fen)
        result.add((other.contract_count, other.contract_amount_fen, other.technology_amount_fen), sign)
        return result


@dataclass
class SideFigures:
    exported: Figure = field(default_factory=Figure)
    absorbed: Figure = field(default_factory=Figure)
    both: Figure = field(default_factory=Figure)

    @property
    def gross(self) -> Figure:
        """The official indicator: 输出 + 吸纳, a contract with both parties inside counted twice."""
        return self.exported.plus(self.absorbed)

    @property
    def union(self) -> Figure:
        """Contracts with at least one party inside, each counted once."""
        return self.gross.plus(self.both, -1)


@dataclass
class RegionYear:
    scope: str
    year: int
    source: str
    totals: SideFigures
    breakdowns: dict[str, dict[str, SideFigures]]
    months: dict[int, SideFigures]
    local_conversion: dict[str, int]


Rows = list[tuple[int, str, str, str, Sums]]  # month, measure, dimension, value, sums


async def _rollup_rows(session: AsyncSession, scopes: tuple[str, ...], year: int) -> dict[str, Rows]:
    """The cells of ``scopes`` for the year, summed over the months in the database except the totals
    (the monthly lines need those): ~150 rows for a region instead of ~1,300."""
    month = case((StatRollup.dimension == "total", StatRollup.month), else_=0)
    result = await session.execute(
        select(
            StatRollup.scope,
            month,
            StatRollup.measure,
            StatRollup.dimension,
            StatRollup.value,
            func.sum(StatRollup.contract_count),
            func.sum(StatRollup.contract_amount_fen),
            func.sum(StatRollup.technology_amount_fen),
        )
        .where(StatRollup.scope.in_(scopes), StatRollup.year == year)
        .group_by(StatRollup.scope, month, StatRollup.measure, StatRollup.dimension, StatRollup.value)
    )
    rows: dict[str, Rows] = {scope: [] for scope in scopes}
    for row in result:
        rows[row[0]].append((row[1], row[2], row[3], row[4], (int(row[5]), int(row[6]), int(row[7]))))
    return rows


async def _fact_rows(session: AsyncSession, scope: str, year: int) -> Rows:
    facts = await session.scalars(
        select(StatContractChange).where(
            StatContractChange.registered_on >= date(year, 1, 1),
            StatContractChange.registered_on < date(year + 1, 1, 1),
            or_(
                StatContractChange.seller_region_code.startswith(scope, autoescape=True),
                StatContractChange.buyer_region_code.startswith(scope, autoescape=True),
            ),
        )
    )
    computed = cells([change_from_fact(fact) for fact in facts], [scope])
    return [(cell[2], cell[3], cell[4], cell[5], sums) for cell, sums in computed.items() if cell[1] == year]


def _assemble(scope: str, year: int, source: str, rows: Rows, local_rows: Rows) -> RegionYear:
    totals = SideFigures()
    breakdowns: dict[str, dict[str, SideFigures]] = defaultdict(lambda: defaultdict(SideFigures))
    months: dict[int, SideFigures] = {month: SideFigures() for month in range(1, 13)}
    for month, measure, dimension, value, sums in rows:
        if measure not in (EXPORTED, ABSORBED, BOTH):
            continue
        if dimension == "total":
            getattr(totals, measure).add(sums)
            getattr(months[month], measure).add(sums)
        else:
            getattr(breakdowns[dimension][value], measure).add(sums)
    local: dict[str, int] = {"all": 0, "academic": 0}
    for _, measure, _, value, sums in local_rows:
        if measure == LOCAL:
            local[value] += sums[0]
    return RegionYear(
        scope,
        year,
        source,
        totals,
        {dimension: dict(values) for dimension, values in breakdowns.items()},
        months,
        local,
    )


@cache
def _watched_scopes() -> frozenset[str]:
    return frozenset(watched_scopes())  # built from the region table: not on every request


async def region_year(session: AsyncSession, scope: str, year: int) -> RegionYear:
    if scope in _watched_scopes():
        rows = await _rollup_rows(session, (scope, GLOBAL_SCOPE), year)
        return _assemble(scope, year, "rollup", rows[scope], rows[GLOBAL_SCOPE])
    local_rows = (await _rollup_rows(session, (GLOBAL_SCOPE,), year))[GLOBAL_SCOPE]
    return _assemble(scope, year, "facts", await _fact_rows(session, scope, year), local_rows)


async def achievements_converted(session: AsyncSession, first_year: int, last_year: int) -> int:
    """Distinct achievements in contracts registered in the years given (科技成果转化)."""
    count = await session.scalar(
        select(func.count(func.distinct(StatContractChange.achievement_id))).where(
            # the partial index's predicate, written as a literal so that even a generic plan can use the index
            StatContractChange.kind == literal_column("'registration'"),
            StatContractChange.achievement_id.is_not(None),
            # a date range, not extract(year), to scan only the years asked for
            StatContractChange.registered_on >= date(first_year, 1, 1),
            StatContractChange.registered_on < date(last_year + 1, 1, 1),
        )
    )
    return int(count or 0)


class FigureCache:
    """Figures read once per request: the dashboard and the indicators ask for the same region-years."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._region_years: dict[tuple[str, int], RegionYear] = {}
        self._achievements: dict[tuple[int, int], int] = {}

    async def region_year(self, scope: str, year: int) -> RegionYear:
        if (scope, year) not in self._region_years:
            self._region_years[scope, year] = await region_year(self.session, scope, year)
        return self._region_years[scope, year]

    async def achievements_converted(self, first_year: int, last_year: int) -> int:
        if (first_year, last_year) not in self._achievements:
            self._achievements[first_year, last_year] = await achievements_converted(
                self.session, first_year, last_year
            )
        return self._achievements[first_year, last_year]
