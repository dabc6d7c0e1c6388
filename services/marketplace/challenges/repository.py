"""Challenge queries with their scoping.

- A challenge is public once published (and not back in review); drafts and review stay with the poster's
  organisation and platform staff; officials read every challenge that is not a draft.
- An application is seen by its own organisation. Others see only submitted ones (submitted, accepted,
  rejected), and the poster and the assigned experts only after the deadline closed the window, so nobody
  peeks while it is open. Platform staff (the formal check) and officials (read-only) see all but drafts.
- Individual scores are seen by platform staff, officials and the expert who gave them; the poster sees the
  panel's ranking.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.challenges.specs import PRIVATE_STATUSES, SUBMITTED_APPLICATION_STATUSES
from services.marketplace.identity.auth import Principal
from services.marketplace.models import (
    AuditEvent,
    Challenge,
    ChallengeApplication,
    ChallengeCodeCounter,
    ChallengeConflict,
    ChallengeEscrow,
    ChallengeExpert,
    ChallengeMilestone,
    ChallengeMoneyMovement,
    ChallengeObjection,
    ChallengeScore,
    ChallengeSubsidyTranche,
    Organisation,
    Role,
    SubsidyProgramme,
    User,
)
from services.marketplace.models.challenges import (
    ApplicationStatus,
    ChallengeStatus,
    ObjectionStatus,
    SubsidyTrancheKind,
)


def _visibility(principal: Principal | None) -> ColumnElement[bool]:
    public = and_(Challenge.first_published_at.is_not(None), Challenge.status.not_in(PRIVATE_STATUSES))
    if principal is None:
        return public
    if principal.is_platform_admin:
        return true()
    conditions = [public, Challenge.organisation_id == principal.organisation_id]
    if principal.has_role(Role.official):
        conditions.append(Challenge.status != ChallengeStatus.draft.value)
    return or_(*conditions)


def readable_challenges(principal: Principal | None) -> Select[Any]:
    return select(Challenge).where(_visibility(principal))


async def get_readable(
    session: AsyncSession,
    principal: Principal | None,
    challenge_id: uuid.UUID,
    *,
    for_update: bool = False,
    for_share: bool = False,
) -> Challenge | None:
    """``for_share`` lets applications be submitted side by side while the deadline's closing waits for them."""
    statement = readable_challenges(principal).where(Challenge.id == challenge_id)
    if for_update or for_share:
        statement = statement.with_for_update(read=not for_update)
    challenge: Challenge | None = await session.scalar(statement)
    return challenge


async def lock_challenges(session: AsyncSession, statement: Select[Any]) -> list[Challenge]:
    """Rows for a worker batch, skipping those another worker (or a request) holds."""
    return list((await session.scalars(statement.with_for_update(skip_locked=True))).all())


async def get_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def issue_code_serial(session: AsyncSession, year: int) -> int:
    """The next serial of the year's public codes; the upsert's row lock queues concurrent publications."""
    statement = (
        insert(ChallengeCodeCounter)
        .values(year=year, last_serial=1)
        .on_conflict_do_update(
            index_elements=[ChallengeCodeCounter.year], set_={"last_serial": ChallengeCodeCounter.last_serial + 1}
        )
        .returning(ChallengeCodeCounter.last_serial)
    )
    serial = await session.scalar(statement)
    assert serial is not None
    return int(serial)


def audit_trail(challenge_id: uuid.UUID) -> Select[Any]:
    """The audit rows of the challenge and of its applications (scores and conflicts are filed there)."""
    application_ids = select(cast(ChallengeApplication.id, String)).where(
        ChallengeApplication.challenge_id == challenge_id
    )
    return select(AuditEvent).where(
        or_(
            and_(AuditEvent.object_type == "challenge", AuditEvent.object_id == str(challenge_id)),
            and_(AuditEvent.object_type == "challenge_application", AuditEvent.object_id.in_(application_ids)),
        )
    )


# --- applications ------------------------------------------------------------------------------------------


def application_visibility(principal: Principal, challenge: Challenge, *, is_panel_expert: bool) -> ColumnElement[bool]:
    own = ChallengeApplication.organisation_id == principal.organisation_id
    not_draft = ChallengeApplication.status != ApplicationStatus.draft.value
    if principal.is_platform_admin or principal.has_role(Role.official):
        return or_(own, not_draft)
    conditions = [own]
    deadline_passed = challenge.applications_closed_at is not None
    if deadline_passed and (principal.belongs_to(challenge.organisation_id) or is_panel_expert):
        conditions.append(ChallengeApplication.status.in_(SUBMITTED_APPLICATION_STATUSES))
    return or_(*conditions)


def readable_applications(principal: Principal, challenge: Challenge, *, is_panel_expert: bool) -> Select[Any]:
    return select(ChallengeApplication).where(
        ChallengeApplication.challenge_id == challenge.id,
        application_visibility(principal, challenge, is_panel_expert=is_panel_expert),
    )


async def get_readable_application(
    session: AsyncSession,
    principal: Principal,
    challenge: Challenge,
    application_id: uuid.UUID,
    *,
    is_panel_expert: bool,
    for_update: bool = False,
) -> ChallengeApplication | None:
    statement = readable_applications(principal, challenge, is_panel_expert=is_panel_expert).where(
        ChallengeApplication.id == application_id
    )
    if for_update:
        statement = statement.with_for_update()
    application: ChallengeApplication | None = await session.scalar(statement)
    return application


async def get_application_of(
    session: AsyncSession, challenge_id: uuid.UUID, organisation_id: uuid.UUID
) -> ChallengeApplication | None:
    application: ChallengeApplication | None = await session.scalar(
        select(ChallengeApplication).where(
            ChallengeApplication.challenge_id == challenge_id, ChallengeApplication.organisation_id == organisation_id
        )
    )
    return application


async def applications_in(
    session: AsyncSession, challenge_id: uuid.UUID, statuses: Sequence[str], *, for_update: bool = False
) -> list[ChallengeApplication]:
    statement = (
        select(ChallengeApplication)
        .where(ChallengeApplication.challenge_id == challenge_id, ChallengeApplication.status.in_(statuses))
        .order_by(ChallengeApplication.submitted_at, ChallengeApplication.id)
    )
    if for_update:
        statement = statement.with_for_update()
    return list((await session.scalars(statement)).all())


async def count_submitted(session: AsyncSession, challenge_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(
            ChallengeApplication.challenge_id == challenge_id,
            ChallengeApplication.status == ApplicationStatus.submitted.value,
        )
    )
    return int(count or 0)


async def all_applications(session: AsyncSession, challenge_id: uuid.UUID) -> list[ChallengeApplication]:
    return list(
        (
            await session.scalars(select(ChallengeApplication).where(ChallengeApplication.challenge_id == challenge_id))
        ).all()
    )


# --- review ------------------------------------------------------------------------------------------------


async def panel(session: AsyncSession, challenge_id: uuid.UUID) -> list[tuple[ChallengeExpert, User]]:
    rows = await session.execute(
        select(ChallengeExpert, User)
        .join(User, User.id == ChallengeExpert.expert_user_id)
        .where(ChallengeExpert.challenge_id == challenge_id)
        .order_by(ChallengeExpert.assigned_at, ChallengeExpert.expert_user_id)
    )
    return [(expert, user) for expert, user in rows.all()]


async def get_panel_member(
    session: AsyncSession, challenge_id: uuid.UUID, user_id: uuid.UUID | None
) -> ChallengeExpert | None:
    if user_id is None:
        return None
    return await session.get(ChallengeExpert, (challenge_id, user_id))


async def get_expert_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    user: User | None = await session.scalar(
        select(User).where(User.id == user_id, User.is_active.is_(True), User.roles.contains([Role.expert.value]))
    )
    return user


async def conflicts(session: AsyncSession, challenge_id: uuid.UUID) -> list[ChallengeConflict]:
    return list(
        (
            await session.scalars(
                select(ChallengeConflict)
                .where(ChallengeConflict.challenge_id == challenge_id)
                .order_by(ChallengeConflict.declared_at)
            )
        ).all()
    )


async def get_conflict(
    session: AsyncSession, application_id: uuid.UUID, expert_user_id: uuid.UUID
) -> ChallengeConflict | None:
    return await session.get(ChallengeConflict, (application_id, expert_user_id))


async def get_score(
    session: AsyncSession, application_id: uuid.UUID, expert_user_id: uuid.UUID, *, for_update: bool = False
) -> ChallengeScore | None:
    statement = select(ChallengeScore).where(
        ChallengeScore.application_id == application_id, ChallengeScore.expert_user_id == expert_user_id
    )
    if for_update:
        statement = statement.with_for_update()
    score: ChallengeScore | None = await session.scalar(statement)
    return score


async def scores_of_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> list[ChallengeScore]:
    return list(
        (
            await session.scalars(
                select(ChallengeScore)
                .where(ChallengeScore.challenge_id == challenge_id)
                .order_by(ChallengeScore.created_at, ChallengeScore.id)
            )
        ).all()
    )


def readable_scores(principal: Principal, application_id: uuid.UUID) -> Select[Any]:
    statement = select(ChallengeScore).where(ChallengeScore.application_id == application_id)
    if principal.is_platform_admin or principal.has_role(Role.official):
        return statement
    if principal.user_id is not None and principal.has_role(Role.expert):
        return statement.where(ChallengeScore.expert_user_id == principal.user_id)
    return statement.where(false())


# --- 公示 ----------------------------------------------------------------------------------------------------


def objections_of(challenge_id: uuid.UUID) -> Select[Any]:
    return select(ChallengeObjection).where(ChallengeObjection.challenge_id == challenge_id)


async def get_objection(
    session: AsyncSession, challenge_id: uuid.UUID, objection_id: uuid.UUID, *, for_update: bool = False
) -> ChallengeObjection | None:
    statement = objections_of(challenge_id).where(ChallengeObjection.id == objection_id)
    if for_update:
        statement = statement.with_for_update()
    objection: ChallengeObjection | None = await session.scalar(statement)
    return objection


async def has_open_objection(session: AsyncSession, challenge_id: uuid.UUID, application_id: uuid.UUID) -> bool:
    """Open objections against the proposed winner (those against an earlier proposal no longer block)."""
    found = await session.scalar(
        objections_of(challenge_id)
        .with_only_columns(ChallengeObjection.id)
        .where(
            ChallengeObjection.status == ObjectionStatus.open.value,
            ChallengeObjection.application_id == application_id,
        )
        .limit(1)
    )
    return found is not None


# --- delivery and money ------------------------------------------------------------------------------------


async def milestones(
    session: AsyncSession, challenge_id: uuid.UUID, *, for_update: bool = False
) -> list[ChallengeMilestone]:
    statement = (
        select(ChallengeMilestone)
        .where(ChallengeMilestone.challenge_id == challenge_id)
        .order_by(ChallengeMilestone.sequence)
    )
    if for_update:
        statement = statement.with_for_update()
    return list((await session.scalars(statement)).all())


async def get_escrow(
    session: AsyncSession, challenge_id: uuid.UUID, *, for_update: bool = False
) -> ChallengeEscrow | None:
    statement = select(ChallengeEscrow).where(ChallengeEscrow.challenge_id == challenge_id)
    if for_update:
        statement = statement.with_for_update()
    escrow: ChallengeEscrow | None = await session.scalar(statement)
    return escrow


async def movements(session: AsyncSession, challenge_id: uuid.UUID) -> list[ChallengeMoneyMovement]:
    return list(
        (
            await session.scalars(
                select(ChallengeMoneyMovement)
                .where(ChallengeMoneyMovement.challenge_id == challenge_id)
                .order_by(ChallengeMoneyMovement.id)
            )
        ).all()
    )


async def subsidy_tranches(
    session: AsyncSession, challenge_id: uuid.UUID, *, for_update: bool = False
) -> list[ChallengeSubsidyTranche]:
    statement = (
        select(ChallengeSubsidyTranche)
        .where(ChallengeSubsidyTranche.challenge_id == challenge_id)
        .order_by(case((ChallengeSubsidyTranche.kind == SubsidyTrancheKind.first.value, 0), else_=1))
    )
    if for_update:
        statement = statement.with_for_update()
    return list((await session.scalars(statement)).all())


# --- subsidy programmes ------------------------------------------------------------------------------------


def programmes() -> Select[Any]:
    return select(SubsidyProgramme)


async def get_programme(
    session: AsyncSession, programme_id: uuid.UUID, *, for_update: bool = False
) -> SubsidyProgramme | None:
    statement = programmes().where(SubsidyProgramme.id == programme_id)
    if for_update:
        statement = statement.with_for_update()
    programme: SubsidyProgramme | None = await session.scalar(statement)
    return programme


async def programme_name_taken(session: AsyncSession, name: str, other_than: uuid.UUID | None = None) -> bool:
    statement = select(SubsidyProgramme.id).where(SubsidyProgramme.name == name)
    if other_than is not None:
        statement = statement.where(SubsidyProgramme.id != other_than)
    return await session.scalar(statement) is not None
