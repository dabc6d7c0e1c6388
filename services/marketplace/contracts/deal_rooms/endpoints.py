"""HTTP routes of deal rooms. Only participants see a room; everyone else gets 404."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts import repository as contracts_repo
from services.marketplace.contracts.deal_rooms import repository as repo
from services.marketplace.contracts.deal_rooms import service
from services.marketplace.contracts.deal_rooms.schemas import (
    BrokerInvitation,
    DealRoomCreate,
    DealRoomRead,
    MessageCreate,
    MessageRead,
    OfferAcceptance,
    OfferCreate,
    OfferRead,
)
from services.marketplace.contracts.schemas import ContractRead
from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import PrincipalDep
from services.marketplace.kit.errors import problem_responses
from services.marketplace.kit.idempotency import IdempotencyDep
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import DealRoom, DealRoomMessage, DealRoomOffer

READ_ERRORS = problem_responses(401, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

router = APIRouter(prefix="/v1/deal-rooms", tags=["deal-rooms"])


async def _read_rooms(session: AsyncSession, rooms: list[DealRoom]) -> list[DealRoomRead]:
    brokers = await repo.broker_ids_of(session, rooms)
    return [
        DealRoomRead.model_validate(room).model_copy(update={"broker_ids": brokers.get(room.id, [])}) for room in rooms
    ]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DealRoomRead, responses=WRITE_ERRORS)
async def open_deal_room(
    body: DealRoomCreate, session: SessionDep, principal: PrincipalDep, idempotency: IdempotencyDep
) -> Response:
    """Open a negotiation with another verified organisation, optionally about an achievement or a demand."""
    room = await service.open_room(session, principal, body)
    return await idempotency.respond(status.HTTP_201_CREATED, (await _read_rooms(session, [room]))[0])


@router.get("", responses=problem_responses(401, 422))
async def list_deal_rooms(session: SessionDep, principal: PrincipalDep, page: PageRequestDep) -> Page[DealRoomRead]:
    rows, cursor = await paginate(session, repo.readable_rooms(principal), page, [DealRoom.created_at, DealRoom.id])
    return Page(items=await _read_rooms(session, rows), next_cursor=cursor)


@router.get("/{room_id}", responses=READ_ERRORS)
async def get_deal_room(room_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> DealRoomRead:
    return (await _read_rooms(session, [await service.get_room(session, principal, room_id)]))[0]


@router.post("/{room_id}/brokers", responses=WRITE_ERRORS)
async def invite_deal_room_broker(
    room_id: uuid.UUID, body: BrokerInvitation, session: SessionDep, principal: PrincipalDep
) -> DealRoomRead:
    """Either party invites a certified broker into the negotiation."""
    room = await service.invite_broker(session, principal, room_id, body.broker_id)
    return (await _read_rooms(session, [room]))[0]


@router.post("/{room_id}/close", responses=WRITE_ERRORS)
async def close_deal_room(room_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> DealRoomRead:
    return (await _read_rooms(session, [await service.close_room(session, principal, room_id)]))[0]


@router.get("/{room_id}/messages", responses=READ_ERRORS)
async def list_deal_room_messages(
    room_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, page: PageRequestDep
) -> Page[MessageRead]:
    """Newest first."""
    room = await service.get_room(session, principal, room_id)
    rows, cursor = await paginate(
        session, repo.messages_of(room.id), page, [DealRoomMessage.created_at, DealRoomMessage.id]
    )
    return Page(items=[MessageRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post(
    "/{room_id}/messages", status_code=status.HTTP_201_CREATED, response_model=MessageRead, responses=WRITE_ERRORS
)
async def post_deal_room_message(
    room_id: uuid.UUID,
    body: MessageCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """A message with optional attachment metadata (the files themselves are stored elsewhere)."""
    message = await service.post_message(session, principal, room_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, MessageRead.model_validate(message))


@router.get("/{room_id}/offers", responses=READ_ERRORS)
async def list_deal_room_offers(
    room_id: uuid.UUID, session: SessionDep, principal: PrincipalDep, page: PageRequestDep
) -> Page[OfferRead]:
    """Newest first; at most one is open."""
    room = await service.get_room(session, principal, room_id)
    rows, cursor = await paginate(session, repo.offers_of(room.id), page, [DealRoomOffer.created_at, DealRoomOffer.id])
    return Page(items=[OfferRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/{room_id}/offers", status_code=status.HTTP_201_CREATED, response_model=OfferRead, responses=WRITE_ERRORS)
async def make_deal_room_offer(
    room_id: uuid.UUID,
    body: OfferCreate,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """An offer by one party; it counters the other side's open offer or replaces one's own."""
    offer = await service.make_offer(session, principal, room_id, body)
    return await idempotency.respond(status.HTTP_201_CREATED, OfferRead.model_validate(offer))


@router.post(
    "/{room_id}/offers/{offer_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=OfferAcceptance,
    responses=WRITE_ERRORS,
)
async def accept_deal_room_offer(
    room_id: uuid.UUID,
    offer_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    idempotency: IdempotencyDep,
) -> Response:
    """The other side accepts: a contract draft is created, pre-filled with the parties, price, type and terms."""
    offer, contract = await service.accept_offer(session, principal, room_id, offer_id)
    signatures = await contracts_repo.current_signatures(session, contract)
    body = OfferAcceptance(offer=OfferRead.model_validate(offer), contract=ContractRead.build(contract, signatures))
    return await idempotency.respond(status.HTTP_201_CREATED, body)


@router.post("/{room_id}/offers/{offer_id}/decline", responses=WRITE_ERRORS)
async def decline_deal_room_offer(
    room_id: uuid.UUID, offer_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> OfferRead:
    return OfferRead.model_validate(await service.decline_offer(session, principal, room_id, offer_id))


@router.post("/{room_id}/offers/{offer_id}/withdraw", responses=WRITE_ERRORS)
async def withdraw_deal_room_offer(
    room_id: uuid.UUID, offer_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> OfferRead:
    return OfferRead.model_validate(await service.withdraw_offer(session, principal, room_id, offer_id))
