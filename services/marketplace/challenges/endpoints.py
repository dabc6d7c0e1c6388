"""HTTP routes of 揭榜挂帅 challenges, their applications, review, 公示, delivery, money, and subsidy programmes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.marketplace.audit.schemas import AuditEventRead
from services.marketplace.challenges import applications, delivery, programmes, review, service
from services.marketplace.challenges import repository as repo
from services.marketplace.challenges.schemas import (
    AcceptanceDecision,
    ApplicationCreate,
    ApplicationRead,
    ApplicationUpdate,
    ChallengeCreate,
    ChallengeQuery,
    ChallengeRead,
    ChallengeUpdate,
    ConflictDeclaration,
    ConflictRead,
    ContractLink,
    EscrowRead,
    ExpertAssign,
    ExpertRead,
    MilestoneDelivery,
    MilestoneRead,
    MoneyRead,
    MovementRead,
    ObjectionCreate,
    ObjectionRead,
    ObjectionResolve,
    ProgrammeCreate,
    ProgrammeRead,
    ProgrammeUpdate,
    PublicNoticeRequest,
    RankingEntry,
    RankingRead,
    ReasonRequest,
    ReviewComment,
    ScoreInput,
    ScoreRead,
    ShortlistRequest,
    SubsidyTrancheRead,
)
from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import OptionalPrincipalDep, PrincipalDep
from services.marketplace.kit.errors import Unauthorized, problem_responses
from services.marketplace.kit.idempotency import IdempotencyDep
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import AuditEvent, Challenge, SubsidyProgramme, User

READ_ERRORS = problem_responses(401, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
RESTRICTED_READ_ERRORS = problem_responses(401, 403, 404, 409, 422)

router = APIRouter(prefix="/v1/challenges", tags=["challenges"])
programmes_router = APIRouter(prefix="/v1/subsidy-programmes", tags=["subsidy-programmes"])


# --- subsidy programmes ------------------------------------------------------------------------------------


@programmes_router.get("", responses=READ_ERRORS)
async def list_subsidy_programmes(
    session: SessionDep, principal: OptionalPrincipalDep, page: PageRequestDep
) -> Page[ProgrammeRead]:
    """Every programme, active or not (the terms are public policy)."""
    rows, cursor = await paginate(session, repo.programmes(), page, [SubsidyProgramme.created_at, SubsidyProgramme.id])
    return Page(items=[ProgrammeRead.model_validate(row) for row in rows], next_cursor=cursor)


@programmes_router.post("", status_code=status.HTTP_201_CREATED, response_model=ProgrammeRead, responses=WRITE_ERRORS)
async def create_subsidy_programme(
    body: ProgrammeCreate, session: SessionDep, principal: PrincipalDep, idempotency: IdempotencyDep
) -> Response:
    """Officials define a programme: rate of the poster's payments, cap, first-tranche share, payee."""
    programme = await programmes.create_programme(session, principal, body)
    return await idempotency.respond(status.HTTP_201_CREATED, ProgrammeRead.model_validate(programme))


@programmes_router.get("/{programme_id}", responses=READ_ERRORS)
async def get_subsidy_programme(
    programme_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipalDep
) -> ProgrammeRead:
    return ProgrammeRead.model_validate(await programmes.get_programme(session, programme_id))


@programmes_router.patch("/{programme_id}", responses=WRITE_ERRORS)
async def update_subsidy_programme(
    programme_id: uuid.UUID, body: ProgrammeUpdate, session: SessionDep, principal: PrincipalDep
) -> ProgrammeRead:
    """Applies to challenges published afterwards; published challenges keep their announced terms."""
    return ProgrammeRead.model_validate(await programmes.update_programme(session, principal, programme_id, body))


# --- challenges --------------------------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChallengeRead, responses=WRITE_ERRORS)
async def create_challenge(
    body: ChallengeCreate, session: SessionDep, principal: PrincipalDep, idempotency: IdempotencyDep
) -> Response:
    """Draft a challenge (发榜): an administrator or member of an enterprise or government body."""
    challenge = await service.create_challenge(session, principal, body)
    return await idempotency.respond(status.HTTP_201_CREATED, ChallengeRead.build(challenge))


@router.get("", responses=READ_ERRORS)
async def list_challenges(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    page: PageRequestDep,
    query: Annotated[ChallengeQuery, Query()],
) -> Page[ChallengeRead]:
    """Published challenges for everyone; the caller's own organisation's in every status."""
    statement = repo.readable_challenges(principal)
    if query.status is not None:
        statement = statement.where(Challenge.status == query.status.value)
    if query.mine:
        if principal is None:
            raise Unauthorized("需要登录才能查看本机构的榜单")
        statement = statement.where(Challenge.organisation_id == principal.organisation_id)
    rows, cursor = await paginate(session, statement, page, [Challenge.created_at, Challenge.id])
    return Page(items=[ChallengeRead.build(row) for row in rows], next_cursor=cursor)


@router.get("/{challenge_id}", responses=READ_ERRORS)
async def get_challenge(challenge_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipalDep) -> ChallengeRead:
    return ChallengeRead.build(await service.get_challenge(session, principal, challenge_id))


@router.patch("/{challenge_id}", responses=WRITE_ERRORS)
async def update_challenge(
    challenge_id: uuid.UUID, body: ChallengeUpdate, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """Edit a draft, returned or unclaimed (流榜) challenge; objects such as ``eligibility`` replace the whole."""
    return ChallengeRead.build(await service.update_challenge(session, principal, challenge_id, body))


@router.post("/{challenge_id}/submit", responses=WRITE_ERRORS)
async def submit_challenge(challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ChallengeRead:
    """Send to platform review (again, after a return or after 流榜)."""
    return ChallengeRead.build(await service.submit_challenge(session, principal, challenge_id))


@router.post("/{challenge_id}/approve", responses=WRITE_ERRORS)
async def approve_challenge(challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ChallengeRead:
    """Platform review publishes: the public code is assigned and the subsidy terms are locked."""
    return ChallengeRead.build(await service.approve_challenge(session, principal, challenge_id))


@router.post("/{challenge_id}/return", responses=WRITE_ERRORS)
async def return_challenge(
    challenge_id: uuid.UUID, body: ReviewComment, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    return ChallengeRead.build(await service.return_challenge(session, principal, challenge_id, body.comment))


@router.post("/{challenge_id}/cancel", responses=WRITE_ERRORS)
async def cancel_challenge(
    challenge_id: uuid.UUID, body: ReasonRequest, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """The poster withdraws the challenge before the award, with a reason every applicant sees."""
    return ChallengeRead.build(await service.cancel_challenge(session, principal, challenge_id, body.reason))


@router.get("/{challenge_id}/audit-trail", responses=RESTRICTED_READ_ERRORS)
async def get_challenge_audit_trail(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, page: PageRequestDep
) -> Page[AuditEventRead]:
    """Every step, score and decision of the challenge and its applications: platform staff and officials."""
    statement = await service.audit_trail(session, principal, challenge_id)
    rows, cursor = await paginate(session, statement, page, [AuditEvent.id], descending=False)
    return Page(items=[AuditEventRead.model_validate(row) for row in rows], next_cursor=cursor)


# --- expert review and 公示 ---------------------------------------------------------------------------------


@router.get("/{challenge_id}/experts", responses=RESTRICTED_READ_ERRORS)
async def list_challenge_experts(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[ExpertRead]:
    return [
        _expert_read(member.expert_user_id, member.expert_organisation_id, user, member.assigned_at)
        for member, user in await review.list_panel(session, principal, challenge_id)
    ]


def _expert_read(expert_id: uuid.UUID, organisation_id: uuid.UUID, user: User, assigned_at: object) -> ExpertRead:
    return ExpertRead.model_validate(
        {
            "expert_id": expert_id,
            "organisation_id": organisation_id,
            "display_name": user.display_name,
            "assigned_at": assigned_at,
        }
    )


@router.post("/{challenge_id}/experts", status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def assign_challenge_expert(
    challenge_id: uuid.UUID, body: ExpertAssign, session: SessionDep, principal: PrincipalDep
) -> ExpertRead:
    """Platform staff add a user with the ``expert`` role to the review panel."""
    member, user = await review.assign_expert(session, principal, challenge_id, body.expert_id)
    return _expert_read(member.expert_user_id, member.expert_organisation_id, user, member.assigned_at)


@router.get("/{challenge_id}/conflicts", responses=RESTRICTED_READ_ERRORS)
async def list_challenge_conflicts(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[ConflictRead]:
    return [ConflictRead.model_validate(row) for row in await review.list_conflicts(session, principal, challenge_id)]


@router.post("/{challenge_id}/start-review", responses=WRITE_ERRORS)
async def start_challenge_review(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    return ChallengeRead.build(await review.start_review(session, principal, challenge_id))


@router.get("/{challenge_id}/ranking", responses=RESTRICTED_READ_ERRORS)
async def get_challenge_ranking(challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RankingRead:
    """The panel's ranking by mean weighted score: the poster, platform staff and officials."""
    ranking = await review.get_ranking(session, principal, challenge_id)
    return RankingRead(
        complete=ranking.complete,
        missing_scores=ranking.missing_scores,
        entries=[RankingEntry.model_validate(entry) for entry in ranking.entries],
        recorded=ranking.recorded,
        shortlist_reason=ranking.shortlist_reason,
    )


@router.post("/{challenge_id}/shortlist", responses=WRITE_ERRORS)
async def shortlist_challenge_applications(
    challenge_id: uuid.UUID, body: ShortlistRequest, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """The poster decides the shortlist; the panel's ranking is recorded with the decision."""
    challenge = await review.shortlist(session, principal, challenge_id, body.application_ids, body.reason)
    return ChallengeRead.build(challenge)


@router.post("/{challenge_id}/public-notice", responses=WRITE_ERRORS)
async def start_challenge_public_notice(
    challenge_id: uuid.UUID, body: PublicNoticeRequest, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """The poster names the proposed winner from the shortlist; the 公示 window opens."""
    challenge = await review.start_public_notice(session, principal, challenge_id, body.winner_application_id)
    return ChallengeRead.build(challenge)


@router.get("/{challenge_id}/objections", responses=READ_ERRORS)
async def list_challenge_objections(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[ObjectionRead]:
    return [ObjectionRead.model_validate(row) for row in await review.list_objections(session, principal, challenge_id)]


@router.post("/{challenge_id}/objections", status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def file_challenge_objection(
    challenge_id: uuid.UUID, body: ObjectionCreate, session: SessionDep, principal: PrincipalDep
) -> ObjectionRead:
    """A verified organisation objects to the proposed winner during 公示."""
    return ObjectionRead.model_validate(await review.file_objection(session, principal, challenge_id, body.body))


@router.post("/{challenge_id}/objections/{objection_id}/resolve", responses=WRITE_ERRORS)
async def resolve_challenge_objection(
    challenge_id: uuid.UUID,
    objection_id: uuid.UUID,
    body: ObjectionResolve,
    session: SessionDep,
    principal: PrincipalDep,
) -> ObjectionRead:
    """Platform staff dismiss or uphold; upholding withdraws the proposed winner."""
    objection = await review.resolve_objection(
        session, principal, challenge_id, objection_id, upheld=body.upheld, resolution=body.resolution
    )
    return ObjectionRead.model_validate(objection)


# --- delivery ----------------------------------------------------------------------------------------------


@router.post("/{challenge_id}/contract", responses=WRITE_ERRORS)
async def link_challenge_contract(
    challenge_id: uuid.UUID, body: ContractLink, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """The poster links the signed technology contract and the three-party agreement."""
    return ChallengeRead.build(await delivery.link_contract(session, principal, challenge_id, body))


@router.post("/{challenge_id}/start-delivery", responses=WRITE_ERRORS)
async def start_challenge_delivery(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    return ChallengeRead.build(await delivery.start_delivery(session, principal, challenge_id))


@router.get("/{challenge_id}/milestones", responses=RESTRICTED_READ_ERRORS)
async def list_challenge_milestones(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[MilestoneRead]:
    return [
        MilestoneRead.model_validate(row) for row in await delivery.list_milestones(session, principal, challenge_id)
    ]


@router.post("/{challenge_id}/milestones/{milestone_id}/deliver", responses=WRITE_ERRORS)
async def deliver_challenge_milestone(
    challenge_id: uuid.UUID,
    milestone_id: uuid.UUID,
    body: MilestoneDelivery,
    session: SessionDep,
    principal: PrincipalDep,
) -> MilestoneRead:
    """The winner hands in the milestone's deliverables."""
    milestone = await delivery.deliver_milestone(session, principal, challenge_id, milestone_id, body)
    return MilestoneRead.model_validate(milestone)


@router.post("/{challenge_id}/milestones/{milestone_id}/accept", responses=WRITE_ERRORS)
async def accept_challenge_milestone(
    challenge_id: uuid.UUID, milestone_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> MilestoneRead:
    """The poster accepts a delivered milestone; its tranche is released from escrow to the winner."""
    return MilestoneRead.model_validate(await delivery.accept_milestone(session, principal, challenge_id, milestone_id))


@router.post("/{challenge_id}/milestones/{milestone_id}/return", responses=WRITE_ERRORS)
async def return_challenge_milestone(
    challenge_id: uuid.UUID,
    milestone_id: uuid.UUID,
    body: ReviewComment,
    session: SessionDep,
    principal: PrincipalDep,
) -> MilestoneRead:
    milestone = await delivery.return_milestone(session, principal, challenge_id, milestone_id, body.comment)
    return MilestoneRead.model_validate(milestone)


@router.post("/{challenge_id}/request-acceptance", responses=WRITE_ERRORS)
async def request_challenge_acceptance(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """The winner asks for the acceptance review (again, after rectification)."""
    return ChallengeRead.build(await delivery.request_acceptance(session, principal, challenge_id))


@router.post("/{challenge_id}/acceptance", responses=WRITE_ERRORS)
async def decide_challenge_acceptance(
    challenge_id: uuid.UUID, body: AcceptanceDecision, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """Platform staff record the acceptance review: pass (final tranche and subsidy due) or rectification."""
    challenge = await delivery.decide_acceptance(
        session, principal, challenge_id, passed=body.passed, comment=body.comment
    )
    return ChallengeRead.build(challenge)


@router.post("/{challenge_id}/terminate", responses=WRITE_ERRORS)
async def terminate_challenge(
    challenge_id: uuid.UUID, body: ReasonRequest, session: SessionDep, principal: PrincipalDep
) -> ChallengeRead:
    """End a project in rectification; the escrow's remainder returns to the poster."""
    return ChallengeRead.build(await delivery.terminate(session, principal, challenge_id, body.reason))


@router.post("/{challenge_id}/close", responses=WRITE_ERRORS)
async def close_challenge(challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ChallengeRead:
    return ChallengeRead.build(await delivery.close(session, principal, challenge_id))


@router.get("/{challenge_id}/money", responses=RESTRICTED_READ_ERRORS)
async def get_challenge_money(challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> MoneyRead:
    """Escrow, money movements and subsidy tranches: the poster, the winner, platform staff and officials."""
    escrow, movements, tranches = await delivery.money_of(session, principal, challenge_id)
    return MoneyRead(
        escrow=None
        if escrow is None
        else EscrowRead.model_validate(
            {
                "payer_organisation_id": escrow.payer_organisation_id,
                "payee_organisation_id": escrow.payee_organisation_id,
                "reserved_fen": escrow.reserved_fen,
                "released_fen": escrow.released_fen,
                "refunded_fen": escrow.refunded_fen,
                "held_fen": escrow.reserved_fen - escrow.released_fen - escrow.refunded_fen,
                "status": escrow.status,
                "settlement_reference": escrow.settlement_reference,
            }
        ),
        movements=[MovementRead.model_validate(row) for row in movements],
        subsidy_tranches=[SubsidyTrancheRead.model_validate(row) for row in tranches],
    )


# --- applications ------------------------------------------------------------------------------------------


@router.post(
    "/{challenge_id}/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationRead,
    responses=WRITE_ERRORS,
)
async def create_challenge_application(
    challenge_id: uuid.UUID,
    body: ApplicationCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Draft the organisation's application (揭榜) while the challenge is open; one per organisation."""
    application = await applications.create_application(session, principal, challenge_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, ApplicationRead.model_validate(application))


@router.get("/{challenge_id}/applications", responses=READ_ERRORS)
async def list_challenge_applications(
    challenge_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[ApplicationRead]:
    """The caller's own application; the poster and the panel see submitted ones only after the deadline."""
    _, rows = await applications.list_applications(session, principal, challenge_id)
    return [ApplicationRead.model_validate(row) for row in rows]


@router.get("/{challenge_id}/applications/{application_id}", responses=READ_ERRORS)
async def get_challenge_application(
    challenge_id: uuid.UUID, application_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ApplicationRead:
    application = await applications.read_application(session, principal, challenge_id, application_id)
    return ApplicationRead.model_validate(application)


@router.patch("/{challenge_id}/applications/{application_id}", responses=WRITE_ERRORS)
async def update_challenge_application(
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    body: ApplicationUpdate,
    session: SessionDep,
    principal: PrincipalDep,
) -> ApplicationRead:
    application = await applications.update_application(session, principal, challenge_id, application_id, body)
    return ApplicationRead.model_validate(application)


@router.post("/{challenge_id}/applications/{application_id}/submit", responses=WRITE_ERRORS)
async def submit_challenge_application(
    challenge_id: uuid.UUID, application_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ApplicationRead:
    """Submit or resubmit before the deadline; 422 lists the eligibility rules the organisation does not meet."""
    application = await applications.submit_application(session, principal, challenge_id, application_id)
    return ApplicationRead.model_validate(application)


@router.post("/{challenge_id}/applications/{application_id}/withdraw", responses=WRITE_ERRORS)
async def withdraw_challenge_application(
    challenge_id: uuid.UUID, application_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ApplicationRead:
    application = await applications.withdraw_application(session, principal, challenge_id, application_id)
    return ApplicationRead.model_validate(application)


@router.post("/{challenge_id}/applications/{application_id}/return", responses=WRITE_ERRORS)
async def return_challenge_application(
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    body: ReviewComment,
    session: SessionDep,
    principal: PrincipalDep,
) -> ApplicationRead:
    """The platform's formal check returns an application for revision while the challenge is open."""
    application = await applications.return_application(session, principal, challenge_id, application_id, body.comment)
    return ApplicationRead.model_validate(application)


@router.post("/{challenge_id}/applications/{application_id}/reject", responses=WRITE_ERRORS)
async def reject_challenge_application(
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    body: ReasonRequest,
    session: SessionDep,
    principal: PrincipalDep,
) -> ApplicationRead:
    application = await applications.reject_application(session, principal, challenge_id, application_id, body.reason)
    return ApplicationRead.model_validate(application)


@router.post("/{challenge_id}/applications/{application_id}/conflict", status_code=201, responses=WRITE_ERRORS)
async def declare_challenge_conflict(
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    body: ConflictDeclaration,
    session: SessionDep,
    principal: PrincipalDep,
) -> ConflictRead:
    """A panel expert declares a conflict of interest with the application and steps aside from scoring it."""
    conflict = await review.declare_conflict(session, principal, challenge_id, application_id, body.reason)
    return ConflictRead.model_validate(conflict)


@router.get("/{challenge_id}/applications/{application_id}/scores", responses=RESTRICTED_READ_ERRORS)
async def list_challenge_application_scores(
    challenge_id: uuid.UUID, application_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[ScoreRead]:
    """Every expert's scores for platform staff and officials; a panel expert's own."""
    scores = await review.list_scores(session, principal, challenge_id, application_id)
    return [ScoreRead.model_validate(row) for row in scores]


@router.put("/{challenge_id}/applications/{application_id}/scores", responses=WRITE_ERRORS)
async def score_challenge_application(
    challenge_id: uuid.UUID,
    application_id: uuid.UUID,
    body: ScoreInput,
    session: SessionDep,
    principal: PrincipalDep,
) -> ScoreRead:
    """A panel expert scores every criterion (0–100); scoring again replaces the expert's earlier scores."""
    score = await review.score_application(session, principal, challenge_id, application_id, body)
    return ScoreRead.model_validate(score)


routers = [router, programmes_router]
