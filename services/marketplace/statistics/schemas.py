from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, computed_field

from services.marketplace.kit.money import format_yi


class FigureRead(BaseModel):
    contract_count: int
    contract_amount_fen: int
    technology_amount_fen: int

    @computed_field(description="合同成交额（分），十进制字符串：大数在 JavaScript 中不失精度")
    def contract_amount_fen_text(self) -> str:
        return str(self.contract_amount_fen)

    @computed_field(description="技术交易额（分），十进制字符串")
    def technology_amount_fen_text(self) -> str:
        return str(self.technology_amount_fen)

    @computed_field(description="合同成交额（亿元）")
    def contract_amount_yi(self) -> str:
        return format_yi(self.contract_amount_fen)


class SidesRead(BaseModel):
    exported: FigureRead = Field(description="输出：卖方在区域内")
    absorbed: FigureRead = Field(description="吸纳：买方在区域内")
    gross: FigureRead = Field(description="吸纳和输出（官方口径，双方均在区域内的合同两边各计一次）")
    union: FigureRead = Field(description="去重：至少一方在区域内的合同，只计一次")


class RegionYearRead(BaseModel):
    region: str
    region_name: str | None
    year: int
    source: str = Field(description="rollup（汇总表）或 facts（明细计算）")
    totals: SidesRead
    breakdowns: dict[str, dict[str, SidesRead]]
    months: dict[int, SidesRead]
    local_conversion: dict[str, int] = Field(description="就地转化项数：all 全部，academic 来自高校和科研院所")
    achievements_converted: int


class ProgressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


class DashboardRead(BaseModel):
    year: int
    hefei: RegionYearRead
    previous_year_months: dict[int, SidesRead]
    indicators: list[ProgressRead]


IndicatorCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,59}$")]
Amount = Annotated[Decimal, Field(max_digits=20, decimal_places=4, allow_inf_nan=False)]


class IndicatorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: IndicatorCode
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    note: Annotated[str | None, StringConstraints(max_length=2000)] = None


class PlanTargetWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_period: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = Field(
        description="规划期，如 十五五"
    )
    baseline_year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    baseline_value: Amount | None = None
    target_year: Annotated[int, Field(ge=2000, le=2100)]
    target_value: Amount


class YearlyTargetWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_value: Amount


class IndicatorValueWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Amount
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)] = Field(
        description="数据来源，如 合肥市统计局《2026 年统计公报》"
    )


class ProgrammeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    year: int
    challenges_awarded: int = Field(description="当年揭榜挂帅确定揭榜方的榜单数")
    reward_committed_fen: int = Field(description="这些榜单的榜单金额合计（分）")
    subsidy_committed_fen: int = Field(description="这些榜单的政府奖补合计（分，不含已取消的批次）")
    payments_settled: int = Field(description="当年经平台到账的付款笔数")
    money_settled_fen: int = Field(description="当年经平台到账的金额，扣除退款（分）")

    @computed_field(description="十进制字符串")
    def money_settled_fen_text(self) -> str:
        return str(self.money_settled_fen)
