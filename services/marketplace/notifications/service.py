"""Delivering notifications: deduplicated per user and key, capped per user per Shanghai day."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.kit.timeutil import day_period, shanghai_date, utcnow
from services.marketplace.models import Notification, Role, User

DAILY_CAP_PER_USER = 20
# Who in an organisation hears about its listings' matches.
LISTING_AUDIENCE = (Role.org_admin.value, Role.member.value)


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    dedup_key: str
    data: dict[str, Any]


async def audience(session: AsyncSession, organisation_id: uuid.UUID) -> list[User]:
    """Active users of the organisation who author its listings."""
    return list(
        await session.scalars(
            select(User).where(
                User.organisation_id == organisation_id,
                User.is_active.is_(True),
                User.roles.overlap(list(LISTING_AUDIENCE)),
            )
        )
    )


async def _sent_today(session: AsyncSession, user_id: uuid.UUID) -> int:
    today = day_period(shanghai_date(utcnow()))
    count = await session.scalar(
        select(func.count()).where(
            Notification.user_id == user_id,
            Notification.created_at >= today.start,
            Notification.created_at < today.end,
        )
    )
    return int(count or 0)


async def notify(session: AsyncSession, users: Sequence[User], message: Message) -> int:
    """Send to each user at most once per dedup key and at most DAILY_CAP_PER_USER a day; returns how many."""
    sent = 0
    for user in users:
        if await _sent_today(session, user.id) >= DAILY_CAP_PER_USER:
            continue
        inserted = await session.scalar(
            insert(Notification)
            .values(
                user_id=user.id,
                organisation_id=user.organisation_id,
                kind=message.kind,
                title=message.title,
                body=message.body,
                data=message.data,
                dedup_key=message.dedup_key,
            )
            .on_conflict_do_nothing(constraint="uq_notifications_user_id_dedup_key")
            .returning(Notification.id)
        )
        sent += inserted is not None
    return sent


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_ids: Sequence[uuid.UUID] | None) -> int:
    """Mark the user's notifications read (all unread ones when ``notification_ids`` is None)."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .returning(Notification.id)
    )
    if notification_ids is not None:
        statement = statement.where(Notification.id.in_(notification_ids))
    return len(list(await session.scalars(statement)))
