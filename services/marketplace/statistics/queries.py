"""Figures for a region and year: from the rollups for watched regions, from the facts for any other prefix."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
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


async def _rollup_rows(session: AsyncSession, scope: str, year: int) -> Rows:
    result = await session.execute(
        select(
            StatRollup.month,
            StatRollup.measure,
            StatRollup.dimension,
            StatRollup.value,
            StatRollup.contract_count,
            StatRollup.contract_amount_fen,
            StatRollup.technology_amount_fen,
        ).where(StatRollup.scope == scope, StatRollup.year == year)
    )
    return [(row[0], row[1], row[2], row[3], (int(row[4]), int(row[5]), int(row[6]))) for row in result]


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


async def region_year(session: AsyncSession, scope: str, year: int) -> RegionYear:
    local_rows = await _rollup_rows(session, GLOBAL_SCOPE, year)
    if scope in watched_scopes():
        return _assemble(scope, year, "rollup", await _rollup_rows(session, scope, year), local_rows)
    return _assemble(scope, year, "facts", await _fact_rows(session, scope, year), local_rows)


async def achievements_converted(session: AsyncSession, first_year: int, last_year: int) -> int:
    """Distinct achievements in contracts registered in the years given (科技成果转化)."""
    count = await session.scalar(
        select(func.count(func.distinct(StatContractChange.achievement_id))).where(
            StatContractChange.kind == "registration",
            StatContractChange.achievement_id.is_not(None),
            func.extract("year", StatContractChange.registered_on).between(first_year, last_year),
        )
    )
    return int(count or 0)
