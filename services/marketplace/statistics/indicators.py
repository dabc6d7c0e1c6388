"""The plan's indicators: current value, target, progress, growth, the growth still required, a projection."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.kit.money import FEN_PER_YI
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models import StatIndicator, StatIndicatorValue, StatPlanTarget, StatYearlyTarget
from services.marketplace.statistics import queries

HEFEI = "3401"
CONTRACT_VALUE = "tech_contract_absorbed_exported"
CONTRACT_GROWTH = "tech_contract_growth"
ACHIEVEMENTS_CONVERTED = "achievements_converted"
LOCAL_CONVERSIONS = "local_conversions_per_year"
HUNDRED = Decimal(100)


def seed_rows() -> list[dict[str, str]]:
    """The plan's indicators as shipped (a copy of shared/data/targets.csv)."""
    text = resources.files("services.marketplace.kit").joinpath("data", "targets.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def fen_to_yi(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_YI).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _round(value: Decimal | None, places: str = "0.01") -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), ROUND_HALF_UP)


def growth_percent(current: Decimal | None, previous: Decimal | None) -> Decimal | None:
    if current is None or previous is None or previous == 0:
        return None
    return _round((current - previous) / previous * HUNDRED)


def required_annual_growth(current: Decimal | None, target: Decimal, years_left: int) -> Decimal | None:
    """The compound yearly growth still needed to go from ``current`` to ``target`` in ``years_left`` years."""
    if current is None or current <= 0 or years_left <= 0:
        return None
    ratio = target / current
    return _round((ratio ** (Decimal(1) / Decimal(years_left)) - 1) * HUNDRED)


@dataclass(frozen=True)
class Progress:
    code: str
    name: str
    unit: str
    derivable: bool
    year: int
    value: Decimal | None
    source: str | None
    target: Decimal | None
    target_year: int | None
    plan_period: str | None
    percent_of_target: Decimal | None
    growth_on_previous_year: Decimal | None
    required_annual_growth: Decimal | None
    projection: Decimal | None


async def _derived_value(figures: queries.FigureCache, code: str, year: int, plan_start: int) -> Decimal | None:
    if code == CONTRACT_VALUE:
        return fen_to_yi((await figures.region_year(HEFEI, year)).totals.gross.contract_amount_fen)
    if code == CONTRACT_GROWTH:
        current = await _derived_value(figures, CONTRACT_VALUE, year, plan_start)
        return growth_percent(current, await _derived_value(figures, CONTRACT_VALUE, year - 1, plan_start))
    if code == ACHIEVEMENTS_CONVERTED:
        return Decimal(await figures.achievements_converted(plan_start, year))
    if code == LOCAL_CONVERSIONS:
        return Decimal((await figures.region_year(HEFEI, year)).local_conversion["all"])
    return None


@dataclass(frozen=True)
class _Targets:
    """Plan periods, the year's targets and the values entered for the year and the one before, per indicator."""

    plans: dict[str, list[StatPlanTarget]]
    yearly: dict[str, StatYearlyTarget]
    entered: dict[tuple[str, int], StatIndicatorValue]

    def entered_value(self, code: str, year: int) -> tuple[Decimal | None, str | None]:
        entered = self.entered.get((code, year))
        return (entered.value, entered.source) if entered else (None, None)


async def _load_targets(session: AsyncSession, codes: list[str], year: int) -> _Targets:
    """Three queries for all the indicators asked for, not three per indicator."""
    plans: dict[str, list[StatPlanTarget]] = defaultdict(list)
    for plan in await session.scalars(
        select(StatPlanTarget).where(StatPlanTarget.indicator_code.in_(codes)).order_by(StatPlanTarget.target_year)
    ):
        plans[plan.indicator_code].append(plan)
    yearly = await session.scalars(
        select(StatYearlyTarget).where(StatYearlyTarget.indicator_code.in_(codes), StatYearlyTarget.year == year)
    )
    entered = await session.scalars(
        select(StatIndicatorValue).where(
            StatIndicatorValue.indicator_code.in_(codes), StatIndicatorValue.year.in_((year, year - 1))
        )
    )
    return _Targets(
        plans=plans,
        yearly={target.indicator_code: target for target in yearly},
        entered={(value.indicator_code, value.year): value for value in entered},
    )


def _projection(value: Decimal | None, year: int, today: date, cumulative: bool) -> Decimal | None:
    """Year-end estimate of a cumulative-within-year figure, extrapolated from the share of the year elapsed."""
    if value is None or not cumulative or year != today.year:
        return value
    elapsed = (today - date(year, 1, 1)).days + 1
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    return _round(value * days / elapsed, "0.0001")


async def _progress(figures: queries.FigureCache, targets: _Targets, indicator: StatIndicator, year: int) -> Progress:
    plans = targets.plans.get(indicator.code, [])
    plan = next((item for item in plans if item.target_year >= year), plans[-1] if plans else None)
    plan_start = (plan.baseline_year + 1) if plan and plan.baseline_year else year
    source: str | None
    if indicator.derivable:
        value, source = await _derived_value(figures, indicator.code, year, plan_start), "平台登记合同"
        previous = await _derived_value(figures, indicator.code, year - 1, plan_start)
    else:
        value, source = targets.entered_value(indicator.code, year)
        previous = targets.entered_value(indicator.code, year - 1)[0]
    yearly = targets.yearly.get(indicator.code)
    target = yearly.target_value if yearly else (plan.target_value if plan else None)
    target_year = year if yearly else (plan.target_year if plan else None)
    cumulative = indicator.code in (CONTRACT_VALUE, LOCAL_CONVERSIONS)
    projection = _projection(value, year, shanghai_date(utcnow()), cumulative)
    basis = projection if cumulative else value
    return Progress(
        code=indicator.code,
        name=indicator.name,
        unit=indicator.unit,
        derivable=indicator.derivable,
        year=year,
        value=value,
        source=source,
        target=target,
        target_year=target_year,
        plan_period=plan.plan_period if plan else None,
        percent_of_target=_round(value / target * HUNDRED) if value is not None and target else None,
        growth_on_previous_year=None if indicator.code == CONTRACT_GROWTH else growth_percent(value, previous),
        required_annual_growth=(
            required_annual_growth(basis, target, target_year - year)
            if target is not None and target_year is not None and indicator.unit != "%"
            else None
        ),
        projection=projection,
    )


async def progress(
    session: AsyncSession, indicator: StatIndicator, year: int, figures: queries.FigureCache | None = None
) -> Progress:
    targets = await _load_targets(session, [indicator.code], year)
    return await _progress(figures or queries.FigureCache(session), targets, indicator, year)


async def all_progress(session: AsyncSession, year: int, figures: queries.FigureCache | None = None) -> list[Progress]:
    indicators = list(await session.scalars(select(StatIndicator).order_by(StatIndicator.code)))
    targets = await _load_targets(session, [indicator.code for indicator in indicators], year)
    figures = figures or queries.FigureCache(session)
    return [await _progress(figures, targets, indicator, year) for indicator in indicators]
