"""The plan's indicators: current value, target, progress, growth, the growth still required, a projection."""

from __future__ import annotations

import csv
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


async def _derived_value(session: AsyncSession, code: str, year: int, plan_start: int) -> Decimal | None:
    if code == CONTRACT_VALUE:
        return fen_to_yi((await queries.region_year(session, HEFEI, year)).totals.gross.contract_amount_fen)
    if code == CONTRACT_GROWTH:
        current = await _derived_value(session, CONTRACT_VALUE, year, plan_start)
        return growth_percent(current, await _derived_value(session, CONTRACT_VALUE, year - 1, plan_start))
    if code == ACHIEVEMENTS_CONVERTED:
        return Decimal(await queries.achievements_converted(session, plan_start, year))
    if code == LOCAL_CONVERSIONS:
        return Decimal((await queries.region_year(session, HEFEI, year)).local_conversion["all"])
    return None


async def _entered_value(session: AsyncSession, code: str, year: int) -> tuple[Decimal | None, str | None]:
    entered = await session.get(StatIndicatorValue, (code, year))
    return (entered.value, entered.source) if entered else (None, None)


def _projection(value: Decimal | None, year: int, today: date, cumulative: bool) -> Decimal | None:
    """Year-end estimate of a cumulative-within-year figure, extrapolated from the share of the year elapsed."""
    if value is None or not cumulative or year != today.year:
        return value
    elapsed = (today - date(year, 1, 1)).days + 1
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    return _round(value * days / elapsed, "0.0001")


async def progress(session: AsyncSession, indicator: StatIndicator, year: int) -> Progress:
    plans = list(
        await session.scalars(
            select(StatPlanTarget)
            .where(StatPlanTarget.indicator_code == indicator.code)
            .order_by(StatPlanTarget.target_year)
        )
    )
    plan = next((item for item in plans if item.target_year >= year), plans[-1] if plans else None)
    plan_start = (plan.baseline_year + 1) if plan and plan.baseline_year else year
    source: str | None
    if indicator.derivable:
        value, source = await _derived_value(session, indicator.code, year, plan_start), "平台登记合同"
        previous = await _derived_value(session, indicator.code, year - 1, plan_start)
    else:
        value, source = await _entered_value(session, indicator.code, year)
        previous = (await _entered_value(session, indicator.code, year - 1))[0]
    yearly = await session.get(StatYearlyTarget, (indicator.code, year))
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


async def all_progress(session: AsyncSession, year: int) -> list[Progress]:
    indicators = await session.scalars(select(StatIndicator).order_by(StatIndicator.code))
    return [await progress(session, indicator, year) for indicator in indicators]
