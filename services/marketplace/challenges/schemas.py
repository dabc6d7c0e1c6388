"""Request and response models of challenges, applications, review, 公示, delivery and subsidy programmes.

Input models forbid unknown fields, so status, owner, review and money columns can never be mass-assigned.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

from services.marketplace.challenges.funding import SubsidyTerms, plan_subsidy, poster_shares
from services.marketplace.challenges.specs import CHALLENGE_LIFECYCLE, DEFAULT_REVIEW_CRITERIA, MAX_CRITERION_SCORE
from services.marketplace.contracts.schemas import Attachment
from services.marketplace.kit.errors import FieldError
from services.marketplace.kit.validators import (
    MAX_FEN,
    Fen,
    FieldCode,
    IndustryCode,
    Keyword,
    LongText,
    Paragraph,
    RegionCode,
    Title,
)
from services.marketplace.listings.schemas import TeamMember
from services.marketplace.models import Challenge
from services.marketplace.models.challenges import (
    ApplicationStatus,
    ChallengeStatus,
    EscrowStatus,
    IpOwnership,
    MilestoneStatus,
    MoneyMovementKind,
    ObjectionStatus,
    SubsidyPayee,
    SubsidyTrancheKind,
    SubsidyTrancheStatus,
)
from services.marketplace.models.identity import OrganisationKind

PositiveFen = Annotated[int, Strict(), Field(ge=1, le=MAX_FEN, description="金额（分，正整数）")]
BasisPoints = Annotated[int, Strict(), Field(ge=0, le=10_000, description="比例（基点，1 bp = 0.01%）")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
RegionPrefix = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{2}(?:[0-9]{2}(?:[0-9]{2})?)?$"),
    Field(description="行政区划代码前缀（2/4/6 位）"),
]
CriterionCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Score = Annotated[int, Strict(), Field(ge=0, le=MAX_CRITERION_SCORE)]
Keywords = Annotated[list[Keyword], Field(max_length=20)]
Attachments = Annotated[list[Attachment], Field(max_length=20)]
Team = Annotated[list[TeamMember], Field(max_length=50)]
# Organisation kinds that can apply (the platform operator never does).
APPLICANT_KINDS = tuple(kind for kind in OrganisationKind if kind is not OrganisationKind.platform)


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- subsidy programmes ------------------------------------------------------------------------------------


class ProgrammeCreate(InputModel):
    name: Title
    description: Paragraph | None = None
    rate_bp: Annotated[int, Strict(), Field(ge=1, le=10_000, description="补助比例：发榜方支付额的基点")]
    cap_fen: PositiveFen = Field(description="单个榜单补助上限（分）")
    first_tranche_bp: BasisPoints = Field(
        description="首笔补助不超过发榜方首笔支付额的比例（基点）；0 表示验收后一次拨付"
    )
    payee: SubsidyPayee = Field(default=SubsidyPayee.poster, description="补助拨付给发榜方或揭榜方")


class ProgrammeUpdate(InputModel):
    """Applies to challenges published afterwards; published challenges keep the terms they announced."""

    name: Title | None = None
    description: Paragraph | None = None
    rate_bp: Annotated[int, Strict(), Field(ge=1, le=10_000)] | None = None
    cap_fen: PositiveFen | None = None
    first_tranche_bp: BasisPoints | None = None
    payee: SubsidyPayee | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = [name for name in self.model_fields_set if name != "description" and getattr(self, name) is None]
        if nulls:
            raise ValueError("以下字段不能为 null：" + "、".join(sorted(nulls)))
        return self


class ProgrammeRead(OutputModel):
    id: uuid.UUID
    name: str
    description: str | None
    rate_bp: int
    cap_fen: int
    first_tranche_bp: int
    payee: SubsidyPayee
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


# --- challenges --------------------------------------------------------------------------------------------


class Eligibility(InputModel):
    organisation_kinds: Annotated[list[OrganisationKind], Field(max_length=6)] = Field(
        default=[], description="可揭榜的机构类型；空表示不限"
    )
    region_prefixes: Annotated[list[RegionPrefix], Field(max_length=50)] = Field(
        default=[], description="揭榜机构所在地（行政区划代码前缀，如 34 为安徽）；空表示不限"
    )
    min_qualifications: Paragraph | None = Field(default=None, description="最低资质要求（文字说明，专家评审时核对）")

    @model_validator(mode="after")
    def _applicable_kinds(self) -> Self:
        if OrganisationKind.platform in self.organisation_kinds:
            raise ValueError("平台运营机构不能揭榜")
        self.organisation_kinds = list(dict.fromkeys(self.organisation_kinds))
        self.region_prefixes = list(dict.fromkeys(self.region_prefixes))
        return self


class MilestonePlan(InputModel):
    title: ShortText
    due_on: date
    amount_fen: PositiveFen


class Criterion(InputModel):
    code: CriterionCode
    name: ShortText
    weight: Annotated[int, Strict(), Field(ge=1, le=100, description="权重（相对值）")]


def _default_criteria() -> list[Criterion]:
    return [Criterion.model_validate(criterion) for criterion in DEFAULT_REVIEW_CRITERIA]


class ChallengeCreate(InputModel):
    title: Title
    problem: LongText = Field(description="需要解决的技术难题")
    technical_indicators: LongText = Field(description="技术指标")
    field_code: FieldCode
    industry_code: IndustryCode | None = None
    keywords: Keywords = []
    region_code: RegionCode | None = Field(default=None, description="实施地；缺省为发榜机构所在地")
    delivery_deadline: date = Field(description="完成时限")
    ip_ownership: IpOwnership = Field(description="产权归属")
    ip_terms: Paragraph | None = Field(default=None, description="产权归属的具体约定")
    reward_fen: PositiveFen = Field(description="榜单金额（分）")
    poster_funded_fen: Fen = Field(description="其中发榜方自筹（分）；奖补按自筹支付额计算")
    eligibility: Eligibility = Eligibility()
    application_deadline: date = Field(description="揭榜截止日（上海时间当日 24:00 截止）")
    notice_days: Annotated[int, Strict(), Field(ge=1, le=30, description="公示天数")] = 7
    milestones: Annotated[list[MilestonePlan], Field(min_length=1, max_length=20)] = Field(
        description="里程碑与付款计划，合计须等于榜单金额"
    )
    review_criteria: Annotated[list[Criterion], Field(min_length=1, max_length=10)] = Field(
        default_factory=_default_criteria, description="评审指标与权重"
    )
    subsidy_programme_id: uuid.UUID | None = Field(default=None, description="所属奖补政策")


def terms_problems(terms: ChallengeCreate) -> list[FieldError]:
    """What is inconsistent across fields of a complete set of terms (checked on create and on every edit)."""
    problems: list[tuple[str, str, str]] = []
    if terms.poster_funded_fen > terms.reward_fen:
        problems.append(("poster_funded_fen", "发榜方自筹金额不能超过榜单金额", "poster_funded_exceeds_reward"))
    if sum(milestone.amount_fen for milestone in terms.milestones) != terms.reward_fen:
        problems.append(("milestones", "里程碑金额合计须等于榜单金额", "milestones_sum"))
    due_dates = [milestone.due_on for milestone in terms.milestones]
    if due_dates != sorted(due_dates):
        problems.append(("milestones", "里程碑须按时间先后排列", "milestones_order"))
    if due_dates[-1] > terms.delivery_deadline:
        problems.append(("milestones", "里程碑不能晚于完成时限", "milestones_after_delivery"))
    if terms.application_deadline >= terms.delivery_deadline:
        problems.append(("application_deadline", "揭榜截止日须早于完成时限", "deadline_order"))
    if due_dates[0] <= terms.application_deadline:
        problems.append(("milestones", "里程碑须晚于揭榜截止日", "milestones_before_deadline"))
    if terms.ip_ownership is IpOwnership.negotiated and terms.ip_terms is None:
        problems.append(("ip_terms", "产权另行约定时须填写具体约定", "ip_terms_missing"))
    codes = [criterion.code for criterion in terms.review_criteria]
    if len(set(codes)) != len(codes):
        problems.append(("review_criteria", "评审指标代码不能重复", "criteria_duplicate"))
    return [FieldError(loc=["body", field], msg=msg, type=type_) for field, msg, type_ in problems]


class ChallengeUpdate(InputModel):
    """Partial update of a draft, returned or unclaimed challenge; the result is checked as a whole."""

    title: Title | None = None
    problem: LongText | None = None
    technical_indicators: LongText | None = None
    field_code: FieldCode | None = None
    industry_code: IndustryCode | None = None
    keywords: Keywords | None = None
    region_code: RegionCode | None = None
    delivery_deadline: date | None = None
    ip_ownership: IpOwnership | None = None
    ip_terms: Paragraph | None = None
    reward_fen: PositiveFen | None = None
    poster_funded_fen: Fen | None = None
    eligibility: Eligibility | None = None
    application_deadline: date | None = None
    notice_days: Annotated[int, Strict(), Field(ge=1, le=30)] | None = None
    milestones: Annotated[list[MilestonePlan], Field(min_length=1, max_length=20)] | None = None
    review_criteria: Annotated[list[Criterion], Field(min_length=1, max_length=10)] | None = None
    subsidy_programme_id: uuid.UUID | None = None


class ChallengeQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: ChallengeStatus | None = None
    mine: bool = Field(default=False, description="只看本机构发布的榜单")


class ReviewComment(InputModel):
    comment: Paragraph


class ReasonRequest(InputModel):
    reason: Paragraph


class SubsidyTermsRead(BaseModel):
    programme_id: uuid.UUID
    rate_bp: int
    cap_fen: int
    first_tranche_bp: int
    payee: SubsidyPayee
    max_total_fen: int = Field(description="按自筹金额与上限计算的最高补助（分）")
    max_first_fen: int = Field(description="首笔补助最高额（分）")


class ChallengeRead(BaseModel):
    id: uuid.UUID
    code: str | None = Field(description="公开编号，发布时分配（JB-年份-序号）")
    organisation_id: uuid.UUID
    status: ChallengeStatus
    version: int
    title: str
    problem: str
    technical_indicators: str
    field_code: str
    industry_code: str | None
    keywords: list[str]
    region_code: str
    delivery_deadline: date
    ip_ownership: IpOwnership
    ip_terms: str | None
    reward_fen: int
    poster_funded_fen: int
    eligibility: Eligibility
    application_deadline: date
    applications_close_at: datetime = Field(description="揭榜截止时刻（截止日上海时间 24:00）")
    notice_days: int
    milestones: list[dict[str, Any]]
    review_criteria: list[dict[str, Any]]
    subsidy_programme_id: uuid.UUID | None
    subsidy_terms: SubsidyTermsRead | None = Field(description="发布时锁定的奖补条款")
    review_comment: str | None
    published_at: datetime | None
    unclaimed_at: datetime | None
    applications_closed_at: datetime | None
    review_started_at: datetime | None
    shortlisted_at: datetime | None
    winner_application_id: uuid.UUID | None
    winner_organisation_id: uuid.UUID | None
    notice_starts_at: datetime | None
    notice_ends_at: datetime | None
    awarded_at: datetime | None
    contract_id: uuid.UUID | None
    agreement: dict[str, Any] | None
    contracted_at: datetime | None
    delivery_started_at: datetime | None
    acceptance_requested_at: datetime | None
    acceptance_comment: str | None
    accepted_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    terminated_at: datetime | None
    termination_reason: str | None
    allowed_actions: list[str] = Field(description="当前状态允许的操作（不含权限判断）")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def build(cls, challenge: Challenge) -> ChallengeRead:
        columns = {column.key: getattr(challenge, column.key) for column in Challenge.__table__.columns}
        return cls.model_validate(
            columns
            | {
                "eligibility": Eligibility(
                    organisation_kinds=[OrganisationKind(kind) for kind in challenge.eligible_kinds],
                    region_prefixes=list(challenge.eligible_region_prefixes),
                    min_qualifications=challenge.min_qualifications,
                ),
                "subsidy_terms": _subsidy_terms(challenge),
                "allowed_actions": CHALLENGE_LIFECYCLE.allowed_actions(challenge.status),
            }
        )


def _subsidy_terms(challenge: Challenge) -> SubsidyTermsRead | None:
    if (
        challenge.subsidy_programme_id is None
        or challenge.subsidy_rate_bp is None
        or challenge.subsidy_cap_fen is None
        or challenge.subsidy_first_tranche_bp is None
        or challenge.subsidy_payee is None
    ):
        return None
    terms = SubsidyTerms(challenge.subsidy_rate_bp, challenge.subsidy_cap_fen, challenge.subsidy_first_tranche_bp)
    amounts = [int(milestone["amount_fen"]) for milestone in challenge.milestones]
    plan = plan_subsidy(terms, poster_shares(amounts, challenge.poster_funded_fen))
    return SubsidyTermsRead(
        programme_id=challenge.subsidy_programme_id,
        rate_bp=terms.rate_bp,
        cap_fen=terms.cap_fen,
        first_tranche_bp=terms.first_tranche_bp,
        payee=SubsidyPayee(challenge.subsidy_payee),
        max_total_fen=plan.total_fen,
        max_first_fen=plan.first_fen,
    )


# --- applications ------------------------------------------------------------------------------------------


class ApplicationCreate(InputModel):
    proposal: LongText = Field(description="技术方案")
    team: Team = []
    qualifications: Paragraph | None = Field(default=None, description="资质与研发基础")
    attachments: Attachments = []


class ApplicationUpdate(InputModel):
    proposal: LongText | None = None
    team: Team | None = None
    qualifications: Paragraph | None = None
    attachments: Attachments | None = None


class ApplicationRead(OutputModel):
    id: uuid.UUID
    challenge_id: uuid.UUID
    organisation_id: uuid.UUID
    status: ApplicationStatus
    version: int
    proposal: str
    team: list[dict[str, Any]]
    qualifications: str | None
    attachments: list[dict[str, Any]]
    shortlisted: bool
    submitted_at: datetime | None
    returned_at: datetime | None
    return_comment: str | None
    decided_at: datetime | None
    decision_reason: str | None
    created_at: datetime
    updated_at: datetime


# --- expert review -----------------------------------------------------------------------------------------


class ExpertAssign(InputModel):
    expert_id: uuid.UUID = Field(description="具有 expert 角色的用户")


class ExpertRead(BaseModel):
    expert_id: uuid.UUID
    organisation_id: uuid.UUID
    display_name: str
    assigned_at: datetime


class ConflictDeclaration(InputModel):
    reason: Paragraph


class ConflictRead(OutputModel):
    application_id: uuid.UUID
    expert_user_id: uuid.UUID
    reason: str
    declared_at: datetime


class ScoreInput(InputModel):
    scores: dict[CriterionCode, Score] = Field(description="每项评审指标的得分（0–100）")
    comment: Paragraph | None = None


class ScoreRead(OutputModel):
    id: uuid.UUID
    application_id: uuid.UUID
    expert_user_id: uuid.UUID
    scores: dict[str, int]
    weighted_score_centi: int = Field(description="加权得分（百分之一分，0–10000）")
    comment: str | None
    created_at: datetime
    updated_at: datetime


class RankingEntry(BaseModel):
    rank: int
    application_id: uuid.UUID
    organisation_id: uuid.UUID
    mean_score_centi: int = Field(description="专家加权得分的平均值（百分之一分）")
    score_count: int
    shortlisted: bool


class RankingRead(BaseModel):
    complete: bool = Field(description="每位未回避的专家都已评完每份申请")
    missing_scores: int
    entries: list[RankingEntry]
    recorded: list[dict[str, Any]] | None = Field(description="确定入围名单时记录在案的专家组排名")
    shortlist_reason: str | None = Field(description="入围名单偏离排名时发榜方的说明")


class ShortlistRequest(InputModel):
    application_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=20)]
    reason: Paragraph | None = Field(default=None, description="入围名单与专家组排名前列不一致时须说明理由")


class PublicNoticeRequest(InputModel):
    winner_application_id: uuid.UUID = Field(description="拟定的揭榜方（须在入围名单中）")


class ObjectionCreate(InputModel):
    body: Paragraph


class ObjectionResolve(InputModel):
    upheld: bool = Field(description="异议成立：撤回拟定揭榜方，由发榜方重新确定")
    resolution: Paragraph


class ObjectionRead(OutputModel):
    id: uuid.UUID
    challenge_id: uuid.UUID
    application_id: uuid.UUID
    organisation_id: uuid.UUID
    body: str
    status: ObjectionStatus
    resolution: str | None
    resolved_at: datetime | None
    created_at: datetime


# --- delivery ----------------------------------------------------------------------------------------------


class ContractLink(InputModel):
    contract_id: uuid.UUID = Field(description="发榜方（买方）与揭榜方（卖方）已签署的技术合同")
    agreement: Attachment = Field(description="发榜方、揭榜方与主管部门的三方协议文本")


class MilestoneDelivery(InputModel):
    note: Paragraph
    attachments: Attachments = []


class AcceptanceDecision(InputModel):
    passed: bool
    comment: Paragraph


class MilestoneRead(OutputModel):
    id: uuid.UUID
    challenge_id: uuid.UUID
    sequence: int
    title: str
    due_on: date | None
    amount_fen: int
    poster_share_fen: int = Field(description="其中发榜方自筹部分（奖补计算基数）")
    status: MilestoneStatus
    delivery_note: str | None
    attachments: list[dict[str, Any]]
    submitted_at: datetime | None
    return_comment: str | None
    accepted_at: datetime | None


class EscrowRead(OutputModel):
    payer_organisation_id: uuid.UUID
    payee_organisation_id: uuid.UUID
    reserved_fen: int
    released_fen: int
    refunded_fen: int
    held_fen: int
    status: EscrowStatus
    settlement_reference: str | None


class MovementRead(OutputModel):
    id: int
    movement_key: str
    kind: MoneyMovementKind
    amount_fen: int
    milestone_id: uuid.UUID | None
    from_organisation_id: uuid.UUID | None
    to_organisation_id: uuid.UUID | None
    settlement_reference: str | None
    occurred_at: datetime


class SubsidyTrancheRead(OutputModel):
    id: uuid.UUID
    programme_id: uuid.UUID
    kind: SubsidyTrancheKind
    amount_fen: int
    payee_organisation_id: uuid.UUID
    status: SubsidyTrancheStatus
    rule: str
    due_at: datetime | None
    settlement_reference: str | None


class MoneyRead(BaseModel):
    escrow: EscrowRead | None
    movements: list[MovementRead]
    subsidy_tranches: list[SubsidyTrancheRead]
