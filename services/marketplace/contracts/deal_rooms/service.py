"""Deal-room use cases: open a room, invite brokers, talk, offer and counter-offer, accept into a contract draft."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.contracts import repository as contracts_repo
from services.marketplace.contracts import service as contracts_service
from services.marketplace.contracts.deal_rooms import repository as repo
from services.marketplace.contracts.deal_rooms.policies import RoomAccess, check_is_party
from services.marketplace.contracts.deal_rooms.schemas import DealRoomCreate, MessageCreate, OfferCreate
from services.marketplace.contracts.policies import PARTY_ROLES, other_side
from services.marketplace.contracts.schemas import ContractCreate, PartyInput
from services.marketplace.contracts.specs import DEAL_ROOM_LIFECYCLE, OFFER_CONTRACT_TYPES, OFFER_LIFECYCLE
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.listings import repository as listings_repo
from services.marketplace.listings.specs import ACHIEVEMENTS, DEMANDS
from services.marketplace.models import (
    Contract,
    DealRoom,
    DealRoomBroker,
    DealRoomMessage,
    DealRoomOffer,
    Organisation,
    VerificationStatus,
)
from services.marketplace.models.contracts import ContractStatus, Side
from services.marketplace.models.listings import TransferMode
from services.marketplace.outbox.service import emit_event


async def _record(
    session: AsyncSession,
    principal: Principal,
    room: DealRoom,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit row and ``deal_room.<action>`` event; payloads name the participants, never message bodies."""
    payload = {
        "room_id": str(room.id),
        "seller_organisation_id": str(room.seller_organisation_id),
        "buyer_organisation_id": str(room.buyer_organisation_id),
        "actor_organisation_id": str(principal.organisation_id),
    } | (details or {})
    await record_audit(
        session,
        actor=principal,
        action=f"deal_room.{action}",
        object_type="deal_room",
        object_id=room.id,
        organisation_id=principal.organisation_id,
        after=payload,
    )
    await emit_event(
        session, topic=f"deal_room.{action}", aggregate_type="deal_room", aggregate_id=room.id, payload=payload
    )


async def load_access(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, *, for_update: bool = False
) -> RoomAccess:
    room = await repo.get_readable_room(session, principal, room_id, for_update=for_update)
    if room is None:
        raise NotFound("洽谈室不存在")
    return RoomAccess(principal, room)


async def _check_listing(
    session: AsyncSession,
    principal: Principal,
    data: DealRoomCreate,
    organisations: dict[Side, uuid.UUID],
    errors: list[FieldError],
) -> None:
    viewer = await listings_repo.load_viewer(session, principal)
    for field, spec, side, mismatch in (
        ("achievement_id", ACHIEVEMENTS, Side.seller, "科技成果的所有者须为卖方"),
        ("demand_id", DEMANDS, Side.buyer, "技术需求的发布者须为买方"),
    ):
        listing_id = getattr(data, field)
        if listing_id is None:
            continue
        listing = await listings_repo.get_readable(session, spec, viewer, listing_id)
        if listing is None:
            errors.append(FieldError(loc=["body", field], msg=f"{spec.label}不存在", type="listing_unknown"))
        elif listing.organisation_id != organisations[side]:
            errors.append(FieldError(loc=["body", field], msg=mismatch, type="listing_not_a_party"))


async def open_room(session: AsyncSession, principal: Principal, data: DealRoomCreate) -> DealRoom:
    if not principal.has_role(*PARTY_ROLES):
        raise Forbidden("只有机构管理员或成员可以发起洽谈")
    own = await session.get(Organisation, principal.organisation_id)
    assert own is not None, "a principal's organisation always exists"
    if own.verification_status != VerificationStatus.verified.value:
        raise Forbidden("机构通过认证后才能发起洽谈")
    errors: list[FieldError] = []
    counterpart = await session.get(Organisation, data.counterpart_organisation_id)
    if counterpart is None or counterpart.verification_status != VerificationStatus.verified.value:
        errors.append(
            FieldError(
                loc=["body", "counterpart_organisation_id"], msg="对方机构不存在或尚未通过认证", type="party_unknown"
            )
        )
    elif counterpart.id == own.id:
        errors.append(
            FieldError(loc=["body", "counterpart_organisation_id"], msg="不能与本机构洽谈", type="same_party")
        )
    organisations = {data.side: own.id, other_side(data.side): data.counterpart_organisation_id}
    await _check_listing(session, principal, data, organisations, errors)
    if errors:
        raise ValidationProblem(errors[0].msg, errors=errors)
    room = DealRoom(
        title=data.title,
        seller_organisation_id=organisations[Side.seller],
        buyer_organisation_id=organisations[Side.buyer],
        achievement_id=data.achievement_id,
        demand_id=data.demand_id,
        created_by=principal.user_id,
    )
    session.add(room)
    await session.flush()
    await _record(session, principal, room, "opened", {"title": room.title})
    return room


async def get_room(session: AsyncSession, principal: Principal, room_id: uuid.UUID) -> DealRoom:
    return (await load_access(session, principal, room_id)).room


async def invite_broker(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, broker_id: uuid.UUID
) -> DealRoom:
    """Either party brings in a certified broker, who then sees and joins the negotiation."""
    access = await load_access(session, principal, room_id, for_update=True)
    check_is_party(access, "邀请技术经纪人")
    DEAL_ROOM_LIFECYCLE.next_state(access.room.status, "post")
    if await contracts_repo.get_certified_broker(session, broker_id) is None:
        raise ValidationProblem.for_field(["body", "broker_id"], "不是已认证的技术经纪人")
    if await repo.is_invited(session, access.room.id, broker_id):
        raise Conflict("该经纪人已在洽谈室中")
    session.add(DealRoomBroker(room_id=access.room.id, broker_user_id=broker_id, invited_by=principal.user_id))
    await session.flush()
    await _record(session, principal, access.room, "broker_invited", {"broker_id": str(broker_id)})
    return access.room


async def close_room(session: AsyncSession, principal: Principal, room_id: uuid.UUID) -> DealRoom:
    access = await load_access(session, principal, room_id, for_update=True)
    check_is_party(access, "关闭洽谈室")
    access.room.status = DEAL_ROOM_LIFECYCLE.next_state(access.room.status, "close")
    access.room.closed_at = utcnow()
    open_offer = await repo.get_open_offer(session, access.room.id)
    if open_offer is not None:
        open_offer.status = OFFER_LIFECYCLE.next_state(open_offer.status, "withdraw")
        open_offer.decided_by, open_offer.decided_at = principal.user_id, access.room.closed_at
    await session.flush()
    await _record(session, principal, access.room, "closed")
    return access.room


async def post_message(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, data: MessageCreate
) -> DealRoomMessage:
    access = await load_access(session, principal, room_id, for_update=True)
    DEAL_ROOM_LIFECYCLE.next_state(access.room.status, "post")
    message = DealRoomMessage(
        room_id=access.room.id,
        author_user_id=principal.user_id,
        author_organisation_id=principal.organisation_id,
        body=data.body,
        attachments=[attachment.model_dump(mode="json") for attachment in data.attachments],
    )
    session.add(message)
    await session.flush()
    await _record(
        session,
        principal,
        access.room,
        "message_posted",
        {"message_id": str(message.id), "attachments": len(message.attachments)},
    )
    return message


async def make_offer(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, data: OfferCreate
) -> DealRoomOffer:
    """A new offer answers the other side's open offer (a counter-offer) or replaces one's own."""
    access = await load_access(session, principal, room_id, for_update=True)
    side = check_is_party(access, "报价")
    DEAL_ROOM_LIFECYCLE.next_state(access.room.status, "post")
    previous = await repo.get_open_offer(session, access.room.id)
    countered: uuid.UUID | None = None
    if previous is not None:
        answering = previous.side != side.value
        previous.status = OFFER_LIFECYCLE.next_state(previous.status, "counter" if answering else "supersede")
        previous.decided_by, previous.decided_at = principal.user_id, utcnow()
        countered = previous.id if answering else None
        await session.flush()
    offer = DealRoomOffer(
        room_id=access.room.id,
        side=side.value,
        made_by=principal.user_id,
        counter_to_offer_id=countered,
        price_fen=data.price_fen,
        transfer_mode=data.transfer_mode.value,
        terms=data.terms,
    )
    session.add(offer)
    await session.flush()
    details = {"offer_id": str(offer.id), "side": side.value, "price_fen": offer.price_fen}
    await _record(
        session,
        principal,
        access.room,
        "offer_made",
        details | {"counter_to_offer_id": str(countered) if countered else None},
    )
    return offer


async def _offer(session: AsyncSession, access: RoomAccess, offer_id: uuid.UUID) -> DealRoomOffer:
    offer = await repo.get_offer(session, access.room.id, offer_id)
    if offer is None:
        raise NotFound("报价不存在")
    return offer


async def _decide_offer(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, offer_id: uuid.UUID, action: str
) -> tuple[RoomAccess, DealRoomOffer]:
    access = await load_access(session, principal, room_id, for_update=True)
    offer = await _offer(session, access, offer_id)
    side = check_is_party(access, "处理报价")
    own_offer = offer.side == side.value
    if action == "withdraw" and not own_offer:
        raise Forbidden("只能撤回本方的报价")
    if action != "withdraw" and own_offer:
        raise Forbidden("报价须由对方接受或拒绝")
    offer.status = OFFER_LIFECYCLE.next_state(offer.status, action)
    offer.decided_by, offer.decided_at = principal.user_id, utcnow()
    return access, offer


async def decline_offer(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, offer_id: uuid.UUID
) -> DealRoomOffer:
    access, offer = await _decide_offer(session, principal, room_id, offer_id, "decline")
    await session.flush()
    await _record(session, principal, access.room, "offer_declined", {"offer_id": str(offer.id)})
    return offer


async def withdraw_offer(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, offer_id: uuid.UUID
) -> DealRoomOffer:
    access, offer = await _decide_offer(session, principal, room_id, offer_id, "withdraw")
    await session.flush()
    await _record(session, principal, access.room, "offer_withdrawn", {"offer_id": str(offer.id)})
    return offer


async def accept_offer(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, offer_id: uuid.UUID
) -> tuple[DealRoomOffer, Contract]:
    """The other side accepts; a contract draft is pre-filled from the room and the offer for both to complete."""
    access, offer = await _decide_offer(session, principal, room_id, offer_id, "accept")
    room = access.room
    DEAL_ROOM_LIFECYCLE.next_state(room.status, "post")
    if room.contract_id is not None:
        existing = await session.get(Contract, room.contract_id)
        if existing is not None and existing.status != ContractStatus.cancelled.value:
            raise Conflict("该洽谈已有合同草稿；如需重新约定请先取消该合同", contract_id=str(existing.id))
    contract_type, subtype = OFFER_CONTRACT_TYPES[TransferMode(offer.transfer_mode)]
    brokers = (await repo.broker_ids_of(session, [room])).get(room.id, [])
    draft = ContractCreate(
        title=room.title,
        contract_type=contract_type,
        contract_subtype=subtype,
        terms=offer.terms,
        seller=PartyInput(organisation_id=room.seller_organisation_id),
        buyer=PartyInput(organisation_id=room.buyer_organisation_id),
        contract_amount_fen=offer.price_fen,
        achievement_id=room.achievement_id,
        demand_id=room.demand_id,
        broker_id=brokers[0] if len(brokers) == 1 else None,
    )
    await session.flush()
    contract = await contracts_service.create_contract(session, principal, draft)
    room.contract_id = contract.id
    await session.flush()
    await _record(
        session, principal, room, "offer_accepted", {"offer_id": str(offer.id), "contract_id": str(contract.id)}
    )
    return offer, contract
