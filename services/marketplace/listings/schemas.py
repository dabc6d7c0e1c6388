"""Request and response models of achievements, demands, contacts, revisions and imports.

Input models forbid unknown fields, so status, owner and review fields can never be mass-assigned.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator
from pydantic.json_schema import Examples

from services.marketplace.kit.patents import PatentNumberError, parse_patent_number
from services.marketplace.kit.validators import (
    MAX_FEN,
    Fen,
    FieldCode,
    FutureDatetime,
    IndustryCode,
    Keyword,
    LongText,
    Paragraph,
    RegionCode,
    Title,
    Trl,
)
from services.marketplace.models.listings import (
    Confidentiality,
    ContactRequestStatus,
    ImportJobStatus,
    IpStatus,
    IpType,
    ListingStatus,
    PriceMode,
    RevisionStatus,
    TransferMode,
)

# IP types whose number is a CNIPA application number, with the type digits it may carry.
PATENT_TYPE_DIGITS = {
    IpType.invention_patent: ("1", "8"),
    IpType.utility_model: ("2", "9"),
    IpType.design: ("3",),
}
Keywords = Annotated[list[Keyword], Field(max_length=20)]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


class IpItem(InputModel):
    type: IpType
    number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), Examples(["ZL201811564288.X"])
    ]
    status: IpStatus = IpStatus.granted

    @model_validator(mode="after")
    def _patent_number_has_a_valid_check_digit(self) -> Self:
        digits = PATENT_TYPE_DIGITS.get(self.type)
        if digits is None:
            return self
        try:
            number = parse_patent_number(self.number)
        except PatentNumberError as exc:
            raise ValueError(exc.message) from exc
        if number.kind_code not in digits:
            raise ValueError(f"专利申请号第 5 位类型码 {number.kind_code} 与知识产权类型 {self.type.value} 不符")
        self.number = number.application_number
        return self


class TeamMember(InputModel):
    name: ShortName
    title: Annotated[str | None, StringConstraints(max_length=100)] = None
    role: Annotated[str | None, StringConstraints(max_length=100)] = None


class ContactDetails(InputModel):
    name: ShortName
    phone: Annotated[str | None, StringConstraints(pattern=r"^[0-9+\- ()]{5,40}$")] = None
    email: EmailStr | None = None
    note: Annotated[str | None, StringConstraints(max_length=1000)] = None

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.phone is None and self.email is None:
            raise ValueError("联系人至少需要电话或邮箱之一")
        return self


class _AchievementFields(InputModel):
    summary: Paragraph = Field(description="非涉密摘要")
    description: LongText
    field_code: FieldCode = Field(description="国家重点支持的高新技术领域代码")
    industry_code: IndustryCode | None = Field(default=None, description="合肥重点产业代码")
    keywords: Keywords = []
    trl: Trl
    ip_items: Annotated[list[IpItem], Field(max_length=50)] = []
    transfer_modes: Annotated[list[TransferMode], Field(min_length=1, max_length=6)]
    price_mode: PriceMode
    price_fen: Fen | None = Field(default=None, description="定价或起拍价（分）；面议时为空")
    team: Annotated[list[TeamMember], Field(max_length=50)] = []
    region_code: RegionCode
    valid_until: FutureDatetime


def check_price(price_mode: PriceMode | str, price_fen: int | None) -> str | None:
    """The problem with a price mode and amount pair, or None when they agree."""
    if price_mode == PriceMode.negotiable and price_fen is not None:
        return "面议的成果不能填写价格"
    if price_mode != PriceMode.negotiable and price_fen is None:
        return "定价或拍卖的成果需要填写价格（分）"
    return None


def check_budget(budget_min_fen: int | None, budget_max_fen: int | None) -> str | None:
    if budget_min_fen is not None and budget_max_fen is not None and budget_min_fen > budget_max_fen:
        return "预算下限不能高于上限"
    return None


class AchievementCreate(_AchievementFields):
    title: Title
    contact: ContactDetails | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self.transfer_modes = _unique(self.transfer_modes)
        self.keywords = _unique(self.keywords)
        problem = check_price(self.price_mode, self.price_fen)
        if problem:
            raise ValueError(problem)
        return self


class AchievementUpdate(InputModel):
    """Partial update; fields left out keep their value. Price pairs are checked against the stored listing."""

    title: Title | None = None
    summary: Paragraph | None = None
    description: LongText | None = None
    field_code: FieldCode | None = None
    industry_code: IndustryCode | None = None
    keywords: Keywords | None = None
    trl: Trl | None = None
    ip_items: Annotated[list[IpItem], Field(max_length=50)] | None = None
    transfer_modes: Annotated[list[TransferMode], Field(min_length=1, max_length=6)] | None = None
    price_mode: PriceMode | None = None
    price_fen: Fen | None = None
    team: Annotated[list[TeamMember], Field(max_length=50)] | None = None
    region_code: RegionCode | None = None
    valid_until: FutureDatetime | None = None


class DemandCreate(InputModel):
    title: Title
    problem: LongText = Field(description="需要解决的问题")
    technical_indicators: Paragraph = Field(description="技术指标")
    existing_conditions: Paragraph | None = Field(default=None, description="现有条件")
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    cooperation_modes: Annotated[list[TransferMode], Field(min_length=1, max_length=6)]
    field_code: FieldCode
    industry_code: IndustryCode | None = None
    keywords: Keywords = []
    min_trl: Trl | None = None
    region_code: RegionCode
    deadline: FutureDatetime
    confidentiality: Confidentiality = Confidentiality.public
    contact: ContactDetails | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self.cooperation_modes = _unique(self.cooperation_modes)
        self.keywords = _unique(self.keywords)
        problem = check_budget(self.budget_min_fen, self.budget_max_fen)
        if problem:
            raise ValueError(problem)
        return self


class DemandUpdate(InputModel):
    title: Title | None = None
    problem: LongText | None = None
    technical_indicators: Paragraph | None = None
    existing_conditions: Paragraph | None = None
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    cooperation_modes: Annotated[list[TransferMode], Field(min_length=1, max_length=6)] | None = None
    field_code: FieldCode | None = None
    industry_code: IndustryCode | None = None
    keywords: Keywords | None = None
    min_trl: Trl | None = None
    region_code: RegionCode | None = None
    deadline: FutureDatetime | None = None
    confidentiality: Confidentiality | None = None


class ReviewComment(InputModel):
    comment: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ListingRead(OutputModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    status: ListingStatus
    version: int
    title: str
    field_code: str
    industry_code: str | None
    keywords: list[str]
    region_code: str
    review_comment: str | None
    published_at: datetime | None
    last_verified_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AchievementRead(ListingRead):
    summary: str
    description: str
    trl: int
    ip_items: list[dict[str, Any]]
    transfer_modes: list[TransferMode]
    price_mode: PriceMode
    price_fen: int | None
    team: list[dict[str, Any]]
    valid_until: datetime


class DemandRead(ListingRead):
    problem: str
    technical_indicators: str
    existing_conditions: str | None
    budget_min_fen: int | None
    budget_max_fen: int | None
    cooperation_modes: list[TransferMode]
    min_trl: int | None
    deadline: datetime
    confidentiality: Confidentiality


class RevisionRead(OutputModel):
    id: uuid.UUID
    listing_id: uuid.UUID
    base_version: int
    changes: dict[str, Any]
    status: RevisionStatus
    review_comment: str | None
    created_at: datetime
    reviewed_at: datetime | None


class ContactRead(OutputModel):
    name: str
    phone: str | None
    email: str | None
    note: str | None


class ContactRequestCreate(InputModel):
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ContactRequestRead(OutputModel):
    id: uuid.UUID
    listing_kind: Literal["achievement", "demand"]
    listing_id: uuid.UUID
    owner_organisation_id: uuid.UUID
    requester_organisation_id: uuid.UUID
    message: str
    status: ContactRequestStatus
    created_at: datetime
    decided_at: datetime | None


class CountRead(BaseModel):
    count: int


class ImportRowError(BaseModel):
    row: int = Field(description="表格中的行号（表头为第 1 行）")
    column: str
    message: str


class ImportJobRead(OutputModel):
    id: uuid.UUID
    status: ImportJobStatus
    filename: str
    all_or_nothing: bool
    total_rows: int
    imported_rows: int
    failed_rows: int
    errors: list[ImportRowError] = Field(description="逐行错误（最多 1000 条）")
    created_at: datetime
    finished_at: datetime | None


QueryFen = Annotated[int, Field(ge=0, le=MAX_FEN)]
QueryTrl = Annotated[int, Field(ge=1, le=9)]
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$")]


class _ListingQuery(BaseModel):
    # Pagination parameters share the query string, so unknown parameters are ignored rather than refused.
    model_config = ConfigDict(extra="ignore")

    field_code: FieldCode | None = None
    industry_code: IndustryCode | None = None
    region: RegionPrefix | None = Field(default=None, description="区划代码前缀：34 安徽，3401 合肥，340104 蜀山区")
    owner_kind: Literal["university", "research_institute", "enterprise", "government"] | None = None
    status: ListingStatus | None = Field(default=None, description="只对本机构或审核人员可见的状态有意义")
    mine: bool = Field(default=False, description="只看本机构发布的")


class AchievementQuery(_ListingQuery):
    trl_min: QueryTrl | None = None
    trl_max: QueryTrl | None = None
    price_min_fen: QueryFen | None = None
    price_max_fen: QueryFen | None = None
    transfer_mode: Annotated[list[TransferMode], Field(max_length=6)] = Field(default=[], description="任一转化方式")
    sort: Literal["-created_at", "created_at", "-trl", "trl", "valid_until"] = "-created_at"


class DemandQuery(_ListingQuery):
    trl_min: QueryTrl | None = Field(default=None, description="需求所要求的最低成熟度不低于此值")
    budget_min_fen: QueryFen | None = Field(default=None, description="预算上限不低于此值")
    budget_max_fen: QueryFen | None = Field(default=None, description="预算下限不高于此值")
    cooperation_mode: Annotated[list[TransferMode], Field(max_length=6)] = Field(default=[], description="任一合作方式")
    confidentiality: Confidentiality | None = None
    sort: Literal["-created_at", "created_at", "deadline", "-deadline"] = "-created_at"
