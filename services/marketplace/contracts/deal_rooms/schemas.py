"""Deal rooms, messages and offers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.marketplace.contracts.schemas import Attachments, ContractRead, PositiveFen
from services.marketplace.kit.validators import LongText, Title
from services.marketplace.models.contracts import DealRoomStatus, OfferStatus, Side
from services.marketplace.models.listings import TransferMode


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DealRoomCreate(InputModel):
    title: Title
    side: Side = Field(description="本机构在交易中的一方")
    counterpart_organisation_id: uuid.UUID = Field(description="对方机构（须已通过认证）")
    achievement_id: uuid.UUID | None = Field(default=None, description="所洽谈的科技成果（所有者为卖方）")
    demand_id: uuid.UUID | None = Field(default=None, description="所洽谈的技术需求（发布者为买方）")


class BrokerInvitation(InputModel):
    broker_id: uuid.UUID


class MessageCreate(InputModel):
    body: LongText
    attachments: Attachments = []


class OfferCreate(InputModel):
    price_fen: PositiveFen = Field(description="报价（分）")
    transfer_mode: TransferMode = Field(description="转化方式")
    terms: LongText = Field(description="主要条款：范围、期限、付款方式等")


class DealRoomRead(OutputModel):
    id: uuid.UUID
    title: str
    status: DealRoomStatus
    seller_organisation_id: uuid.UUID
    buyer_organisation_id: uuid.UUID
    achievement_id: uuid.UUID | None
    demand_id: uuid.UUID | None
    broker_ids: list[uuid.UUID] = []
    contract_id: uuid.UUID | None
    created_at: datetime
    closed_at: datetime | None


class MessageRead(OutputModel):
    id: uuid.UUID
    room_id: uuid.UUID
    author_user_id: uuid.UUID | None
    author_organisation_id: uuid.UUID
    body: str
    attachments: list[dict[str, Any]]
    created_at: datetime


class OfferRead(OutputModel):
    id: uuid.UUID
    room_id: uuid.UUID
    side: Side
    made_by: uuid.UUID | None
    counter_to_offer_id: uuid.UUID | None
    price_fen: int
    transfer_mode: TransferMode
    terms: str
    status: OfferStatus
    decided_at: datetime | None
    created_at: datetime


class OfferAcceptance(BaseModel):
    offer: OfferRead
    contract: ContractRead = Field(description="由报价预填的合同草稿")
