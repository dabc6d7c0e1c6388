"""Request and response models of contracts and amendments. Input models forbid unknown fields."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator
from pydantic.json_schema import Examples

from services.marketplace.contracts.policies import is_cross_border, registering_side
from services.marketplace.kit.countries import CountryError, validate_country_code
from services.marketplace.kit.validators import (
    MAX_FEN,
    USCC,
    Fen,
    FieldCode,
    IndustryCode,
    LongText,
    Paragraph,
    RegionCode,
    Title,
)
from services.marketplace.models import Contract, ContractSignature
from services.marketplace.models.contracts import (
    AmendmentKind,
    AmendmentStatus,
    CommissionMode,
    ContractStatus,
    ContractSubtype,
    ContractType,
    CostKind,
    LegalNature,
    RejectionReason,
    Side,
)


def _country(value: str) -> str:
    try:
        return validate_country_code(value)
    except CountryError as exc:
        raise ValueError(exc.message) from exc


PositiveFen = Annotated[int, Strict(), Field(ge=1, le=MAX_FEN, description="金额（分，正整数）")]
BasisPoints = Annotated[int, Strict(), Field(ge=1, le=10_000, description="费率（基点，1 bp = 0.01%）")]
Version = Annotated[int, Strict(), Field(ge=1, description="所签署的合同版本号")]
CountryCode = Annotated[
    str,
    StringConstraints(min_length=2, max_length=2),
    AfterValidator(_country),
    Examples(["DE"]),
    Field(json_schema_extra={"pattern": "^[A-Za-z]{2}$"}),
]
PartyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
FileName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
MediaType = Annotated[str, StringConstraints(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=127)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MAX_ATTACHMENT_BYTES = 1024**3


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PartyInput(InputModel):
    """A platform organisation (only ``organisation_id``) or an outside party described in full."""

    organisation_id: uuid.UUID | None = Field(default=None, description="平台机构；名称、信用代码、所在地取自机构信息")
    name: PartyName | None = None
    uscc: USCC | None = Field(default=None, description="统一社会信用代码（境内机构，可选）")
    region_code: RegionCode | None = Field(default=None, description="所在地行政区划代码（GB/T 2260，含港澳台）")
    country_code: CountryCode | None = Field(default=None, description="境外当事人的国家或地区代码（ISO 3166-1）")
    legal_nature: LegalNature | None = Field(default=None, description="法人性质")

    @model_validator(mode="after")
    def _platform_or_outside(self) -> Self:
        described = (self.name, self.uscc, self.region_code, self.country_code, self.legal_nature)
        if self.organisation_id is not None:
            if any(value is not None for value in described):
                raise ValueError("平台机构只填写 organisation_id，其余信息取自机构登记")
            return self
        if self.name is None or self.legal_nature is None:
            raise ValueError("平台外当事人需要填写名称和法人性质")
        if (self.region_code is None) == (self.country_code is None):
            raise ValueError("境内当事人填写行政区划代码，境外当事人填写国家或地区代码，二者取其一")
        if self.uscc is not None and self.country_code is not None:
            raise ValueError("境外当事人没有统一社会信用代码")
        return self


class CostLine(InputModel):
    kind: CostKind = Field(description="设备仪器 / 原材料零部件 / 其他非技术性费用")
    description: ShortText
    amount_fen: PositiveFen


class Milestone(InputModel):
    title: ShortText
    due_on: date | None = None
    amount_fen: PositiveFen


class Attachment(InputModel):
    """Metadata of a document kept elsewhere (the contract text, annexes, certificates)."""

    file_name: FileName
    media_type: MediaType
    size_bytes: Annotated[int, Strict(), Field(ge=0, le=MAX_ATTACHMENT_BYTES)]
    sha256: Sha256


class Commission(InputModel):
    mode: CommissionMode
    rate_bp: BasisPoints | None = Field(default=None, description="按合同成交额的比例（基点）")
    amount_fen: Fen | None = Field(default=None, description="固定佣金（分）")
    payer: Side = Field(description="支付佣金的一方")

    @model_validator(mode="after")
    def _one_basis(self) -> Self:
        if self.mode is CommissionMode.rate and (self.rate_bp is None or self.amount_fen is not None):
            raise ValueError("按比例计佣时填写 rate_bp，不填写 amount_fen")
        if self.mode is CommissionMode.fixed and (self.amount_fen is None or self.rate_bp is not None):
            raise ValueError("固定佣金时填写 amount_fen，不填写 rate_bp")
        return self


CostLines = Annotated[list[CostLine], Field(max_length=100)]
Milestones = Annotated[list[Milestone], Field(max_length=100)]
Attachments = Annotated[list[Attachment], Field(max_length=50)]


class _ContractTerms(InputModel):
    contract_subtype: ContractSubtype | None = None
    subject: LongText | None = Field(default=None, description="标的：技术名称、内容、范围与技术指标")
    terms: LongText | None = Field(default=None, description="其他主要条款")
    valid_from: date | None = None
    valid_until: date | None = None
    achievement_id: uuid.UUID | None = Field(default=None, description="来源科技成果（所有者须为卖方）")
    demand_id: uuid.UUID | None = Field(default=None, description="来源技术需求（发布者须为买方）")
    field_code: FieldCode | None = Field(default=None, description="技术领域；缺省取自来源成果或需求")
    industry_code: IndustryCode | None = None
    broker_id: uuid.UUID | None = Field(default=None, description="技术经纪人（用户 id）")
    commission: Commission | None = None


class ContractCreate(_ContractTerms):
    title: Title
    contract_type: ContractType
    seller: PartyInput = Field(description="卖方：让与方 / 许可方 / 受托方")
    buyer: PartyInput = Field(description="买方：受让方 / 被许可方 / 委托方")
    contract_amount_fen: PositiveFen = Field(description="合同成交额（分）")
    non_technical_costs: CostLines = Field(default=[], description="非技术性费用（从合同成交额中扣除）")
    milestones: Milestones = Field(default=[], description="付款节点，合计须等于合同成交额；草稿可暂缺")
    attachments: Attachments = []


# Columns an update may not set to null: the contract always has them.
_REQUIRED_ON_UPDATE = (
    "title",
    "contract_type",
    "seller",
    "buyer",
    "contract_amount_fen",
    "non_technical_costs",
    "milestones",
    "attachments",
)


class ContractUpdate(_ContractTerms):
    """Partial update of a contract that is not yet submitted; every accepted edit is a new version."""

    title: Title | None = None
    contract_type: ContractType | None = None
    seller: PartyInput | None = None
    buyer: PartyInput | None = None
    contract_amount_fen: PositiveFen | None = None
    non_technical_costs: CostLines | None = None
    milestones: Milestones | None = None
    attachments: Attachments | None = None

    @model_validator(mode="after")
    def _no_nulls_for_required(self) -> Self:
        nulls = [name for name in _REQUIRED_ON_UPDATE if name in self.model_fields_set and getattr(self, name) is None]
        if nulls:
            raise ValueError("以下字段不能为 null：" + "、".join(nulls))
        return self


class SignRequest(InputModel):
    version: Version


class OfflineSignatureRequest(InputModel):
    side: Side = Field(description="签署纸质合同的平台外当事人一方")
    version: Version
    note: Paragraph = Field(description="线下签署的说明（日期、签署人、文本编号等）")


class RejectRequest(InputModel):
    reasons: Annotated[list[RejectionReason], Field(min_length=1, max_length=6)]
    comment: Paragraph | None = None

    @model_validator(mode="after")
    def _explained(self) -> Self:
        self.reasons = list(dict.fromkeys(self.reasons))
        if RejectionReason.other in self.reasons and self.comment is None:
            raise ValueError("选择“其他”原因时需要填写说明")
        return self


class AmendmentCreate(InputModel):
    kind: AmendmentKind
    reason: Paragraph
    contract_amount_fen: PositiveFen = Field(description="变更后的合同成交额；终止时为已履行部分")
    non_technical_costs: CostLines = []
    milestones: Annotated[list[Milestone], Field(min_length=1, max_length=100)] = Field(
        description="变更后的付款节点，合计须等于变更后的合同成交额"
    )
    counterparty_signed_offline: bool = Field(
        default=False, description="对方为平台外当事人时，确认其已线下签署变更协议"
    )


class AmendmentRejectRequest(InputModel):
    comment: Paragraph


class ContractQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: ContractStatus | None = None


class PartyRead(BaseModel):
    organisation_id: uuid.UUID | None
    name: str
    uscc: str | None
    region_code: str | None
    country_code: str | None
    legal_nature: LegalNature
    cross_border: bool = Field(description="境外（含港澳台）当事人")


class CommissionRead(BaseModel):
    mode: CommissionMode
    rate_bp: int | None
    amount_fen: int = Field(description="佣金（分）；按比例时为按当前合同成交额计算的金额")
    payer: Side


class SignatureRead(OutputModel):
    side: Side
    version: int
    offline: bool
    user_id: uuid.UUID = Field(description="签署人；线下签署时为登记人")
    organisation_id: uuid.UUID = Field(description="签署人所在机构；线下签署时为登记人所在机构")
    note: str | None
    signed_at: datetime


class ContractRead(BaseModel):
    id: uuid.UUID
    version: int
    status: ContractStatus
    title: str
    contract_type: ContractType
    contract_subtype: ContractSubtype | None
    subject: str | None
    terms: str | None
    seller: PartyRead
    buyer: PartyRead
    registering_side: Side = Field(description="提交认定登记的一方")
    contract_amount_fen: int = Field(description="当前合同成交额（含已登记的变更）")
    non_technical_costs: list[dict[str, Any]]
    non_technical_amount_fen: int
    technology_amount_fen: int = Field(description="当前技术交易额（含已登记的变更）")
    milestones: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    valid_from: date | None
    valid_until: date | None
    achievement_id: uuid.UUID | None
    demand_id: uuid.UUID | None
    field_code: str | None
    industry_code: str | None
    local_conversion: bool = Field(description="就地转化：科技成果由合肥市内的买方转化")
    local_conversion_academic: bool = Field(description="就地转化且成果属于高校或科研院所")
    broker_id: uuid.UUID | None
    commission: CommissionRead | None
    signatures: list[SignatureRead] = Field(description="当前版本的签署")
    signed_at: datetime | None
    signed_on: date | None
    submitted_at: datetime | None
    registration_number: str | None
    registered_at: datetime | None
    registered_on: date | None = Field(description="登记日期（上海时间）")
    registered_contract_amount_fen: int | None = Field(description="登记时的合同成交额")
    registered_technology_amount_fen: int | None = Field(description="登记时的技术交易额")
    rejected_at: datetime | None
    rejection_reasons: list[RejectionReason]
    rejection_comment: str | None
    performance_started_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, contract: Contract, signatures: list[ContractSignature]) -> ContractRead:
        """The record with its parties and commission as objects and the signatures of the current version."""
        columns = {column.key: getattr(contract, column.key) for column in Contract.__table__.columns}
        parties = {side.value: _party_read(contract, side) for side in Side}
        commission = None
        if contract.commission_mode is not None:
            assert contract.commission_fen is not None
            assert contract.commission_payer is not None
            commission = CommissionRead(
                mode=CommissionMode(contract.commission_mode),
                rate_bp=contract.commission_rate_bp,
                amount_fen=contract.commission_fen,
                payer=Side(contract.commission_payer),
            )
        return cls.model_validate(
            columns
            | parties
            | {
                "registering_side": registering_side(contract),
                "broker_id": contract.broker_user_id,
                "commission": commission,
                "signatures": [SignatureRead.model_validate(signature) for signature in signatures],
            }
        )


def _party_read(contract: Contract, side: Side) -> PartyRead:
    def part(name: str) -> Any:
        return getattr(contract, f"{side.value}_{name}")

    return PartyRead(
        organisation_id=part("organisation_id"),
        name=part("name"),
        uscc=part("uscc"),
        region_code=part("region_code"),
        country_code=part("country_code"),
        legal_nature=LegalNature(part("legal_nature")),
        cross_border=is_cross_border(part("region_code"), part("country_code")),
    )


class AmendmentRead(OutputModel):
    id: uuid.UUID
    contract_id: uuid.UUID
    sequence: int
    kind: AmendmentKind
    status: AmendmentStatus
    reason: str
    contract_amount_fen_before: int
    technology_amount_fen_before: int
    contract_amount_fen_after: int
    technology_amount_fen_after: int
    contract_amount_delta_fen: int
    technology_amount_delta_fen: int
    non_technical_costs: list[dict[str, Any]]
    milestones: list[dict[str, Any]]
    proposed_by_side: Side
    counterparty_signed_offline: bool
    confirmed_at: datetime | None
    registered_at: datetime | None
    registered_on: date | None
    rejected_at: datetime | None
    rejection_comment: str | None
    created_at: datetime
