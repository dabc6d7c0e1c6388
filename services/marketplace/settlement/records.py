"""Audit row and outbox event of every settlement state change, in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.identity.auth import Principal
from services.marketplace.models.base import Base
from services.marketplace.outbox.service import emit_event


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(row: Base) -> dict[str, Any]:
    return {column.key: _json_safe(getattr(row, column.key)) for column in row.__table__.columns}


async def record_change(
    session: AsyncSession,
    principal: Principal | None,
    *,
    topic: str,
    row: Base,
    object_type: str,
    organisation_id: uuid.UUID | None,
    before: dict[str, Any] | None,
    payload: dict[str, Any],
) -> None:
    """``topic`` is ``settlement.<what>``; the audit action is the same name."""
    object_id = getattr(row, "id")  # noqa: B009 - every settlement row has an id
    await record_audit(
        session,
        actor=principal,
        action=topic,
        object_type=object_type,
        object_id=object_id,
        organisation_id=organisation_id,
        before=before,
        after=snapshot(row),
    )
    await emit_event(session, topic=topic, aggregate_type=object_type, aggregate_id=object_id, payload=payload)
