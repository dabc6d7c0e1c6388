"""Statistics: one fact per registered change, rollups for the watched regions, and the plan's indicators."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.marketplace.models.base import Base


class StatContractChange(Base):
    """A registered change to the figures, dated by its own registration (Asia/Shanghai calendar).

    A registration adds the contract (count 1, both amounts); a registered amendment adds its deltas
    (count 0) on its own date, so the past is never rewritten.
    """

    __tablename__ = "stat_contract_changes"
    __table_args__ = (
        Index("ix_stat_contract_changes_registered_on", "registered_on"),
        # Region filters are code-prefix matches (LIKE '3401%'), which need the pattern operator class.
        Index(
            "ix_stat_contract_changes_seller_region",
            "seller_region_code",
            "registered_on",
            postgresql_ops={"seller_region_code": "varchar_pattern_ops"},
        ),
        Index(
            "ix_stat_contract_changes_buyer_region",
            "buyer_region_code",
            "registered_on",
            postgresql_ops={"buyer_region_code": "varchar_pattern_ops"},
        ),
        # 科技成果转化 counts distinct achievements by registration date: an index-only scan of the linked facts.
        Index(
            "ix_stat_contract_changes_achievement",
            "registered_on",
            "achievement_id",
            postgresql_where=text("kind = 'registration' AND achievement_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    change_key: Mapped[str] = mapped_column(String(80), unique=True)
    contract_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(16))
    registered_on: Mapped[date] = mapped_column(Date)
    count_delta: Mapped[int] = mapped_column(Integer)
    contract_amount_delta_fen: Mapped[int] = mapped_column(BigInteger)
    technology_amount_delta_fen: Mapped[int] = mapped_column(BigInteger)
    contract_type: Mapped[str] = mapped_column(String(16))
    field_code: Mapped[str | None] = mapped_column(String(40))
    seller_region_code: Mapped[str | None] = mapped_column(String(6))
    seller_country_code: Mapped[str | None] = mapped_column(String(2))
    seller_legal_nature: Mapped[str] = mapped_column(String(24))
    buyer_region_code: Mapped[str | None] = mapped_column(String(6))
    buyer_country_code: Mapped[str | None] = mapped_column(String(2))
    buyer_legal_nature: Mapped[str] = mapped_column(String(24))
    local_conversion: Mapped[bool] = mapped_column(Boolean)
    local_conversion_academic: Mapped[bool] = mapped_column(Boolean)
    achievement_id: Mapped[uuid.UUID | None]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class StatRollup(Base):
    """Sums per watched region, year, month, measure and breakdown value, kept in step with the facts."""

    __tablename__ = "stat_rollups"

    scope: Mapped[str] = mapped_column(String(6), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    contract_count: Mapped[int] = mapped_column(BigInteger)
    contract_amount_fen: Mapped[int] = mapped_column(BigInteger)
    technology_amount_fen: Mapped[int] = mapped_column(BigInteger)


class StatIndicator(Base):
    __tablename__ = "stat_indicators"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    derivable: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)


class StatPlanTarget(Base):
    """A plan period's baseline and target for an indicator (十四五, 十五五, …)."""

    __tablename__ = "stat_plan_targets"

    indicator_code: Mapped[str] = mapped_column(ForeignKey("stat_indicators.code"), primary_key=True)
    plan_period: Mapped[str] = mapped_column(String(20), primary_key=True)
    baseline_year: Mapped[int | None] = mapped_column(Integer)
    baseline_value: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    target_year: Mapped[int] = mapped_column(Integer)
    target_value: Mapped[Decimal] = mapped_column(Numeric(20, 4))


class StatYearlyTarget(Base):
    __tablename__ = "stat_yearly_targets"

    indicator_code: Mapped[str] = mapped_column(ForeignKey("stat_indicators.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_value: Mapped[Decimal] = mapped_column(Numeric(20, 4))


class StatIndicatorValue(Base):
    """A yearly value entered by an official for an indicator the marketplace cannot derive, with its source."""

    __tablename__ = "stat_indicator_values"

    indicator_code: Mapped[str] = mapped_column(ForeignKey("stat_indicators.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    source: Mapped[str] = mapped_column(Text)
    entered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(server_default=func.now())
