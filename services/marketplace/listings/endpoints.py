"""HTTP routes of achievements and demands. The lifecycle routes are the same for both kinds and built once."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from pydantic import BaseModel
from sqlalchemy import func, select

from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import OptionalPrincipalDep, PrincipalDep
from services.marketplace.kit.errors import NotFound, problem_responses
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.listings import imports, service
from services.marketplace.listings import repository as repo
from services.marketplace.listings.schemas import (
    AchievementCreate,
    AchievementQuery,
    AchievementRead,
    AchievementUpdate,
    ContactDetails,
    ContactRead,
    ContactRequestCreate,
    ContactRequestRead,
    CountRead,
    DemandCreate,
    DemandQuery,
    DemandRead,
    DemandUpdate,
    ImportJobRead,
    ReviewComment,
    RevisionRead,
)
from services.marketplace.listings.specs import ACHIEVEMENTS, DEMANDS, ListingSpec
from services.marketplace.models import Achievement, ContactRequest, Demand, ImportJob

READ_ERRORS = problem_responses(401, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

achievements_router = APIRouter(prefix="/v1/achievements", tags=["achievements"])
demands_router = APIRouter(prefix="/v1/demands", tags=["demands"])
contact_requests_router = APIRouter(prefix="/v1/contact-requests", tags=["contact-requests"])
import_jobs_router = APIRouter(prefix="/v1/import-jobs", tags=["import-jobs"])
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def add_lifecycle_routes(router: APIRouter, spec: ListingSpec, read_model: type[BaseModel]) -> None:
    """Routes whose shape is the same for every listing kind; only the response model differs."""

    def read(listing: Any) -> BaseModel:
        return read_model.model_validate(listing)

    @router.get("/{listing_id}", response_model=read_model, responses=READ_ERRORS)
    async def get_listing(listing_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipalDep) -> Any:
        return read(await service.get_listing(session, principal, spec, listing_id))

    @router.post("/{listing_id}/submit", response_model=read_model, responses=WRITE_ERRORS)
    async def submit_listing(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
        """Send a draft, a returned or an expired listing to platform review."""
        return read(await service.transition(session, principal, spec, listing_id, "submit"))

    @router.post("/{listing_id}/approve", response_model=read_model, responses=WRITE_ERRORS)
    async def approve_listing(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
        """Platform review: publish a submitted listing."""
        return read(await service.transition(session, principal, spec, listing_id, "approve"))

    @router.post("/{listing_id}/return", response_model=read_model, responses=WRITE_ERRORS)
    async def return_listing(
        listing_id: uuid.UUID, body: ReviewComment, session: SessionDep, principal: PrincipalDep
    ) -> Any:
        """Platform review: send a submitted listing back to its owner with comments."""
        return read(await service.transition(session, principal, spec, listing_id, "return", body.comment))

    @router.post("/{listing_id}/withdraw", response_model=read_model, responses=WRITE_ERRORS)
    async def withdraw_listing(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
        return read(await service.transition(session, principal, spec, listing_id, "withdraw"))

    @router.post("/{listing_id}/reverify", response_model=read_model, responses=WRITE_ERRORS)
    async def reverify_listing(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> Any:
        """The owner confirms the published listing is still accurate."""
        return read(await service.reverify(session, principal, spec, listing_id))

    @router.get("/{listing_id}/revision", responses=READ_ERRORS)
    async def get_revision(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RevisionRead:
        """The pending edit of a published listing (owner and reviewers)."""
        return RevisionRead.model_validate(await service.get_open_revision(session, principal, spec, listing_id))

    @router.post("/{listing_id}/revision/approve", responses=WRITE_ERRORS)
    async def approve_revision(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> RevisionRead:
        revision = await service.review_revision(session, principal, spec, listing_id, approve=True, comment=None)
        return RevisionRead.model_validate(revision)

    @router.post("/{listing_id}/revision/return", responses=WRITE_ERRORS)
    async def return_revision(
        listing_id: uuid.UUID, body: ReviewComment, session: SessionDep, principal: PrincipalDep
    ) -> RevisionRead:
        revision = await service.review_revision(
            session, principal, spec, listing_id, approve=False, comment=body.comment
        )
        return RevisionRead.model_validate(revision)

    @router.put("/{listing_id}/contact", responses=WRITE_ERRORS)
    async def set_contact(
        listing_id: uuid.UUID, body: ContactDetails, session: SessionDep, principal: PrincipalDep
    ) -> ContactRead:
        return ContactRead.model_validate(await service.set_contact(session, principal, spec, listing_id, body))

    @router.get("/{listing_id}/contact", responses=problem_responses(401, 403, 404, 422))
    async def get_contact(listing_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ContactRead:
        """The owner's contact person: for the owner, or for an organisation whose request was accepted."""
        return ContactRead.model_validate(await service.reveal_contact(session, principal, spec, listing_id))

    @router.post("/{listing_id}/contact-requests", status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
    async def request_contact(
        listing_id: uuid.UUID, body: ContactRequestCreate, session: SessionDep, principal: PrincipalDep
    ) -> ContactRequestRead:
        request = await service.request_contact(session, principal, spec, listing_id, body.message)
        return ContactRequestRead.model_validate(request)


@achievements_router.post("", status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def create_achievement(body: AchievementCreate, session: SessionDep, principal: PrincipalDep) -> AchievementRead:
    """Create a draft achievement; submit it for review to publish it."""
    return AchievementRead.model_validate(await service.create_listing(session, principal, ACHIEVEMENTS, body))


@achievements_router.get("", responses=READ_ERRORS)
async def list_achievements(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    page: PageRequestDep,
    query: Annotated[AchievementQuery, Query()],
) -> Page[AchievementRead]:
    viewer = await repo.load_viewer(session, principal)
    statement = repo.filter_achievements(repo.readable(ACHIEVEMENTS, viewer), query, principal)
    key = {"created_at": Achievement.created_at, "trl": Achievement.trl, "valid_until": Achievement.valid_until}[
        query.sort.lstrip("-")
    ]
    rows, cursor = await paginate(
        session, statement, page, [key, Achievement.id], descending=query.sort.startswith("-")
    )
    return Page(items=[AchievementRead.model_validate(row) for row in rows], next_cursor=cursor)


@achievements_router.get("/count", responses=READ_ERRORS)
async def count_achievements(
    session: SessionDep, principal: OptionalPrincipalDep, query: Annotated[AchievementQuery, Query()]
) -> CountRead:
    viewer = await repo.load_viewer(session, principal)
    statement = repo.filter_achievements(repo.readable(ACHIEVEMENTS, viewer), query, principal)
    return CountRead(count=await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


@achievements_router.patch("/{listing_id}", responses=WRITE_ERRORS)
async def update_achievement(
    listing_id: uuid.UUID, body: AchievementUpdate, session: SessionDep, principal: PrincipalDep
) -> AchievementRead:
    """Edit a draft in place; edits of a published achievement become a revision for review."""
    listing = await service.update_listing(session, principal, ACHIEVEMENTS, listing_id, body)
    return AchievementRead.model_validate(listing)


@demands_router.post("", status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS)
async def create_demand(body: DemandCreate, session: SessionDep, principal: PrincipalDep) -> DemandRead:
    """Create a draft demand; submit it for review to publish it."""
    return DemandRead.model_validate(await service.create_listing(session, principal, DEMANDS, body))


@demands_router.get("", responses=READ_ERRORS)
async def list_demands(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    page: PageRequestDep,
    query: Annotated[DemandQuery, Query()],
) -> Page[DemandRead]:
    """Demands the caller may see: confidential ones only for verified members or brokers, as the poster chose."""
    viewer = await repo.load_viewer(session, principal)
    statement = repo.filter_demands(repo.readable(DEMANDS, viewer), query, principal)
    key = {"created_at": Demand.created_at, "deadline": Demand.deadline}[query.sort.lstrip("-")]
    rows, cursor = await paginate(session, statement, page, [key, Demand.id], descending=query.sort.startswith("-"))
    return Page(items=[DemandRead.model_validate(row) for row in rows], next_cursor=cursor)


@demands_router.get("/count", responses=READ_ERRORS)
async def count_demands(
    session: SessionDep, principal: OptionalPrincipalDep, query: Annotated[DemandQuery, Query()]
) -> CountRead:
    viewer = await repo.load_viewer(session, principal)
    statement = repo.filter_demands(repo.readable(DEMANDS, viewer), query, principal)
    return CountRead(count=await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


@demands_router.patch("/{listing_id}", responses=WRITE_ERRORS)
async def update_demand(
    listing_id: uuid.UUID, body: DemandUpdate, session: SessionDep, principal: PrincipalDep
) -> DemandRead:
    return DemandRead.model_validate(await service.update_listing(session, principal, DEMANDS, listing_id, body))


@contact_requests_router.get("", responses=problem_responses(401, 422))
async def list_contact_requests(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageRequestDep,
    direction: Annotated[str, Query(pattern="^(incoming|outgoing)$")] = "incoming",
) -> Page[ContactRequestRead]:
    """Requests for the caller's organisation's listings (incoming) or sent by it (outgoing)."""
    statement = repo.readable_contact_requests(principal, direction)
    rows, cursor = await paginate(session, statement, page, [ContactRequest.created_at, ContactRequest.id])
    return Page(items=[ContactRequestRead.model_validate(row) for row in rows], next_cursor=cursor)


@contact_requests_router.post("/{request_id}/accept", responses=WRITE_ERRORS)
async def accept_contact_request(
    request_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ContactRequestRead:
    """Reveal the listing's contact to the requesting organisation only."""
    request = await service.decide_contact_request(session, principal, request_id, accept=True)
    return ContactRequestRead.model_validate(request)


@contact_requests_router.post("/{request_id}/decline", responses=WRITE_ERRORS)
async def decline_contact_request(
    request_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ContactRequestRead:
    request = await service.decide_contact_request(session, principal, request_id, accept=False)
    return ContactRequestRead.model_validate(request)


@achievements_router.get(
    "/import-template",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}, "text/csv": {}}, "description": "导入模板"}},
)
async def download_import_template(
    file_format: Annotated[Literal["xlsx", "csv"], Query(alias="format")] = "xlsx",
) -> Response:
    """The spreadsheet template for bulk import, with one example row."""
    if file_format == "csv":
        return Response(
            imports.template_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="achievements-template.csv"'},
        )
    return Response(
        imports.template_xlsx(),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="achievements-template.xlsx"'},
    )


@achievements_router.post(
    "/import",
    responses={202: {"model": ImportJobRead, "description": "文件较大，已排队处理，请轮询任务状态"}, **WRITE_ERRORS},
)
async def import_achievements(
    file: Annotated[UploadFile, File(description=".xlsx 或 .csv，表头与模板一致")],
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    all_or_nothing: Annotated[bool, Form(description="有任何错误行时不导入任何行")] = False,
) -> ImportJobRead:
    """Import achievements as drafts; the result lists row-level errors (row, column, message)."""
    content = await file.read()
    job = await imports.start_import(
        session, principal, file.filename or "upload", content, all_or_nothing=all_or_nothing
    )
    if job.status == "queued":
        response.status_code = status.HTTP_202_ACCEPTED
    return ImportJobRead.model_validate(job)


@import_jobs_router.get("/{job_id}", responses=READ_ERRORS)
async def get_import_job(job_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ImportJobRead:
    job = await session.scalar(
        select(ImportJob).where(ImportJob.id == job_id, ImportJob.organisation_id == principal.organisation_id)
    )
    if job is None:
        raise NotFound("导入任务不存在")
    return ImportJobRead.model_validate(job)


# The fixed paths (/count) are registered above; the shared /{listing_id} routes come after them.
add_lifecycle_routes(achievements_router, ACHIEVEMENTS, AchievementRead)
add_lifecycle_routes(demands_router, DEMANDS, DemandRead)

routers = [achievements_router, demands_router, contact_requests_router, import_jobs_router]
