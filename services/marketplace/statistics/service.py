"""Officials manage the plan's indicators: new indicators, plan periods, yearly targets, entered values."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, NotFound, ValidationProblem
from services.marketplace.models import StatIndicator, StatIndicatorValue, StatPlanTarget, StatYearlyTarget
from services.marketplace.statistics.schemas import (
    IndicatorCreate,
    IndicatorValueWrite,
    PlanTargetWrite,
    YearlyTargetWrite,
)


async def _indicator(session: AsyncSession, code: str) -> StatIndicator:
    indicator = await session.get(StatIndicator, code)
    if indicator is None:
        raise NotFound("指标不存在")
    return indicator


async def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    object_id: str,
    before: dict[str, str] | None,
    after: dict[str, str],
) -> None:
    await record_audit(
        session,
        actor=principal,
        action=f"statistics.{action}",
        object_type="indicator",
        object_id=object_id,
        organisation_id=principal.organisation_id,
        before=before,
        after=after,
    )


async def create_indicator(session: AsyncSession, principal: Principal, data: IndicatorCreate) -> StatIndicator:
    if await session.get(StatIndicator, data.code) is not None:
        raise Conflict("指标代码已存在", field="code")
    indicator = StatIndicator(code=data.code, name=data.name, unit=data.unit, derivable=False, note=data.note)
    session.add(indicator)
    await session.flush()
    await _audit(session, principal, "indicator_created", data.code, None, data.model_dump(mode="json"))
    return indicator


async def set_plan_target(
    session: AsyncSession, principal: Principal, code: str, data: PlanTargetWrite
) -> StatPlanTarget:
    await _indicator(session, code)
    if data.baseline_year is not None and data.baseline_year >= data.target_year:
        raise ValidationProblem.for_field(["body", "target_year"], "目标年份必须晚于基期年份")
    target = await session.get(StatPlanTarget, (code, data.plan_period))
    before = None if target is None else {"target_year": str(target.target_year), "target": str(target.target_value)}
    if target is None:
        target = StatPlanTarget(
            indicator_code=code,
            plan_period=data.plan_period,
            target_year=data.target_year,
            target_value=data.target_value,
        )
        session.add(target)
    target.baseline_year, target.baseline_value = data.baseline_year, data.baseline_value
    target.target_year, target.target_value = data.target_year, data.target_value
    await session.flush()
    await _audit(
        session, principal, "plan_target_set", f"{code}/{data.plan_period}", before, data.model_dump(mode="json")
    )
    return target


async def set_yearly_target(
    session: AsyncSession, principal: Principal, code: str, year: int, data: YearlyTargetWrite
) -> StatYearlyTarget:
    await _indicator(session, code)
    target = await session.get(StatYearlyTarget, (code, year))
    before = None if target is None else {"target": str(target.target_value)}
    if target is None:
        target = StatYearlyTarget(indicator_code=code, year=year, target_value=data.target_value)
        session.add(target)
    target.target_value = data.target_value
    await session.flush()
    await _audit(session, principal, "yearly_target_set", f"{code}/{year}", before, {"target": str(data.target_value)})
    return target


async def enter_value(
    session: AsyncSession, principal: Principal, code: str, year: int, data: IndicatorValueWrite
) -> StatIndicatorValue:
    """Officials enter the yearly value of an indicator the marketplace cannot derive, with its source."""
    indicator = await _indicator(session, code)
    if indicator.derivable:
        raise Conflict("该指标由平台数据计算，不能手工录入")
    entered = await session.get(StatIndicatorValue, (code, year))
    before = None if entered is None else {"value": str(entered.value), "source": entered.source}
    if entered is None:
        entered = StatIndicatorValue(indicator_code=code, year=year, value=data.value, source=data.source)
        session.add(entered)
    entered.value, entered.source, entered.entered_by = data.value, data.source, principal.user_id
    await session.flush()
    await _audit(
        session, principal, "value_entered", f"{code}/{year}", before, {"value": str(data.value), "source": data.source}
    )
    return entered
