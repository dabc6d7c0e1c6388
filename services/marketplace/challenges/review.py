"""Expert review and 公示: the panel, conflicts of interest, weighted scores, the ranking, the poster's shortlist
and proposed winner, and objections.

Scores and conflicts are audited without an organisation (so neither the applicant nor the poster reads the
experts' individual marks through their own audit trail); platform staff and officials read them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.challenges import events, service
from services.marketplace.challenges import repository as repo
from services.marketplace.challenges.applications import get_application
from services.marketplace.challenges.funding import RankedApplication, rank_applications, weighted_score_centi
from services.marketplace.challenges.policies import (
    ORGANISATION_ROLES,
    ChallengeAccess,
    check_is_expert,
    require_user,
)
from services.marketplace.challenges.schemas import ScoreInput
from services.marketplace.challenges.specs import CHALLENGE_LIFECYCLE, REVIEWED_STATUSES
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.timeutil import end_of_shanghai_day, shanghai_date, utcnow
from services.marketplace.models import (
    Challenge,
    ChallengeApplication,
    ChallengeConflict,
    ChallengeExpert,
    ChallengeObjection,
    ChallengeScore,
    Role,
    User,
    VerificationStatus,
)
from services.marketplace.models.challenges import ApplicationStatus, ChallengeStatus, ObjectionStatus
from services.marketplace.outbox.service import emit_event

S = ChallengeStatus
# Platform staff may add experts until the review is over.
PANEL_OPEN_STATUSES = frozenset({S.published.value, S.applications_closed.value, S.under_review.value})


async def _record_review_step(
    session: AsyncSession,
    principal: Principal | None,
    challenge: Challenge,
    action: str,
    *,
    object_type: str,
    object_id: uuid.UUID,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    organisation_id: uuid.UUID | None = None,
) -> None:
    await record_audit(
        session,
        actor=principal,
        action=f"challenge.{action}",
        object_type=object_type,
        object_id=object_id,
        organisation_id=organisation_id,
        before=before,
        after=after,
    )


def _score_snapshot(score: ChallengeScore) -> dict[str, Any]:
    return {
        "challenge_id": str(score.challenge_id),
        "application_id": str(score.application_id),
        "expert_user_id": str(score.expert_user_id),
        "scores": dict(score.scores),
        "weighted_score_centi": score.weighted_score_centi,
        "comment": score.comment,
    }


# --- the panel ---------------------------------------------------------------------------------------------


async def assign_expert(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, expert_id: uuid.UUID
) -> tuple[ChallengeExpert, User]:
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_platform("指派评审专家")
    if challenge.status not in PANEL_OPEN_STATUSES:
        raise Conflict("评审结束后不能再指派专家", state=challenge.status)
    user = await repo.get_expert_user(session, expert_id)
    if user is None:
        raise ValidationProblem.for_field(["body", "expert_id"], "用户不存在、已停用或不是评审专家", "expert_unknown")
    if await repo.get_panel_member(session, challenge.id, user.id) is not None:
        raise Conflict("该专家已在评审专家组中")
    member = ChallengeExpert(
        challenge_id=challenge.id,
        expert_user_id=user.id,
        expert_organisation_id=user.organisation_id,
        assigned_by=principal.user_id,
    )
    session.add(member)
    await session.flush()
    await _record_review_step(
        session,
        principal,
        challenge,
        "expert_assigned",
        object_type="challenge",
        object_id=challenge.id,
        after={"expert_user_id": str(user.id), "expert_organisation_id": str(user.organisation_id)},
    )
    await emit_event(
        session,
        topic=events.topic("assign_expert"),
        aggregate_type="challenge",
        aggregate_id=challenge.id,
        payload=events.challenge_payload(challenge) | {"expert_user_id": str(user.id)},
    )
    return member, user


async def _require_panel_reader(session: AsyncSession, access: ChallengeAccess) -> None:
    if access.is_platform or access.is_official:
        return
    if await repo.get_panel_member(session, access.challenge.id, access.principal.user_id) is None:
        raise Forbidden("评审专家组只对平台管理员、主管部门和专家组成员公开")


async def list_panel(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> list[tuple[ChallengeExpert, User]]:
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    await _require_panel_reader(session, access)
    return await repo.panel(session, challenge_id)


async def list_conflicts(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> list[ChallengeConflict]:
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    await _require_panel_reader(session, access)
    rows = await repo.conflicts(session, challenge_id)
    if access.is_platform or access.is_official:
        return rows
    return [row for row in rows if row.expert_user_id == principal.user_id]


async def start_review(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> Challenge:
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_platform("启动专家评审")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "start_review")
    if not await repo.panel(session, challenge.id):
        raise Conflict("请先指派评审专家")
    before = service.snapshot(challenge)
    challenge.status = next_status
    challenge.review_started_at = utcnow()
    await session.flush()
    await service.record_change(session, principal, challenge, "start_review", before)
    return challenge


async def _panel_expert(session: AsyncSession, principal: Principal, challenge: Challenge) -> ChallengeExpert:
    check_is_expert(principal)
    member = await repo.get_panel_member(session, challenge.id, principal.user_id)
    if member is None:
        raise Forbidden("您不在本榜单的评审专家组中")
    return member


def _conflicted_by_organisation(member: ChallengeExpert, application: ChallengeApplication) -> bool:
    return member.expert_organisation_id == application.organisation_id


async def declare_conflict(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, application_id: uuid.UUID, reason: str
) -> ChallengeConflict:
    """An expert steps aside from one application (关系回避); they may then not score it."""
    challenge = await service.get_challenge_locked_for_share(session, principal, challenge_id)
    member = await _panel_expert(session, principal, challenge)
    if challenge.status not in (S.applications_closed.value, S.under_review.value):
        raise Conflict("只有在揭榜截止后、评审结束前可以声明回避", state=challenge.status)
    application = await get_application(session, principal, challenge, application_id)
    if await repo.get_conflict(session, application.id, member.expert_user_id) is not None:
        raise Conflict("已声明回避该申请")
    if await repo.get_score(session, application.id, member.expert_user_id) is not None:
        raise Conflict("已对该申请评分，不能再声明回避；如有利益关系请联系平台管理员")
    conflict = ChallengeConflict(
        application_id=application.id, expert_user_id=member.expert_user_id, challenge_id=challenge.id, reason=reason
    )
    session.add(conflict)
    await session.flush()
    await _record_review_step(
        session,
        principal,
        challenge,
        "conflict_declared",
        object_type="challenge_application",
        object_id=application.id,
        after={"expert_user_id": str(member.expert_user_id), "reason": reason},
    )
    return conflict


def _criteria_problems(challenge: Challenge, scores: dict[str, int]) -> list[FieldError]:
    expected = [str(criterion["code"]) for criterion in challenge.review_criteria]
    missing = [code for code in expected if code not in scores]
    unknown = sorted(set(scores) - set(expected))
    return [
        FieldError(loc=["body", "scores", code], msg="缺少该评审指标的得分", type="score_missing") for code in missing
    ] + [
        FieldError(loc=["body", "scores", code], msg="本榜单没有该评审指标", type="criterion_unknown")
        for code in unknown
    ]


async def score_application(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    data: ScoreInput,
) -> ChallengeScore:
    """An expert scores (or re-scores) an application on every criterion while the review is open."""
    challenge = await service.get_challenge_locked_for_share(session, principal, challenge_id)
    member = await _panel_expert(session, principal, challenge)
    if challenge.status != S.under_review.value:
        raise Conflict("只有在专家评审阶段可以评分", state=challenge.status)
    application = await get_application(session, principal, challenge, application_id)
    if application.status != ApplicationStatus.submitted.value:
        raise Conflict("只能对已提交的揭榜申请评分", state=application.status)
    if _conflicted_by_organisation(member, application):
        raise Forbidden("评审专家须回避本机构的揭榜申请")
    if await repo.get_conflict(session, application.id, member.expert_user_id) is not None:
        raise Forbidden("您已声明回避该申请，不能评分")
    problems = _criteria_problems(challenge, data.scores)
    if problems:
        raise ValidationProblem("评分须覆盖本榜单的全部评审指标", errors=problems)
    weighted = weighted_score_centi(challenge.review_criteria, data.scores)
    score = await repo.get_score(session, application.id, member.expert_user_id, for_update=True)
    before = None if score is None else _score_snapshot(score)
    if score is None:
        score = ChallengeScore(
            challenge_id=challenge.id, application_id=application.id, expert_user_id=member.expert_user_id
        )
        session.add(score)
    score.scores = dict(data.scores)
    score.weighted_score_centi = weighted
    score.comment = data.comment
    await session.flush()
    await _record_review_step(
        session,
        principal,
        challenge,
        "scored",
        object_type="challenge_application",
        object_id=application.id,
        before=before,
        after=_score_snapshot(score),
    )
    return score


async def list_scores(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, application_id: uuid.UUID
) -> list[ChallengeScore]:
    """Platform staff and officials read every expert's scores; an expert reads their own."""
    challenge = await service.get_challenge(session, principal, challenge_id)
    application = await get_application(session, principal, challenge, application_id)
    if not (principal.is_platform_admin or principal.has_role(Role.official)):
        await _panel_expert(session, principal, challenge)
    statement = repo.readable_scores(principal, application.id).order_by(ChallengeScore.created_at)
    return list((await session.scalars(statement)).all())


# --- ranking and shortlist ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranking:
    complete: bool
    missing_scores: int
    entries: list[dict[str, Any]]
    recorded: list[dict[str, Any]] | None
    shortlist_reason: str | None = None


def _entry(ranked: RankedApplication, shortlisted: bool) -> dict[str, Any]:
    return {
        "rank": ranked.rank,
        "application_id": str(ranked.application_id),
        "organisation_id": str(ranked.organisation_id),
        "mean_score_centi": ranked.mean_score_centi,
        "score_count": ranked.score_count,
        "shortlisted": shortlisted,
    }


async def live_ranking(session: AsyncSession, challenge: Challenge) -> tuple[list[RankedApplication], int]:
    """The ranking of the submitted applications by the current scores, and how many scores are missing."""
    applications = await repo.applications_in(session, challenge.id, [ApplicationStatus.submitted.value])
    panel = [member for member, _ in await repo.panel(session, challenge.id)]
    declared = {(row.application_id, row.expert_user_id) for row in await repo.conflicts(session, challenge.id)}
    scores = await repo.scores_of_challenge(session, challenge.id)
    scored = {(score.application_id, score.expert_user_id) for score in scores}
    by_application: dict[uuid.UUID, list[int]] = {}
    for score in scores:
        by_application.setdefault(score.application_id, []).append(score.weighted_score_centi)
    missing = sum(
        1
        for application in applications
        for member in panel
        if not _conflicted_by_organisation(member, application)
        and (application.id, member.expert_user_id) not in declared
        and (application.id, member.expert_user_id) not in scored
    )
    rows = [
        (application.id, application.organisation_id, application.submitted_at or application.created_at)
        for application in applications
    ]
    return rank_applications(rows, by_application), missing


async def get_ranking(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> Ranking:
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    challenge = access.challenge
    if not (access.is_poster or access.is_platform or access.is_official):
        raise Forbidden("专家组排名只对发榜方、平台管理员和主管部门公开")
    if challenge.status not in REVIEWED_STATUSES:
        raise Conflict("专家评审尚未开始", state=challenge.status)
    shortlisted = {
        application.id for application in await repo.all_applications(session, challenge.id) if application.shortlisted
    }
    if challenge.panel_ranking is not None:
        entries = [
            entry | {"shortlisted": uuid.UUID(entry["application_id"]) in shortlisted}
            for entry in challenge.panel_ranking
        ]
        return Ranking(
            complete=True,
            missing_scores=0,
            entries=entries,
            recorded=challenge.panel_ranking,
            shortlist_reason=challenge.shortlist_reason,
        )
    ranked, missing = await live_ranking(session, challenge)
    entries = [_entry(row, row.application_id in shortlisted) for row in ranked]
    return Ranking(complete=missing == 0, missing_scores=missing, entries=entries, recorded=None)


async def shortlist(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    application_ids: list[uuid.UUID],
    reason: str | None,
) -> Challenge:
    """The poster decides the shortlist once every score is in; the panel's ranking is recorded with it, and a
    shortlist that departs from the top of the ranking needs a reason."""
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("确定入围名单")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "shortlist")
    ranked, missing = await live_ranking(session, challenge)
    if missing:
        raise Conflict(f"专家评审尚未完成：还有 {missing} 份评分未提交", missing_scores=missing)
    ranks = {row.application_id: row.rank for row in ranked}
    chosen = list(dict.fromkeys(application_ids))
    unknown = [str(application_id) for application_id in chosen if application_id not in ranks]
    if unknown:
        raise ValidationProblem.for_field(
            ["body", "application_ids"], "入围申请须是本榜单已提交并经评审的申请：" + "、".join(unknown)
        )
    follows_ranking = all(ranks[application_id] <= len(chosen) for application_id in chosen)
    if not follows_ranking and reason is None:
        raise ValidationProblem.for_field(
            ["body", "reason"], "入围名单与专家组排名前列不一致，须说明理由", "reason_required"
        )
    before = service.snapshot(challenge)
    now = utcnow()
    challenge.panel_ranking = [_entry(row, row.application_id in chosen) for row in ranked]
    challenge.shortlist_reason = reason
    challenge.shortlisted_at = now
    challenge.status = next_status
    for application in await repo.applications_in(
        session, challenge.id, [ApplicationStatus.submitted.value], for_update=True
    ):
        if application.id in chosen:
            application_before = service.snapshot(application)
            application.shortlisted = True
            application.version += 1
            await session.flush()
            await service.record_application_change(
                session, principal, challenge, application, "shortlist", application_before
            )
    await session.flush()
    payload = {
        "application_ids": [str(application_id) for application_id in chosen],
        "follows_ranking": follows_ranking,
    }
    await service.record_change(session, principal, challenge, "shortlist", before, payload)
    return challenge


def notice_end(start: datetime, notice_days: int) -> datetime:
    """A 公示 of N days runs through the end of its N-th Shanghai day, counting the day it starts."""
    return end_of_shanghai_day(shanghai_date(start) + timedelta(days=notice_days - 1))


async def start_public_notice(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, winner_application_id: uuid.UUID
) -> Challenge:
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("确定拟揭榜方并公示")
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "start_public_notice")
    winner = next(
        (
            application
            for application in await repo.applications_in(session, challenge.id, [ApplicationStatus.submitted.value])
            if application.id == winner_application_id and application.shortlisted
        ),
        None,
    )
    if winner is None:
        raise ValidationProblem.for_field(["body", "winner_application_id"], "拟揭榜方须在入围名单中")
    before = service.snapshot(challenge)
    now = utcnow()
    challenge.status = next_status
    challenge.winner_application_id = winner.id
    challenge.winner_organisation_id = winner.organisation_id
    challenge.notice_starts_at = now
    challenge.notice_ends_at = notice_end(now, challenge.notice_days)
    await session.flush()
    await service.record_change(
        session,
        principal,
        challenge,
        "start_public_notice",
        before,
        {"winner_application_id": str(winner.id), "notice_ends_at": challenge.notice_ends_at.isoformat()},
    )
    return challenge


# --- objections --------------------------------------------------------------------------------------------


def _objection_snapshot(objection: ChallengeObjection) -> dict[str, Any]:
    return {
        "challenge_id": str(objection.challenge_id),
        "application_id": str(objection.application_id),
        "organisation_id": str(objection.organisation_id),
        "body": objection.body,
        "status": objection.status,
        "resolution": objection.resolution,
    }


async def file_objection(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, body: str
) -> ChallengeObjection:
    """Any verified organisation may object to the proposed winner during the 公示 window."""
    challenge = await service.get_challenge_locked_for_share(session, principal, challenge_id)
    if not principal.has_role(*ORGANISATION_ROLES):
        raise Forbidden("只有机构管理员或成员可以提出异议")
    user_id = require_user(principal, "提出异议")
    if principal.belongs_to(challenge.organisation_id):
        raise Forbidden("发榜方不能对本榜单的公示提出异议")
    organisation = await repo.get_organisation(session, principal.organisation_id)
    if organisation is None or organisation.verification_status != VerificationStatus.verified.value:
        raise Forbidden("机构通过认证后才能提出异议")
    if (
        challenge.status != S.public_notice.value
        or challenge.notice_ends_at is None
        or utcnow() >= challenge.notice_ends_at
    ):
        raise Conflict("只能在公示期内提出异议", state=challenge.status)
    assert challenge.winner_application_id is not None
    objection = ChallengeObjection(
        challenge_id=challenge.id,
        application_id=challenge.winner_application_id,
        organisation_id=principal.organisation_id,
        filed_by=user_id,
        body=body,
        status=ObjectionStatus.open.value,
    )
    session.add(objection)
    await session.flush()
    await _record_review_step(
        session,
        principal,
        challenge,
        "objection_filed",
        object_type="challenge",
        object_id=challenge.id,
        after=_objection_snapshot(objection) | {"objection_id": str(objection.id)},
        organisation_id=principal.organisation_id,
    )
    await emit_event(
        session,
        topic=events.topic("file_objection"),
        aggregate_type="challenge",
        aggregate_id=challenge.id,
        payload=events.challenge_payload(challenge) | {"objection_id": str(objection.id)},
    )
    return objection


async def list_objections(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> list[ChallengeObjection]:
    """The poster, platform staff and officials see every objection; an organisation sees its own."""
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    statement = repo.objections_of(challenge_id).order_by(ChallengeObjection.created_at, ChallengeObjection.id)
    if not (access.is_poster or access.is_platform or access.is_official):
        statement = statement.where(ChallengeObjection.organisation_id == principal.organisation_id)
    return list((await session.scalars(statement)).all())


async def resolve_objection(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    objection_id: uuid.UUID,
    *,
    upheld: bool,
    resolution: str,
) -> ChallengeObjection:
    """Platform staff decide an objection; upholding one withdraws the proposed winner and returns the decision
    to the poster (the challenge goes back to shortlisted)."""
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_platform("处理公示异议")
    objection = await repo.get_objection(session, challenge.id, objection_id, for_update=True)
    if objection is None:
        raise NotFound("异议不存在")
    if objection.status != ObjectionStatus.open.value:
        raise Conflict("该异议已处理", state=objection.status)
    before = _objection_snapshot(objection)
    objection.status = (ObjectionStatus.upheld if upheld else ObjectionStatus.dismissed).value
    objection.resolution = resolution
    objection.resolved_by = principal.user_id
    objection.resolved_at = utcnow()
    await session.flush()
    await _record_review_step(
        session,
        principal,
        challenge,
        "objection_resolved",
        object_type="challenge",
        object_id=challenge.id,
        before=before | {"objection_id": str(objection.id)},
        after=_objection_snapshot(objection) | {"objection_id": str(objection.id)},
        organisation_id=challenge.organisation_id,
    )
    await emit_event(
        session,
        topic=events.topic("resolve_objection"),
        aggregate_type="challenge",
        aggregate_id=challenge.id,
        payload=events.challenge_payload(challenge)
        | {
            "objection_id": str(objection.id),
            "upheld": upheld,
            "objector_organisation_id": str(objection.organisation_id),
        },
    )
    if (
        upheld
        and challenge.status == S.public_notice.value
        and objection.application_id == challenge.winner_application_id
    ):
        await _reopen_shortlist(session, principal, challenge, objection)
    return objection


async def _reopen_shortlist(
    session: AsyncSession, principal: Principal, challenge: Challenge, objection: ChallengeObjection
) -> None:
    before = service.snapshot(challenge)
    challenge.status = CHALLENGE_LIFECYCLE.next_state(challenge.status, "reopen_shortlist")
    challenge.winner_application_id = challenge.winner_organisation_id = None
    challenge.notice_starts_at = challenge.notice_ends_at = None
    await session.flush()
    await service.record_change(
        session, principal, challenge, "reopen_shortlist", before, {"objection_id": str(objection.id)}
    )
