"""揭榜挂帅 challenges: the 榜单, applications (揭榜), expert review, 公示 objections, delivery and its money.

Money columns are BIGINT fen. The milestone plan is a JSONB list whose ``fen_total`` (the SQL function of
migration 0005) must equal the reward. The money records (escrow, its movements, subsidy tranches) are the
challenge's own traceable account of what settlement posts; see ``services/marketplace/challenges/money.py``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.marketplace.models.base import Base, Timestamps, UUIDPrimaryKey, enum_check
from services.marketplace.models.identity import OrganisationKind


class ChallengeStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"  # waiting for platform review
    returned = "returned"  # platform review sent it back with comments
    published = "published"  # open for applications until the deadline
    unclaimed = "unclaimed"  # 流榜: no application by the deadline; the poster may revise and republish
    applications_closed = "applications_closed"
    under_review = "under_review"  # expert review
    shortlisted = "shortlisted"
    public_notice = "public_notice"  # 公示 of the proposed winner
    awarded = "awarded"
    contracted = "contracted"  # three-party agreement and technology contract linked
    in_progress = "in_progress"  # milestones
    acceptance_review = "acceptance_review"
    rectification = "rectification"
    accepted = "accepted"
    closed = "closed"
    cancelled = "cancelled"
    terminated = "terminated"


class IpOwnership(StrEnum):
    """产权归属 of the results."""

    poster = "poster"  # 归发榜方
    winner = "winner"  # 归揭榜方
    shared = "shared"  # 双方共有
    negotiated = "negotiated"  # 另行约定（见条款）


class ApplicationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"  # returned for revision by the platform's formal check
    withdrawn = "withdrawn"
    accepted = "accepted"  # the winning application
    rejected = "rejected"  # not admitted, or not chosen


class ObjectionStatus(StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"


class MilestoneStatus(StrEnum):
    pending = "pending"
    submitted = "submitted"  # the winner delivered; waiting for the poster (or, for the last one, acceptance)
    accepted = "accepted"  # its tranche was released to the winner


class EscrowStatus(StrEnum):
    held = "held"
    settled = "settled"  # everything released to the winner
    closed = "closed"  # the rest went back to the poster


class MoneyMovementKind(StrEnum):
    escrow_reserved = "escrow_reserved"  # poster → escrow, on award
    tranche_released = "tranche_released"  # escrow → winner, on an accepted milestone
    escrow_refunded = "escrow_refunded"  # escrow → poster, on termination


class SubsidyPayee(StrEnum):
    poster = "poster"
    winner = "winner"


class SubsidyTrancheKind(StrEnum):
    first = "first"  # after the poster's first payment
    final = "final"  # after acceptance


class SubsidyTrancheStatus(StrEnum):
    planned = "planned"
    due = "due"  # a government payable
    cancelled = "cancelled"


def _array_check(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} <@ ARRAY[{values}]::varchar[]"


class SubsidyProgramme(UUIDPrimaryKey, Timestamps, Base):
    """A government 奖补 rule, kept as data: a rate of the poster's payments, a cap, and a two-tranche split."""

    __tablename__ = "subsidy_programmes"
    __table_args__ = (
        CheckConstraint("rate_bp BETWEEN 1 AND 10000", name="rate_bp"),
        CheckConstraint("cap_fen > 0", name="cap_positive"),
        CheckConstraint("first_tranche_bp BETWEEN 0 AND 10000", name="first_tranche_bp"),
        CheckConstraint(enum_check("payee", SubsidyPayee), name="payee"),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    rate_bp: Mapped[int] = mapped_column(Integer)
    cap_fen: Mapped[int] = mapped_column(BigInteger)
    first_tranche_bp: Mapped[int] = mapped_column(Integer)
    payee: Mapped[str] = mapped_column(String(8), server_default=SubsidyPayee.poster.value)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class ChallengeCodeCounter(Base):
    """The last serial of public codes (JB-YYYY-NNNN) per Shanghai year; its row lock keeps numbering gapless."""

    __tablename__ = "challenge_code_counters"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 9999", name="year"),
        CheckConstraint("last_serial BETWEEN 1 AND 9999", name="last_serial"),
    )

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class Challenge(UUIDPrimaryKey, Timestamps, Base):
    """A 榜单. The subsidy terms are copied from the programme at publication: later edits of the programme do
    not change what was announced."""

    __tablename__ = "challenges"
    __table_args__ = (
        CheckConstraint(enum_check("status", ChallengeStatus), name="status"),
        CheckConstraint(enum_check("ip_ownership", IpOwnership), name="ip_ownership"),
        CheckConstraint(_array_check("eligible_kinds", OrganisationKind), name="eligible_kinds"),
        CheckConstraint("code ~ '^JB-[0-9]{4}-[0-9]{4}$'", name="code"),
        CheckConstraint("reward_fen > 0", name="reward_positive"),
        CheckConstraint("poster_funded_fen BETWEEN 0 AND reward_fen", name="poster_funded"),
        CheckConstraint(
            "jsonb_array_length(milestones) > 0 AND fen_total(milestones) = reward_fen", name="milestones_sum"
        ),
        CheckConstraint("notice_days BETWEEN 1 AND 30", name="notice_days"),
        CheckConstraint("jsonb_array_length(review_criteria) > 0", name="review_criteria"),
        CheckConstraint(
            "(subsidy_rate_bp IS NULL) = (subsidy_cap_fen IS NULL) "
            "AND (subsidy_rate_bp IS NULL) = (subsidy_first_tranche_bp IS NULL) "
            "AND (subsidy_rate_bp IS NULL) = (subsidy_payee IS NULL)",
            name="subsidy_terms_complete",
        ),
        CheckConstraint(
            f"status IN ('{ChallengeStatus.draft.value}', '{ChallengeStatus.submitted.value}', "
            f"'{ChallengeStatus.returned.value}', '{ChallengeStatus.cancelled.value}') OR code IS NOT NULL",
            name="published_has_code",
        ),
        Index("ix_challenges_org_created", "organisation_id", "created_at", "id"),
        Index("ix_challenges_status_created", "status", "created_at", "id"),
        Index(
            "ix_challenges_open_deadline",
            "applications_close_at",
            postgresql_where=text("status = 'published'"),
        ),
        Index("ix_challenges_notice_end", "notice_ends_at", postgresql_where=text("status = 'public_notice'")),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    status: Mapped[str] = mapped_column(String(24), server_default=ChallengeStatus.draft.value)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))

    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    technical_indicators: Mapped[str] = mapped_column(Text)
    field_code: Mapped[str] = mapped_column(String(40))
    industry_code: Mapped[str | None] = mapped_column(String(40))
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'::varchar[]"))
    region_code: Mapped[str] = mapped_column(String(6))
    delivery_deadline: Mapped[date] = mapped_column(Date)
    ip_ownership: Mapped[str] = mapped_column(String(16))
    ip_terms: Mapped[str | None] = mapped_column(Text)
    reward_fen: Mapped[int] = mapped_column(BigInteger)
    poster_funded_fen: Mapped[int] = mapped_column(BigInteger)
    eligible_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'::varchar[]"))
    eligible_region_prefixes: Mapped[list[str]] = mapped_column(
        ARRAY(String(6)), server_default=text("'{}'::varchar[]")
    )
    min_qualifications: Mapped[str | None] = mapped_column(Text)
    application_deadline: Mapped[date] = mapped_column(Date)
    applications_close_at: Mapped[datetime]
    notice_days: Mapped[int] = mapped_column(Integer)
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    review_criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)

    subsidy_programme_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subsidy_programmes.id"))
    subsidy_rate_bp: Mapped[int | None] = mapped_column(Integer)
    subsidy_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    subsidy_first_tranche_bp: Mapped[int | None] = mapped_column(Integer)
    subsidy_payee: Mapped[str | None] = mapped_column(String(8))

    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    first_published_at: Mapped[datetime | None]
    unclaimed_at: Mapped[datetime | None]
    applications_closed_at: Mapped[datetime | None]
    review_started_at: Mapped[datetime | None]
    shortlisted_at: Mapped[datetime | None]
    panel_ranking: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    shortlist_reason: Mapped[str | None] = mapped_column(Text)
    winner_application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("challenge_applications.id", use_alter=True)
    )
    winner_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    notice_starts_at: Mapped[datetime | None]
    notice_ends_at: Mapped[datetime | None]
    awarded_at: Mapped[datetime | None]
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"))
    agreement: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    contracted_at: Mapped[datetime | None]
    delivery_started_at: Mapped[datetime | None]
    acceptance_requested_at: Mapped[datetime | None]
    acceptance_comment: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    terminated_at: Mapped[datetime | None]
    termination_reason: Mapped[str | None] = mapped_column(Text)


class ChallengeApplication(UUIDPrimaryKey, Timestamps, Base):
    """One organisation's 揭榜 of one challenge."""

    __tablename__ = "challenge_applications"
    __table_args__ = (
        CheckConstraint(enum_check("status", ApplicationStatus), name="status"),
        UniqueConstraint("challenge_id", "organisation_id", name="uq_challenge_applications_challenge_org"),
        Index("ix_challenge_applications_org_created", "organisation_id", "created_at", "id"),
    )

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=ApplicationStatus.draft.value)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    proposal: Mapped[str] = mapped_column(Text)
    team: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    qualifications: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    shortlisted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    submitted_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    return_comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)


class ChallengeExpert(Base):
    """An expert on a challenge's review panel, assigned by platform staff."""

    __tablename__ = "challenge_experts"

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    expert_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    expert_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChallengeConflict(Base):
    """An expert's declared conflict of interest with one application: they may not score it."""

    __tablename__ = "challenge_conflicts"

    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenge_applications.id"), primary_key=True)
    expert_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChallengeScore(UUIDPrimaryKey, Timestamps, Base):
    """One expert's scores of one application per criterion (0–100) and their weighted total in hundredths."""

    __tablename__ = "challenge_scores"
    __table_args__ = (
        UniqueConstraint("application_id", "expert_user_id", name="uq_challenge_scores_application_expert"),
        CheckConstraint("weighted_score_centi BETWEEN 0 AND 10000", name="weighted_score"),
        Index("ix_challenge_scores_challenge", "challenge_id"),
    )

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenge_applications.id"))
    expert_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB)
    weighted_score_centi: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)


class ChallengeObjection(UUIDPrimaryKey, Base):
    """An objection filed during 公示; it must be resolved before the award becomes final."""

    __tablename__ = "challenge_objections"
    __table_args__ = (
        CheckConstraint(enum_check("status", ObjectionStatus), name="status"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolution_complete"),
        Index("ix_challenge_objections_challenge_created", "challenge_id", "created_at", "id"),
    )

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    application_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenge_applications.id"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    filed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), server_default=ObjectionStatus.open.value)
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class ChallengeMilestone(UUIDPrimaryKey, Timestamps, Base):
    """A tranche of the reward, created from the plan on award; ``poster_share_fen`` is its self-funded part."""

    __tablename__ = "challenge_milestones"
    __table_args__ = (
        CheckConstraint(enum_check("status", MilestoneStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("poster_share_fen BETWEEN 0 AND amount_fen", name="poster_share"),
        CheckConstraint("(status = 'accepted') = (accepted_at IS NOT NULL)", name="acceptance_complete"),
        UniqueConstraint("challenge_id", "sequence", name="uq_challenge_milestones_challenge_sequence"),
    )

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    due_on: Mapped[date | None] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    poster_share_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), server_default=MilestoneStatus.pending.value)
    delivery_note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    submitted_at: Mapped[datetime | None]
    return_comment: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class ChallengeEscrow(Base):
    """The poster's reward held for the winner: reserved on award, released per milestone, the rest refunded
    on termination. ``settlement_reference`` names the ledger's escrow once settlement posts it."""

    __tablename__ = "challenge_escrows"
    __table_args__ = (
        CheckConstraint(enum_check("status", EscrowStatus), name="status"),
        CheckConstraint("reserved_fen > 0", name="reserved_positive"),
        CheckConstraint("released_fen >= 0 AND refunded_fen >= 0", name="movements_non_negative"),
        CheckConstraint("released_fen + refunded_fen <= reserved_fen", name="within_reserve"),
        CheckConstraint("status = 'held' OR released_fen + refunded_fen = reserved_fen", name="closed_when_exhausted"),
    )

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"), primary_key=True)
    payer_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    payee_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    reserved_fen: Mapped[int] = mapped_column(BigInteger)
    released_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    refunded_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(8), server_default=EscrowStatus.held.value)
    settlement_reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ChallengeMoneyMovement(Base):
    """Every money step of a challenge, append-only, each with the key settlement posts it under."""

    __tablename__ = "challenge_money_movements"
    __table_args__ = (
        CheckConstraint(enum_check("kind", MoneyMovementKind), name="kind"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_challenge_money_movements_challenge", "challenge_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    movement_key: Mapped[str] = mapped_column(String(120), unique=True)
    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    milestone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("challenge_milestones.id"))
    from_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    settlement_reference: Mapped[str | None] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class ChallengeSubsidyTranche(UUIDPrimaryKey, Timestamps, Base):
    """A government payable computed from the challenge's subsidy terms: planned on award, due when its
    trigger happens (the poster's first payment, acceptance), cancelled when the challenge is terminated."""

    __tablename__ = "challenge_subsidy_tranches"
    __table_args__ = (
        CheckConstraint(enum_check("kind", SubsidyTrancheKind), name="kind"),
        CheckConstraint(enum_check("status", SubsidyTrancheStatus), name="status"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        CheckConstraint("(status = 'due') = (due_at IS NOT NULL)", name="due_complete"),
        UniqueConstraint("challenge_id", "kind", name="uq_challenge_subsidy_tranches_challenge_kind"),
    )

    challenge_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("challenges.id"))
    programme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subsidy_programmes.id"))
    kind: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    payee_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[str] = mapped_column(String(12), server_default=SubsidyTrancheStatus.planned.value)
    rule: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    settlement_reference: Mapped[str | None] = mapped_column(String(100))
