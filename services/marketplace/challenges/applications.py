"""揭榜 applications: one per organisation per challenge, written and submitted while the challenge is open,
checked against its eligibility rules on submission; platform staff return or reject them at the formal check.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.challenges import repository as repo
from services.marketplace.challenges import service
from services.marketplace.challenges.policies import ChallengeAccess, acts_for, check_can_apply
from services.marketplace.challenges.schemas import ApplicationCreate, ApplicationUpdate
from services.marketplace.challenges.specs import APPLICATION_LIFECYCLE
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.regions import in_region
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import Challenge, ChallengeApplication, Organisation, Role, VerificationStatus
from services.marketplace.models.challenges import ApplicationStatus, ChallengeStatus
from services.marketplace.models.identity import OrganisationKind

LABEL = "揭榜申请"
KIND_LABELS = {
    OrganisationKind.university.value: "高等院校",
    OrganisationKind.research_institute.value: "科研院所",
    OrganisationKind.enterprise.value: "企业",
    OrganisationKind.transfer_agency.value: "技术转移机构",
    OrganisationKind.government.value: "政府部门",
    OrganisationKind.platform.value: "平台运营机构",
}


def _check_open(challenge: Challenge, now: datetime) -> None:
    """Applications are written and submitted while the challenge is published and its deadline day lasts."""
    if challenge.status != ChallengeStatus.published.value or now >= challenge.applications_close_at:
        raise Conflict(
            "榜单已截止或未在揭榜期内，不能提交或修改揭榜申请",
            state=challenge.status,
            applications_close_at=challenge.applications_close_at.isoformat(),
        )


def eligibility_problems(challenge: Challenge, organisation: Organisation) -> list[FieldError]:
    """Why the organisation may not apply to the challenge (empty when it may)."""
    problems: list[FieldError] = []
    if organisation.verification_status != VerificationStatus.verified.value:
        problems.append(
            FieldError(loc=["organisation", "verification_status"], msg="机构通过认证后才能揭榜", type="not_verified")
        )
    if challenge.eligible_kinds and organisation.kind not in challenge.eligible_kinds:
        allowed = "、".join(KIND_LABELS[kind] for kind in challenge.eligible_kinds)
        problems.append(
            FieldError(
                loc=["organisation", "kind"],
                msg=f"本榜单仅限{allowed}揭榜，贵机构类型为{KIND_LABELS[organisation.kind]}",
                type="kind_not_eligible",
            )
        )
    if challenge.eligible_region_prefixes and not any(
        in_region(organisation.region_code, prefix) for prefix in challenge.eligible_region_prefixes
    ):
        allowed = "、".join(challenge.eligible_region_prefixes)
        problems.append(
            FieldError(
                loc=["organisation", "region_code"],
                msg=f"本榜单仅限所在地行政区划代码以 {allowed} 开头的机构揭榜，"
                f"贵机构所在地为 {organisation.region_code}",
                type="region_not_eligible",
            )
        )
    return problems


async def _is_panel_expert(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> bool:
    if not principal.has_role(Role.expert):
        return False
    return await repo.get_panel_member(session, challenge_id, principal.user_id) is not None


async def get_application(
    session: AsyncSession,
    principal: Principal,
    challenge: Challenge,
    application_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> ChallengeApplication:
    application = await repo.get_readable_application(
        session,
        principal,
        challenge,
        application_id,
        is_panel_expert=await _is_panel_expert(session, principal, challenge.id),
        for_update=for_update,
    )
    if application is None:
        raise NotFound(f"{LABEL}不存在")
    return application


async def list_applications(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> tuple[Challenge, list[ChallengeApplication]]:
    challenge = await service.get_challenge(session, principal, challenge_id)
    statement = repo.readable_applications(
        principal, challenge, is_panel_expert=await _is_panel_expert(session, principal, challenge.id)
    ).order_by(ChallengeApplication.created_at, ChallengeApplication.id)
    return challenge, list((await session.scalars(statement)).all())


async def read_application(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, application_id: uuid.UUID
) -> ChallengeApplication:
    challenge = await service.get_challenge(session, principal, challenge_id)
    return await get_application(session, principal, challenge, application_id)


async def _own_application(
    session: AsyncSession, access: ChallengeAccess, application_id: uuid.UUID, what: str
) -> ChallengeApplication:
    application = await get_application(session, access.principal, access.challenge, application_id, for_update=True)
    if not acts_for(access.principal, application.organisation_id):
        raise Forbidden(f"只有揭榜机构的管理员或成员可以{what}")
    return application


async def create_application(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    data: ApplicationCreate,
    now: datetime | None = None,
) -> ChallengeApplication:
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    challenge = access.challenge
    check_can_apply(principal)
    if principal.belongs_to(challenge.organisation_id):
        raise Forbidden("发榜机构不能揭榜自己的榜单")
    _check_open(challenge, now or utcnow())
    existing = await repo.get_application_of(session, challenge.id, principal.organisation_id)
    if existing is not None:
        raise Conflict("每个机构对同一榜单只能提交一份揭榜申请", application_id=str(existing.id))
    application = ChallengeApplication(
        challenge_id=challenge.id,
        organisation_id=principal.organisation_id,
        created_by=principal.user_id,
        status=ApplicationStatus.draft.value,
        version=1,
        proposal=data.proposal,
        team=[member.model_dump(mode="json") for member in data.team],
        qualifications=data.qualifications,
        attachments=[attachment.model_dump(mode="json") for attachment in data.attachments],
    )
    session.add(application)
    await session.flush()
    await service.record_application_change(session, principal, challenge, application, "create", None)
    return application


async def update_application(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    data: ApplicationUpdate,
    now: datetime | None = None,
) -> ChallengeApplication:
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    application = await _own_application(session, access, application_id, "修改揭榜申请")
    changes: dict[str, Any] = {name: getattr(data, name) for name in data.model_fields_set}
    for name in ("team", "attachments"):
        if changes.get(name) is not None:
            changes[name] = [item.model_dump(mode="json") for item in changes[name]]
    nulls = sorted(name for name in ("proposal", "team", "attachments") if name in changes and changes[name] is None)
    if nulls:
        raise ValidationProblem.for_field(["body", nulls[0]], "以下字段不能为 null：" + "、".join(nulls))
    if not changes:
        return application
    next_status = APPLICATION_LIFECYCLE.next_state(application.status, "edit")
    _check_open(access.challenge, now or utcnow())
    before = service.snapshot(application)
    for key, value in changes.items():
        setattr(application, key, value)
    application.status = next_status
    application.version += 1
    await session.flush()
    await service.record_application_change(session, principal, access.challenge, application, "edit", before)
    return application


async def submit_application(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    now: datetime | None = None,
) -> ChallengeApplication:
    """Submit (or resubmit) before the deadline; the organisation must meet the challenge's eligibility rules."""
    challenge = await service.get_challenge_locked_for_share(session, principal, challenge_id)
    access = ChallengeAccess(principal, challenge)
    application = await _own_application(session, access, application_id, "提交揭榜申请")
    next_status = APPLICATION_LIFECYCLE.next_state(application.status, "submit")
    now = now or utcnow()
    _check_open(challenge, now)
    organisation = await repo.get_organisation(session, application.organisation_id)
    assert organisation is not None
    problems = eligibility_problems(challenge, organisation)
    if problems:
        raise ValidationProblem(
            "不符合本榜单的揭榜条件：" + "；".join(problem.msg for problem in problems), errors=problems
        )
    before = service.snapshot(application)
    application.status = next_status
    application.submitted_at = now
    application.version += 1
    await session.flush()
    await service.record_application_change(session, principal, challenge, application, "submit", before)
    return application


async def withdraw_application(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, application_id: uuid.UUID
) -> ChallengeApplication:
    challenge = await service.get_challenge_locked_for_share(session, principal, challenge_id)
    application = await _own_application(session, ChallengeAccess(principal, challenge), application_id, "撤回揭榜申请")
    next_status = APPLICATION_LIFECYCLE.next_state(application.status, "withdraw")
    _check_open(challenge, utcnow())
    before = service.snapshot(application)
    application.status = next_status
    application.version += 1
    await session.flush()
    await service.record_application_change(session, principal, challenge, application, "withdraw", before)
    return application


async def return_application(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, application_id: uuid.UUID, comment: str
) -> ChallengeApplication:
    """The platform's formal check sends an application back for revision while the challenge is open."""
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    access.require_platform("形式审查揭榜申请")
    application = await get_application(session, principal, access.challenge, application_id, for_update=True)
    next_status = APPLICATION_LIFECYCLE.next_state(application.status, "return")
    _check_open(access.challenge, utcnow())
    before = service.snapshot(application)
    application.status = next_status
    application.returned_at = utcnow()
    application.return_comment = comment
    application.version += 1
    await session.flush()
    await service.record_application_change(session, principal, access.challenge, application, "return", before)
    return application


async def reject_application(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, application_id: uuid.UUID, reason: str
) -> ChallengeApplication:
    """The formal check finds an application inadmissible, before expert review starts."""
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    access.require_platform("形式审查揭榜申请")
    if access.challenge.status not in (ChallengeStatus.published.value, ChallengeStatus.applications_closed.value):
        raise Conflict("专家评审开始后不能再以形式审查驳回申请", state=access.challenge.status)
    application = await get_application(session, principal, access.challenge, application_id, for_update=True)
    next_status = APPLICATION_LIFECYCLE.next_state(application.status, "reject")
    before = service.snapshot(application)
    application.status = next_status
    application.decided_at = utcnow()
    application.decision_reason = reason
    application.version += 1
    await session.flush()
    await service.record_application_change(session, principal, access.challenge, application, "reject", before)
    return application
