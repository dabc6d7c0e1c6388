"""Challenge use cases: authoring, platform review, cancellation, the deadline and the award.
Services flush; the boundary commits.

Applications are in ``applications.py``, expert review and 公示 in ``review.py``, delivery and acceptance in
``delivery.py``, subsidy programmes in ``programmes.py``, the money records in ``money.py``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import pydantic
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.challenges import events, money
from services.marketplace.challenges import repository as repo
from services.marketplace.challenges.policies import (
    ChallengeAccess,
    check_can_post,
    check_poster_verified,
)
from services.marketplace.challenges.schemas import ChallengeCreate, ChallengeUpdate, terms_problems
from services.marketplace.challenges.specs import APPLICATION_LIFECYCLE, CHALLENGE_LIFECYCLE
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.timeutil import end_of_shanghai_day, shanghai_date, utcnow
from services.marketplace.models import Challenge, ChallengeApplication, Organisation, SubsidyProgramme
from services.marketplace.models.challenges import ApplicationStatus, ChallengeStatus
from services.marketplace.outbox.service import emit_event

LABEL = "揭榜挂帅榜单"


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(row: Challenge | ChallengeApplication) -> dict[str, Any]:
    return {column.key: _json_safe(getattr(row, column.key)) for column in row.__table__.columns}


async def record_change(
    session: AsyncSession,
    principal: Principal | None,
    challenge: Challenge,
    action: str,
    before: dict[str, Any] | None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Audit row and outbox event of one challenge state change, in the caller's transaction."""
    await record_audit(
        session,
        actor=principal,
        action=f"challenge.{action}",
        object_type="challenge",
        object_id=challenge.id,
        organisation_id=challenge.organisation_id,
        before=before,
        after=snapshot(challenge),
    )
    await emit_event(
        session,
        topic=events.topic(action),
        aggregate_type="challenge",
        aggregate_id=challenge.id,
        payload=events.challenge_payload(challenge) | (payload or {}),
    )


async def record_application_change(
    session: AsyncSession,
    principal: Principal | None,
    challenge: Challenge,
    application: ChallengeApplication,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    """Audit row (filed under the applicant) and the event that notifies the applicant."""
    await record_audit(
        session,
        actor=principal,
        action=f"challenge_application.{action}",
        object_type="challenge_application",
        object_id=application.id,
        organisation_id=application.organisation_id,
        before=before,
        after=snapshot(application),
    )
    await emit_event(
        session,
        topic=events.application_topic(action),
        aggregate_type="challenge_application",
        aggregate_id=application.id,
        payload=events.application_payload(challenge, application),
    )


async def load_access(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, *, for_update: bool = True
) -> ChallengeAccess:
    challenge = await repo.get_readable(session, principal, challenge_id, for_update=for_update)
    if challenge is None:
        raise NotFound(f"{LABEL}不存在")
    return ChallengeAccess(principal, challenge)


async def get_challenge(session: AsyncSession, principal: Principal | None, challenge_id: uuid.UUID) -> Challenge:
    challenge = await repo.get_readable(session, principal, challenge_id)
    if challenge is None:
        raise NotFound(f"{LABEL}不存在")
    return challenge


async def get_challenge_locked_for_share(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> Challenge:
    challenge = await repo.get_readable(session, principal, challenge_id, for_share=True)
    if challenge is None:
        raise NotFound(f"{LABEL}不存在")
    return challenge


async def audit_trail(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> Select[Any]:
    """Every step, score and decision of the challenge: for platform staff and officials."""
    access = await load_access(session, principal, challenge_id, for_update=False)
    if not (access.is_platform or access.is_official):
        raise Forbidden("完整审计记录只对平台管理员和主管部门公开")
    return repo.audit_trail(access.challenge.id)


# --- the terms ---------------------------------------------------------------------------------------------


def _term_columns(data: ChallengeCreate, organisation: Organisation) -> dict[str, Any]:
    return {
        "title": data.title,
        "problem": data.problem,
        "technical_indicators": data.technical_indicators,
        "field_code": data.field_code,
        "industry_code": data.industry_code,
        "keywords": list(data.keywords),
        "region_code": data.region_code or organisation.region_code,
        "delivery_deadline": data.delivery_deadline,
        "ip_ownership": data.ip_ownership.value,
        "ip_terms": data.ip_terms,
        "reward_fen": data.reward_fen,
        "poster_funded_fen": data.poster_funded_fen,
        "eligible_kinds": [kind.value for kind in data.eligibility.organisation_kinds],
        "eligible_region_prefixes": list(data.eligibility.region_prefixes),
        "min_qualifications": data.eligibility.min_qualifications,
        "application_deadline": data.application_deadline,
        "applications_close_at": end_of_shanghai_day(data.application_deadline),
        "notice_days": data.notice_days,
        "milestones": [milestone.model_dump(mode="json") for milestone in data.milestones],
        "review_criteria": [criterion.model_dump(mode="json") for criterion in data.review_criteria],
        "subsidy_programme_id": data.subsidy_programme_id,
    }


def _term_input(challenge: Challenge) -> dict[str, Any]:
    """The challenge's current terms as the input a ``ChallengeCreate`` would have had."""
    return {
        "title": challenge.title,
        "problem": challenge.problem,
        "technical_indicators": challenge.technical_indicators,
        "field_code": challenge.field_code,
        "industry_code": challenge.industry_code,
        "keywords": list(challenge.keywords),
        "region_code": challenge.region_code,
        "delivery_deadline": challenge.delivery_deadline.isoformat(),
        "ip_ownership": challenge.ip_ownership,
        "ip_terms": challenge.ip_terms,
        "reward_fen": challenge.reward_fen,
        "poster_funded_fen": challenge.poster_funded_fen,
        "eligibility": {
            "organisation_kinds": list(challenge.eligible_kinds),
            "region_prefixes": list(challenge.eligible_region_prefixes),
            "min_qualifications": challenge.min_qualifications,
        },
        "application_deadline": challenge.application_deadline.isoformat(),
        "notice_days": challenge.notice_days,
        "milestones": list(challenge.milestones),
        "review_criteria": list(challenge.review_criteria),
        "subsidy_programme_id": _json_safe(challenge.subsidy_programme_id),
    }


async def _programme_problem(session: AsyncSession, programme_id: uuid.UUID | None) -> FieldError | None:
    if programme_id is None:
        return None
    programme = await repo.get_programme(session, programme_id)
    if programme is None or not programme.is_active:
        return FieldError(loc=["body", "subsidy_programme_id"], msg="奖补政策不存在或已停用", type="programme_unknown")
    return None


async def _check_terms(session: AsyncSession, data: ChallengeCreate) -> None:
    errors = terms_problems(data)
    programme = await _programme_problem(session, data.subsidy_programme_id)
    if programme is not None:
        errors.append(programme)
    if errors:
        raise ValidationProblem(errors[0].msg, errors=errors)


def _check_deadline_open(challenge: Challenge, now: datetime) -> None:
    if challenge.applications_close_at <= now:
        raise ValidationProblem.for_field(
            ["body", "application_deadline"], "揭榜截止日已过，请修改截止日后再提交", "deadline_passed"
        )


# --- use cases ---------------------------------------------------------------------------------------------


async def create_challenge(session: AsyncSession, principal: Principal, data: ChallengeCreate) -> Challenge:
    """A draft by an administrator or member of an enterprise or government body."""
    organisation = await repo.get_organisation(session, principal.organisation_id)
    assert organisation is not None, "a principal's organisation always exists"
    check_can_post(principal, organisation)
    await _check_terms(session, data)
    challenge = Challenge(
        **_term_columns(data, organisation),
        organisation_id=organisation.id,
        created_by=principal.user_id,
        status=ChallengeStatus.draft.value,
        version=1,
    )
    session.add(challenge)
    await session.flush()
    await record_change(session, principal, challenge, "create", None)
    return challenge


async def update_challenge(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, data: ChallengeUpdate
) -> Challenge:
    """Edit a draft, a returned or an unclaimed challenge; the terms are checked again as a whole."""
    access = await load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("修改榜单")
    changes = data.model_dump(mode="json", exclude_unset=True)
    if not changes:
        return challenge
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "edit")
    try:
        terms = ChallengeCreate.model_validate(_term_input(challenge) | changes)
    except pydantic.ValidationError as exc:
        errors = [
            FieldError(loc=["body", *(str(part) for part in error["loc"])], msg=error["msg"], type=error["type"])
            for error in exc.errors()
        ]
        raise ValidationProblem("修改后的榜单内容不完整或无效", errors=errors) from None
    await _check_terms(session, terms)
    organisation = await repo.get_organisation(session, challenge.organisation_id)
    assert organisation is not None
    before = snapshot(challenge)
    for key, value in _term_columns(terms, organisation).items():
        setattr(challenge, key, value)
    challenge.status = next_status
    challenge.version += 1
    await session.flush()
    await record_change(session, principal, challenge, "edit", before)
    return challenge


async def submit_challenge(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, now: datetime | None = None
) -> Challenge:
    """Send a draft, a returned or an unclaimed (流榜) challenge to platform review."""
    now = now or utcnow()
    access = await load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("提交榜单")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "submit")
    organisation = await repo.get_organisation(session, challenge.organisation_id)
    assert organisation is not None
    check_poster_verified(organisation)
    _check_deadline_open(challenge, now)
    problem = await _programme_problem(session, challenge.subsidy_programme_id)
    if problem is not None:
        raise ValidationProblem(problem.msg, errors=[problem])
    before = snapshot(challenge)
    challenge.status = next_status
    challenge.submitted_at = now
    await session.flush()
    await record_change(session, principal, challenge, "submit", before)
    return challenge


async def approve_challenge(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, now: datetime | None = None
) -> Challenge:
    """Platform review publishes the challenge: it gets its public code (kept on republication) and the subsidy
    terms of its programme as they stand now."""
    now = now or utcnow()
    access = await load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_platform("审核榜单")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "approve")
    if challenge.applications_close_at <= now:
        raise Conflict("揭榜截止日已过，请退回发榜方修改")
    before = snapshot(challenge)
    _lock_subsidy_terms(challenge, await _active_programme(session, challenge))
    if challenge.code is None:
        year = shanghai_date(now).year
        challenge.code = f"JB-{year}-{await repo.issue_code_serial(session, year):04d}"
    challenge.status = next_status
    challenge.reviewed_at, challenge.reviewed_by, challenge.review_comment = now, principal.user_id, None
    challenge.published_at = now
    challenge.first_published_at = challenge.first_published_at or now
    challenge.applications_closed_at = None
    await session.flush()
    await record_change(session, principal, challenge, "approve", before)
    return challenge


async def _active_programme(session: AsyncSession, challenge: Challenge) -> SubsidyProgramme | None:
    if challenge.subsidy_programme_id is None:
        return None
    programme = await repo.get_programme(session, challenge.subsidy_programme_id)
    if programme is None or not programme.is_active:
        raise Conflict("榜单所属的奖补政策已停用，请退回发榜方修改")
    return programme


def _lock_subsidy_terms(challenge: Challenge, programme: SubsidyProgramme | None) -> None:
    if programme is None:
        challenge.subsidy_rate_bp = challenge.subsidy_cap_fen = None
        challenge.subsidy_first_tranche_bp = None
        challenge.subsidy_payee = None
        return
    challenge.subsidy_rate_bp = programme.rate_bp
    challenge.subsidy_cap_fen = programme.cap_fen
    challenge.subsidy_first_tranche_bp = programme.first_tranche_bp
    challenge.subsidy_payee = programme.payee


async def return_challenge(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, comment: str
) -> Challenge:
    access = await load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_platform("审核榜单")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "return")
    before = snapshot(challenge)
    challenge.status = next_status
    challenge.reviewed_at, challenge.reviewed_by, challenge.review_comment = utcnow(), principal.user_id, comment
    await session.flush()
    await record_change(session, principal, challenge, "return", before)
    return challenge


async def cancel_challenge(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, reason: str
) -> Challenge:
    """The poster withdraws the challenge before the award; the reason is public and every applicant is told."""
    access = await load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("撤销榜单")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "cancel")
    before = snapshot(challenge)
    challenge.status = next_status
    challenge.cancelled_at = utcnow()
    challenge.cancellation_reason = reason
    await session.flush()
    await record_change(session, principal, challenge, "cancel", before, {"reason": reason})
    return challenge


# --- the worker --------------------------------------------------------------------------------------------


async def close_due_challenges(session: AsyncSession, now: datetime | None = None, limit: int = 200) -> int:
    """At the end of the deadline day (Asia/Shanghai) a published challenge closes for applications, or becomes
    unclaimed (流榜) when nobody submitted one."""
    now = now or utcnow()
    due = await repo.lock_challenges(
        session,
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.published.value, Challenge.applications_close_at <= now)
        .order_by(Challenge.applications_close_at)
        .limit(limit),
    )
    for challenge in due:
        submitted = await repo.count_submitted(session, challenge.id)
        action = "close_applications" if submitted else "mark_unclaimed"
        before = snapshot(challenge)
        challenge.status = CHALLENGE_LIFECYCLE.next_state(challenge.status, action)
        if submitted:
            challenge.applications_closed_at = now
        else:
            challenge.unclaimed_at = now
        await session.flush()
        await record_change(session, None, challenge, action, before, {"submitted_applications": submitted})
    return len(due)


async def finalize_public_notices(session: AsyncSession, now: datetime | None = None, limit: int = 200) -> int:
    """After the 公示 window, with every objection resolved, the proposed winner is awarded."""
    now = now or utcnow()
    due = await repo.lock_challenges(
        session,
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.public_notice.value, Challenge.notice_ends_at <= now)
        .order_by(Challenge.notice_ends_at)
        .limit(limit),
    )
    awarded = 0
    for challenge in due:
        assert challenge.winner_application_id is not None
        if await repo.has_open_objection(session, challenge.id, challenge.winner_application_id):
            continue
        await award_challenge(session, challenge, now)
        awarded += 1
    return awarded


async def award_challenge(session: AsyncSession, challenge: Challenge, now: datetime) -> Challenge:
    """The winner's application is accepted, the others are not selected, and the money steps start."""
    before = snapshot(challenge)
    challenge.status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "award")
    challenge.awarded_at = now
    for application in await repo.applications_in(
        session, challenge.id, [ApplicationStatus.submitted.value], for_update=True
    ):
        application_before = snapshot(application)
        won = application.id == challenge.winner_application_id
        action = "accept" if won else "decline"
        application.status = APPLICATION_LIFECYCLE.next_state(application.status, action)
        application.decided_at = now
        application.decision_reason = "揭榜成功" if won else "未入选"
        application.version += 1
        await session.flush()
        await record_application_change(session, None, challenge, application, action, application_before)
    summary = await money.reserve_on_award(session, challenge)
    await session.flush()
    await record_change(session, None, challenge, "award", before, {"reward_fen": challenge.reward_fen, **summary})
    return challenge
