from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import Principal, PrincipalDep
from services.marketplace.kit.errors import Forbidden, NotFound, problem_responses
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import Notification
from services.marketplace.notifications.service import mark_read

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class MarkedRead(BaseModel):
    marked: int


def _user_id(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise Forbidden("通知属于用户，API 密钥没有通知")
    return principal.user_id


@router.get("", responses=problem_responses(401, 403, 422))
async def list_notifications(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageRequestDep,
    unread: Annotated[bool, Query(description="只看未读")] = False,
) -> Page[NotificationRead]:
    statement = select(Notification).where(Notification.user_id == _user_id(principal))
    if unread:
        statement = statement.where(Notification.read_at.is_(None))
    rows, cursor = await paginate(session, statement, page, [Notification.created_at, Notification.id])
    return Page(items=[NotificationRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/{notification_id}/read", responses=problem_responses(401, 403, 404, 422))
async def mark_notification_read(
    notification_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> NotificationRead:
    user_id = _user_id(principal)
    await mark_read(session, user_id, [notification_id])
    notification = await session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
    )
    if notification is None:
        raise NotFound("通知不存在")
    return NotificationRead.model_validate(notification)


@router.post("/read-all", responses=problem_responses(401, 403))
async def mark_all_notifications_read(session: SessionDep, principal: PrincipalDep) -> MarkedRead:
    return MarkedRead(marked=await mark_read(session, _user_id(principal), None))
