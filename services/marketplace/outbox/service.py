"""Emitting events in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.models import OutboxEvent
from services.marketplace.observability import request_id_var


async def emit_event(
    session: AsyncSession,
    *,
    topic: str,
    aggregate_type: str,
    aggregate_id: uuid.UUID | str,
    payload: dict[str, Any],
) -> OutboxEvent:
    event = OutboxEvent(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
        request_id=request_id_var.get(),
    )
    session.add(event)
    await session.flush()
    return event
