from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response

from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import Principal, require_roles
from services.marketplace.kit.errors import NotFound, problem_responses
from services.marketplace.kit.regions import get_region
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models import Role, StatIndicator
from services.marketplace.statistics import export, indicators, queries, service
from services.marketplace.statistics.programme import programme_figures
from services.marketplace.statistics.queries import Figure, RegionYear, SideFigures
from services.marketplace.statistics.schemas import (
    DashboardRead,
    FigureRead,
    IndicatorCreate,
    IndicatorValueWrite,
    PlanTargetWrite,
    ProgrammeRead,
    ProgressRead,
    RegionYearRead,
    SidesRead,
    YearlyTargetWrite,
)

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])
Reader = Annotated[Principal, Depends(require_roles(Role.official, Role.platform_admin))]
Official = Annotated[Principal, Depends(require_roles(Role.official))]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="统计年度（Asia/Shanghai），默认今年")]
PathYear = Annotated[int, Path(ge=2000, le=2100)]
Region = Annotated[str, Query(pattern=r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$", description="区划代码前缀")]
ERRORS = problem_responses(401, 403, 422)
Code = Annotated[str, Path(max_length=60)]


def _year(year: int | None) -> int:
    return year if year is not None else shanghai_date(utcnow()).year


def _figure(figure: Figure) -> FigureRead:
    return FigureRead(
        contract_count=figure.contract_count,
        contract_amount_fen=figure.contract_amount_fen,
        technology_amount_fen=figure.technology_amount_fen,
    )


def _sides(sides: SideFigures) -> SidesRead:
    return SidesRead(
        exported=_figure(sides.exported),
        absorbed=_figure(sides.absorbed),
        gross=_figure(sides.gross),
        union=_figure(sides.union),
    )


def _region_name(region: str) -> str | None:
    named = get_region(region.ljust(6, "0"))
    return named.name if named else None


async def _region_year(
    session: SessionDep, region: str, year: int, cache: queries.FigureCache | None = None
) -> RegionYearRead:
    cache = cache or queries.FigureCache(session)
    figures: RegionYear = await cache.region_year(region, year)
    return RegionYearRead(
        region=region,
        region_name=_region_name(region),
        year=year,
        source=figures.source,
        totals=_sides(figures.totals),
        breakdowns={
            dimension: {value: _sides(sides) for value, sides in values.items()}
            for dimension, values in figures.breakdowns.items()
        },
        months={month: _sides(sides) for month, sides in figures.months.items()},
        local_conversion=figures.local_conversion,
        achievements_converted=await cache.achievements_converted(year, year),
    )


@router.get("/contracts", responses=ERRORS)
async def contract_statistics(
    session: SessionDep, _: Reader, region: Region = "3401", year: Year = None
) -> RegionYearRead:
    """输出、吸纳、两者之和（官方口径）与去重数，按合同类型、技术领域、卖方性质、区县、对方所在地和月份分解。"""
    return await _region_year(session, region, _year(year))


@router.get("/dashboard", responses=ERRORS)
async def dashboard(session: SessionDep, _: Reader, year: Year = None) -> DashboardRead:
    """Everything the officials' dashboard shows, in one answer from the rollups."""
    this_year = _year(year)
    cache = queries.FigureCache(session)  # the indicators read the same region-years again
    previous = await cache.region_year(indicators.HEFEI, this_year - 1)
    return DashboardRead(
        year=this_year,
        hefei=await _region_year(session, indicators.HEFEI, this_year, cache),
        previous_year_months={month: _sides(sides) for month, sides in previous.months.items()},
        indicators=[
            ProgressRead.model_validate(item) for item in await indicators.all_progress(session, this_year, cache)
        ],
    )


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {export.XLSX_MEDIA_TYPE: {}}, "description": "Excel 工作簿"}},
)
async def export_statistics(session: SessionDep, _: Reader, region: Region = "3401", year: Year = None) -> Response:
    """一年的统计（.xlsx）：汇总（输出、吸纳、合计、去重），每个分解一张工作表（合同类型、技术领域、卖方性质、区县、
    对方所在地、月份），以及规划指标。金额以元（由整数分精确换算）和分给出。"""
    this_year = _year(year)
    cache = queries.FigureCache(session)
    name = _region_name(region) or region
    content = export.statistics_workbook(
        await cache.region_year(region, this_year),
        name,
        await cache.achievements_converted(this_year, this_year),
        await indicators.all_progress(session, this_year, cache),
        utcnow(),
    )
    filename = f"{name}-{this_year}-技术合同统计.xlsx"
    disposition = f"attachment; filename=\"statistics-{region}-{this_year}.xlsx\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=export.XLSX_MEDIA_TYPE, headers={"Content-Disposition": disposition})


@router.get("/indicators", responses=ERRORS)
async def indicator_progress(session: SessionDep, _: Reader, year: Year = None) -> list[ProgressRead]:
    return [ProgressRead.model_validate(item) for item in await indicators.all_progress(session, _year(year))]


@router.post("/indicators", status_code=201, responses=problem_responses(401, 403, 409, 422))
async def create_indicator(session: SessionDep, principal: Official, body: IndicatorCreate) -> ProgressRead:
    """A new indicator that officials report themselves (values entered per year with their source)."""
    indicator = await service.create_indicator(session, principal, body)
    return ProgressRead.model_validate(await indicators.progress(session, indicator, _year(None)))


async def _progress(session: SessionDep, code: str, year: int) -> ProgressRead:
    indicator = await session.get(StatIndicator, code)
    if indicator is None:
        raise NotFound("指标不存在")
    return ProgressRead.model_validate(await indicators.progress(session, indicator, year))


@router.put("/indicators/{code}/plan-targets", responses=problem_responses(401, 403, 404, 422))
async def set_plan_target(code: Code, session: SessionDep, principal: Official, body: PlanTargetWrite) -> ProgressRead:
    """Add or change a plan period's baseline and target (e.g. the 十五五 targets)."""
    await service.set_plan_target(session, principal, code, body)
    return await _progress(session, code, body.target_year)


@router.put("/indicators/{code}/yearly-targets/{year}", responses=problem_responses(401, 403, 404, 422))
async def set_yearly_target(
    code: Code, year: PathYear, session: SessionDep, principal: Official, body: YearlyTargetWrite
) -> ProgressRead:
    await service.set_yearly_target(session, principal, code, year, body)
    return await _progress(session, code, year)


@router.put("/indicators/{code}/values/{year}", responses=problem_responses(401, 403, 404, 409, 422))
async def enter_indicator_value(
    code: Code, year: PathYear, session: SessionDep, principal: Official, body: IndicatorValueWrite
) -> ProgressRead:
    """The yearly value of an indicator the marketplace cannot derive, with its source (audited)."""
    await service.enter_value(session, principal, code, year, body)
    return await _progress(session, code, year)


@router.get("/programme", responses=ERRORS)
async def programme_statistics(session: SessionDep, _: Reader, year: Year = None) -> ProgrammeRead:
    """揭榜挂帅 awarded and subsidy committed, and money actually settled through the platform, in the year."""
    return ProgrammeRead.model_validate(await programme_figures(session, _year(year)))
