"""Deal-room queries: a room is visible to its participants only, never to officials, registrars or staff."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts.policies import PARTY_ROLES
from services.marketplace.identity.auth import Principal
from services.marketplace.models import DealRoom, DealRoomBroker, DealRoomMessage, DealRoomOffer, Role
from services.marketplace.models.contracts import OfferStatus


def _participation(principal: Principal) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if principal.has_role(*PARTY_ROLES):
        conditions += [
            DealRoom.seller_organisation_id == principal.organisation_id,
            DealRoom.buyer_organisation_id == principal.organisation_id,
        ]
    if principal.user_id is not None and principal.has_role(Role.broker):
        invited = select(DealRoomBroker.room_id).where(DealRoomBroker.broker_user_id == principal.user_id)
        conditions.append(DealRoom.id.in_(invited))
    return or_(*conditions) if conditions else false()


def readable_rooms(principal: Principal) -> Select[Any]:
    return select(DealRoom).where(_participation(principal))


async def get_readable_room(
    session: AsyncSession, principal: Principal, room_id: uuid.UUID, *, for_update: bool = False
) -> DealRoom | None:
    statement = readable_rooms(principal).where(DealRoom.id == room_id)
    if for_update:
        statement = statement.with_for_update()
    room: DealRoom | None = await session.scalar(statement)
    return room


async def broker_ids_of(session: AsyncSession, rooms: Sequence[DealRoom]) -> dict[uuid.UUID, list[uuid.UUID]]:
    if not rooms:
        return {}
    rows = await session.execute(
        select(DealRoomBroker.room_id, DealRoomBroker.broker_user_id)
        .where(DealRoomBroker.room_id.in_([room.id for room in rooms]))
        .order_by(DealRoomBroker.invited_at)
    )
    by_room: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for room_id, broker_id in rows:
        by_room[room_id].append(broker_id)
    return by_room


async def is_invited(session: AsyncSession, room_id: uuid.UUID, broker_id: uuid.UUID) -> bool:
    return await session.get(DealRoomBroker, (room_id, broker_id)) is not None


def messages_of(room_id: uuid.UUID) -> Select[Any]:
    return select(DealRoomMessage).where(DealRoomMessage.room_id == room_id)


def offers_of(room_id: uuid.UUID) -> Select[Any]:
    return select(DealRoomOffer).where(DealRoomOffer.room_id == room_id)


async def get_offer(session: AsyncSession, room_id: uuid.UUID, offer_id: uuid.UUID) -> DealRoomOffer | None:
    offer: DealRoomOffer | None = await session.scalar(
        offers_of(room_id).where(DealRoomOffer.id == offer_id).with_for_update()
    )
    return offer


async def get_open_offer(session: AsyncSession, room_id: uuid.UUID) -> DealRoomOffer | None:
    offer: DealRoomOffer | None = await session.scalar(
        offers_of(room_id).where(DealRoomOffer.status == OfferStatus.open.value).with_for_update()
    )
    return offer
