"""HTTP routes of technology contracts, their registration and amendments."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts import registration, service
from services.marketplace.contracts import repository as repo
from services.marketplace.contracts.brokers.endpoints import router as brokers_router
from services.marketplace.contracts.deal_rooms.endpoints import router as deal_rooms_router
from services.marketplace.contracts.schemas import (
    AmendmentCreate,
    AmendmentRead,
    AmendmentRejectRequest,
    ContractCreate,
    ContractQuery,
    ContractRead,
    ContractUpdate,
    OfflineSignatureRequest,
    RejectRequest,
    SignRequest,
)
from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import PrincipalDep
from services.marketplace.kit.errors import problem_responses
from services.marketplace.kit.idempotency import IdempotencyDep
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import Contract

READ_ERRORS = problem_responses(401, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


async def _read(session: AsyncSession, contract: Contract) -> ContractRead:
    return ContractRead.build(contract, await repo.current_signatures(session, contract))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ContractRead, responses=WRITE_ERRORS)
async def create_contract(
    body: ContractCreate, session: SessionDep, principal: PrincipalDep, idempotency: IdempotencyDep
) -> Response:
    """Draft a contract: by a member of one of the parties, or by a certified broker (then its broker)."""
    contract = await service.create_contract(session, principal, body)
    return await idempotency.respond(status.HTTP_201_CREATED, await _read(session, contract))


@router.get("", responses=READ_ERRORS)
async def list_contracts(
    session: SessionDep, principal: PrincipalDep, page: PageRequestDep, query: Annotated[ContractQuery, Query()]
) -> Page[ContractRead]:
    """What the caller may see: its organisation's, those it brokers, a registrar's queue, officials' registered."""
    statement = repo.readable_contracts(principal)
    if query.status is not None:
        statement = statement.where(Contract.status == query.status.value)
    rows, cursor = await paginate(session, statement, page, [Contract.created_at, Contract.id])
    signatures = await repo.current_signatures_of(session, rows)
    return Page(items=[ContractRead.build(row, signatures.get(row.id, [])) for row in rows], next_cursor=cursor)


@router.get("/{contract_id}", responses=READ_ERRORS)
async def get_contract(contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ContractRead:
    return await _read(session, await service.get_contract(session, principal, contract_id))


@router.patch("/{contract_id}", responses=WRITE_ERRORS)
async def update_contract(
    contract_id: uuid.UUID, body: ContractUpdate, session: SessionDep, principal: PrincipalDep
) -> ContractRead:
    """Edit a contract before submission. Each edit is a new version: signatures already given lapse."""
    return await _read(session, await service.update_contract(session, principal, contract_id, body))


@router.post("/{contract_id}/request-signatures", responses=WRITE_ERRORS)
async def request_contract_signatures(
    contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ContractRead:
    """Declare the draft complete; 422 lists what a registrar would miss."""
    return await _read(session, await service.request_signatures(session, principal, contract_id))


@router.post("/{contract_id}/sign", responses=WRITE_ERRORS)
async def sign_contract(
    contract_id: uuid.UUID, body: SignRequest, session: SessionDep, principal: PrincipalDep
) -> ContractRead:
    """A party's org_admin signs the exact ``version`` read; another version is a 409."""
    return await _read(session, await service.sign_contract(session, principal, contract_id, body.version))


@router.post("/{contract_id}/offline-signatures", responses=WRITE_ERRORS)
async def record_offline_signature(
    contract_id: uuid.UUID, body: OfflineSignatureRequest, session: SessionDep, principal: PrincipalDep
) -> ContractRead:
    """The platform party's org_admin records that the outside party signed this version on paper."""
    contract = await service.record_offline_signature(
        session, principal, contract_id, body.side, body.version, body.note
    )
    return await _read(session, contract)


@router.post("/{contract_id}/submit", responses=WRITE_ERRORS)
async def submit_contract(contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ContractRead:
    """Submit a signed (or rejected and unchanged) contract for 认定登记: the seller, or the buyer of an import."""
    return await _read(session, await registration.submit_contract(session, principal, contract_id))


@router.post("/{contract_id}/register", responses=WRITE_ERRORS)
async def register_contract(contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ContractRead:
    """A registrar accepts the contract: a 16-digit registration number and today's registration date."""
    return await _read(session, await registration.register_contract(session, principal, contract_id))


@router.post("/{contract_id}/reject", responses=WRITE_ERRORS)
async def reject_contract(
    contract_id: uuid.UUID, body: RejectRequest, session: SessionDep, principal: PrincipalDep
) -> ContractRead:
    """A registrar refuses the contract with its reasons; the parties correct it and submit again."""
    contract = await registration.reject_contract(session, principal, contract_id, body.reasons, body.comment)
    return await _read(session, contract)


@router.post("/{contract_id}/start-performance", responses=WRITE_ERRORS)
async def start_contract_performance(
    contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ContractRead:
    return await _read(session, await service.start_performance(session, principal, contract_id))


@router.post("/{contract_id}/complete", responses=WRITE_ERRORS)
async def complete_contract(contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ContractRead:
    return await _read(session, await service.complete_contract(session, principal, contract_id))


@router.post("/{contract_id}/cancel", responses=WRITE_ERRORS)
async def cancel_contract(contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> ContractRead:
    """Abandon a contract that was never registered."""
    return await _read(session, await service.cancel_contract(session, principal, contract_id))


@router.get("/{contract_id}/amendments", responses=READ_ERRORS)
async def list_contract_amendments(
    contract_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> list[AmendmentRead]:
    return [
        AmendmentRead.model_validate(row) for row in await registration.list_amendments(session, principal, contract_id)
    ]


@router.post(
    "/{contract_id}/amendments",
    status_code=status.HTTP_201_CREATED,
    response_model=AmendmentRead,
    responses=WRITE_ERRORS,
)
async def propose_contract_amendment(
    contract_id: uuid.UUID,
    body: AmendmentCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """Change a registered contract's amounts or terminate it; it counts once registered, from that date."""
    amendment = await registration.propose_amendment(session, principal, contract_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, AmendmentRead.model_validate(amendment))


@router.post("/{contract_id}/amendments/{amendment_id}/confirm", responses=WRITE_ERRORS)
async def confirm_contract_amendment(
    contract_id: uuid.UUID, amendment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> AmendmentRead:
    """The other party's org_admin agrees; the amendment goes to the registrar."""
    amendment = await registration.confirm_amendment(session, principal, contract_id, amendment_id)
    return AmendmentRead.model_validate(amendment)


@router.post("/{contract_id}/amendments/{amendment_id}/withdraw", responses=WRITE_ERRORS)
async def withdraw_contract_amendment(
    contract_id: uuid.UUID, amendment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> AmendmentRead:
    amendment = await registration.withdraw_amendment(session, principal, contract_id, amendment_id)
    return AmendmentRead.model_validate(amendment)


@router.post("/{contract_id}/amendments/{amendment_id}/register", responses=WRITE_ERRORS)
async def register_contract_amendment(
    contract_id: uuid.UUID, amendment_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> AmendmentRead:
    amendment = await registration.register_amendment(session, principal, contract_id, amendment_id)
    return AmendmentRead.model_validate(amendment)


@router.post("/{contract_id}/amendments/{amendment_id}/reject", responses=WRITE_ERRORS)
async def reject_contract_amendment(
    contract_id: uuid.UUID,
    amendment_id: uuid.UUID,
    body: AmendmentRejectRequest,
    session: SessionDep,
    principal: PrincipalDep,
) -> AmendmentRead:
    amendment = await registration.reject_amendment(session, principal, contract_id, amendment_id, body.comment)
    return AmendmentRead.model_validate(amendment)


routers = [router, deal_rooms_router, brokers_router]
