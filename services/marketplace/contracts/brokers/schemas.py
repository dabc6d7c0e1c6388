"""Broker profiles and their public record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.marketplace.kit.validators import FieldCode, Paragraph, RegionCode

CertificationNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z][0-9A-Za-z\-/]{3,63}$")
]
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$")]


class BrokerProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certification_number: CertificationNumber = Field(description="技术经纪人（技术经理人）证书编号")
    field_codes: Annotated[list[FieldCode], Field(max_length=8)] = Field(default=[], description="擅长的技术领域")
    region_codes: Annotated[list[RegionCode], Field(max_length=20)] = Field(default=[], description="服务地区")
    bio: Paragraph | None = None


class BrokerRecord(BaseModel):
    contracts_registered: int = Field(description="经其撮合并已认定登记的合同数")
    registered_volume_fen: int = Field(description="这些合同的当前合同成交额合计（分）")
    registered_volume_fen_text: str = Field(description="同上，字符串形式（超出 JavaScript 安全整数时使用）")
    completed: int
    terminated: int
    completion_rate_bp: int | None = Field(
        description="履约完成率（基点）：已完成 ÷（已完成 + 已终止）；尚无结束的合同时为空"
    )


class BrokerRead(BaseModel):
    broker_id: uuid.UUID
    display_name: str
    organisation_id: uuid.UUID
    organisation_name: str
    certification_number: str
    field_codes: list[str]
    region_codes: list[str]
    bio: str | None
    record: BrokerRecord
    updated_at: datetime


class BrokerQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    field_code: FieldCode | None = None
    region: RegionPrefix | None = Field(default=None, description="服务地区代码前缀：34 安徽，3401 合肥")
