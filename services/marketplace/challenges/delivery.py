"""After the award: the three-party agreement and technology contract, milestones, acceptance, rectification,
termination and closing. The money steps run in the same transaction (``money.py``).

The last milestone is the acceptance milestone: its tranche is released when the acceptance review passes, so a
challenge terminated after a failed acceptance still holds it in escrow and refunds it to the poster.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.challenges import events, money, service
from services.marketplace.challenges import repository as repo
from services.marketplace.challenges.policies import ChallengeAccess
from services.marketplace.challenges.schemas import ContractLink, MilestoneDelivery
from services.marketplace.challenges.specs import AWARDED_STATUSES, CHALLENGE_LIFECYCLE, MILESTONE_LIFECYCLE
from services.marketplace.contracts import repository as contracts_repo
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import (
    Challenge,
    ChallengeEscrow,
    ChallengeMilestone,
    ChallengeMoneyMovement,
    ChallengeSubsidyTranche,
)
from services.marketplace.models.challenges import ChallengeStatus, MilestoneStatus, SubsidyTrancheKind
from services.marketplace.models.contracts import ContractStatus
from services.marketplace.outbox.service import emit_event

S = ChallengeStatus
# A technology contract counts as concluded once both parties signed it.
SIGNED_CONTRACT_STATUSES = frozenset(
    {
        ContractStatus.signed.value,
        ContractStatus.submitted.value,
        ContractStatus.registered.value,
        ContractStatus.performing.value,
        ContractStatus.completed.value,
    }
)


def _milestone_snapshot(milestone: ChallengeMilestone) -> dict[str, Any]:
    return {
        "milestone_id": str(milestone.id),
        "sequence": milestone.sequence,
        "amount_fen": milestone.amount_fen,
        "status": milestone.status,
        "delivery_note": milestone.delivery_note,
        "return_comment": milestone.return_comment,
    }


async def _transition(
    session: AsyncSession,
    access: ChallengeAccess,
    action: str,
    payload: dict[str, Any] | None = None,
    **columns: Any,
) -> Challenge:
    challenge = access.challenge
    next_status = CHALLENGE_LIFECYCLE.next_state(challenge.status, action)
    before = service.snapshot(challenge)
    challenge.status = next_status
    for key, value in columns.items():
        setattr(challenge, key, value)
    await session.flush()
    await service.record_change(session, access.principal, challenge, action, before, payload)
    return challenge


async def link_contract(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, data: ContractLink
) -> Challenge:
    """The poster links the signed technology contract (poster buys, winner delivers) and the three-party
    agreement."""
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("关联三方协议与技术合同")
    CHALLENGE_LIFECYCLE.next_state(challenge.status, "link_contract")
    contract = await contracts_repo.get_readable(session, principal, data.contract_id)
    if contract is None:
        raise ValidationProblem.for_field(["body", "contract_id"], "技术合同不存在", "contract_unknown")
    if (
        contract.buyer_organisation_id != challenge.organisation_id
        or contract.seller_organisation_id != challenge.winner_organisation_id
    ):
        raise ValidationProblem.for_field(
            ["body", "contract_id"],
            "技术合同须由发榜方作为买方（委托方）、揭榜方作为卖方（受托方）",
            "contract_parties",
        )
    if contract.status not in SIGNED_CONTRACT_STATUSES:
        raise ValidationProblem.for_field(["body", "contract_id"], "技术合同须经双方签署", "contract_unsigned")
    return await _transition(
        session,
        access,
        "link_contract",
        {"contract_id": str(contract.id)},
        contract_id=contract.id,
        agreement=data.agreement.model_dump(mode="json"),
        contracted_at=utcnow(),
    )


async def start_delivery(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> Challenge:
    access = await service.load_access(session, principal, challenge_id)
    access.require_poster("启动榜单实施")
    return await _transition(session, access, "start_delivery", delivery_started_at=utcnow())


def _require_party_or_overseer(access: ChallengeAccess, what: str) -> None:
    if not (access.is_poster or access.is_winner or access.is_platform or access.is_official):
        raise Forbidden(f"{what}只对发榜方、揭榜方、平台管理员和主管部门公开")


async def list_milestones(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> list[ChallengeMilestone]:
    """Deliverables are the parties' business: the poster, the winner, platform staff and officials."""
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    _require_party_or_overseer(access, "里程碑与交付成果")
    return await repo.milestones(session, access.challenge.id)


async def _milestone(
    session: AsyncSession, challenge: Challenge, milestone_id: uuid.UUID
) -> tuple[ChallengeMilestone, bool]:
    """The milestone (locked) and whether it is the last one, the acceptance milestone."""
    rows = await repo.milestones(session, challenge.id, for_update=True)
    milestone = next((row for row in rows if row.id == milestone_id), None)
    if milestone is None:
        raise NotFound("里程碑不存在")
    return milestone, milestone.sequence == len(rows)


async def _record_milestone(
    session: AsyncSession,
    principal: Principal | None,
    challenge: Challenge,
    milestone: ChallengeMilestone,
    action: str,
    before: dict[str, Any],
) -> None:
    await record_audit(
        session,
        actor=principal,
        action=f"challenge.{action}",
        object_type="challenge",
        object_id=challenge.id,
        organisation_id=challenge.organisation_id,
        before=before,
        after=_milestone_snapshot(milestone),
    )
    if action in events.ACTION_TOPICS:
        await emit_event(
            session,
            topic=events.topic(action),
            aggregate_type="challenge",
            aggregate_id=challenge.id,
            payload=events.challenge_payload(challenge) | _milestone_snapshot(milestone),
        )


async def deliver_milestone(
    session: AsyncSession,
    principal: Principal,
    challenge_id: uuid.UUID,
    milestone_id: uuid.UUID,
    data: MilestoneDelivery,
) -> ChallengeMilestone:
    """The winner hands in a milestone's deliverables (during delivery or rectification)."""
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_winner("提交里程碑成果")
    if challenge.status not in (S.in_progress.value, S.rectification.value):
        raise Conflict("榜单不在实施或整改阶段", state=challenge.status)
    milestone, _ = await _milestone(session, challenge, milestone_id)
    before = _milestone_snapshot(milestone)
    milestone.status = MILESTONE_LIFECYCLE.next_state(milestone.status, "deliver")
    milestone.delivery_note = data.note
    milestone.attachments = [attachment.model_dump(mode="json") for attachment in data.attachments]
    milestone.submitted_at = utcnow()
    milestone.return_comment = None
    await session.flush()
    await _record_milestone(session, principal, challenge, milestone, "deliver_milestone", before)
    return milestone


async def accept_milestone(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, milestone_id: uuid.UUID
) -> ChallengeMilestone:
    """The poster accepts a delivered milestone: its tranche is released to the winner from escrow."""
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("验收里程碑")
    if challenge.status != S.in_progress.value:
        raise Conflict("榜单不在实施阶段", state=challenge.status)
    milestone, last = await _milestone(session, challenge, milestone_id)
    if last:
        raise Conflict("最后一期里程碑随榜单验收通过一并确认和拨付")
    before = _milestone_snapshot(milestone)
    now = utcnow()
    milestone.status = MILESTONE_LIFECYCLE.next_state(milestone.status, "accept")
    milestone.accepted_at, milestone.accepted_by = now, principal.user_id
    await session.flush()
    await _record_milestone(session, principal, challenge, milestone, "accept_milestone", before)
    await money.release_milestone(session, challenge, milestone, now)
    return milestone


async def return_milestone(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, milestone_id: uuid.UUID, comment: str
) -> ChallengeMilestone:
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_poster("退回里程碑成果")
    if challenge.status != S.in_progress.value:
        raise Conflict("榜单不在实施阶段", state=challenge.status)
    milestone, last = await _milestone(session, challenge, milestone_id)
    if last:
        raise Conflict("最后一期里程碑由验收评审处理")
    before = _milestone_snapshot(milestone)
    milestone.status = MILESTONE_LIFECYCLE.next_state(milestone.status, "return")
    milestone.return_comment = comment
    await session.flush()
    await _record_milestone(session, principal, challenge, milestone, "return_milestone", before)
    return milestone


async def request_acceptance(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> Challenge:
    """The winner asks for the acceptance review once every earlier milestone is accepted and the last one
    is delivered."""
    access = await service.load_access(session, principal, challenge_id)
    access.require_winner("申请验收")
    CHALLENGE_LIFECYCLE.next_state(access.challenge.status, "request_acceptance")
    rows = await repo.milestones(session, access.challenge.id)
    *earlier, last = rows
    waiting = [row.sequence for row in earlier if row.status != MilestoneStatus.accepted.value]
    if waiting:
        raise Conflict(
            "以下里程碑尚未验收：第 " + "、".join(str(sequence) for sequence in waiting) + " 期", milestones=waiting
        )
    if last.status != MilestoneStatus.submitted.value:
        raise Conflict("请先提交最后一期里程碑成果", milestone_id=str(last.id))
    return await _transition(session, access, "request_acceptance", acceptance_requested_at=utcnow())


async def decide_acceptance(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, *, passed: bool, comment: str
) -> Challenge:
    """Platform staff record the acceptance review. Passing accepts the last milestone, releases its tranche and
    makes the final subsidy due; failing sends the project to rectification with the last milestone returned."""
    access = await service.load_access(session, principal, challenge_id)
    challenge = access.challenge
    access.require_platform("组织验收评审")
    action = "pass_acceptance" if passed else "fail_acceptance"
    CHALLENGE_LIFECYCLE.next_state(challenge.status, action)
    rows = await repo.milestones(session, challenge.id, for_update=True)
    last = rows[-1]
    before = _milestone_snapshot(last)
    now = utcnow()
    if passed:
        last.status = MILESTONE_LIFECYCLE.next_state(last.status, "accept")
        last.accepted_at, last.accepted_by = now, principal.user_id
    else:
        last.status = MILESTONE_LIFECYCLE.next_state(last.status, "return")
        last.return_comment = comment
    await session.flush()
    await _record_milestone(
        session, principal, challenge, last, "accept_milestone" if passed else "return_milestone", before
    )
    if passed:
        await money.release_milestone(session, challenge, last, now)
        await money.make_subsidy_due(session, challenge, SubsidyTrancheKind.first, now)
        await money.make_subsidy_due(session, challenge, SubsidyTrancheKind.final, now)
        return await _transition(
            session, access, action, {"comment": comment}, acceptance_comment=comment, accepted_at=now
        )
    return await _transition(session, access, action, {"comment": comment}, acceptance_comment=comment)


async def terminate(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID, reason: str) -> Challenge:
    """End a project that failed acceptance: the escrow's remainder goes back to the poster and the subsidy
    not yet due is cancelled."""
    access = await service.load_access(session, principal, challenge_id)
    access.require_poster_admin_or_platform("终止榜单")
    CHALLENGE_LIFECYCLE.next_state(access.challenge.status, "terminate")
    refunded = await money.refund_on_termination(session, access.challenge)
    return await _transition(
        session,
        access,
        "terminate",
        {"reason": reason, "refunded_fen": refunded},
        terminated_at=utcnow(),
        termination_reason=reason,
    )


async def close(session: AsyncSession, principal: Principal, challenge_id: uuid.UUID) -> Challenge:
    access = await service.load_access(session, principal, challenge_id)
    access.require_platform("结项")
    return await _transition(session, access, "close", closed_at=utcnow())


async def money_of(
    session: AsyncSession, principal: Principal, challenge_id: uuid.UUID
) -> tuple[ChallengeEscrow | None, list[ChallengeMoneyMovement], list[ChallengeSubsidyTranche]]:
    """The escrow, its movements and the subsidy tranches: for the poster, the winner, platform staff and
    officials."""
    access = await service.load_access(session, principal, challenge_id, for_update=False)
    _require_party_or_overseer(access, "资金记录")
    if access.challenge.status not in AWARDED_STATUSES:
        return None, [], []
    challenge_id = access.challenge.id
    return (
        await repo.get_escrow(session, challenge_id),
        await repo.movements(session, challenge_id),
        await repo.subsidy_tranches(session, challenge_id),
    )
