"""Writing audit rows in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.models import AuditEvent
from services.marketplace.observability import request_id_var

if TYPE_CHECKING:
    from services.marketplace.identity.auth import Principal


async def record_audit(
    session: AsyncSession,
    *,
    actor: Principal | None,
    action: str,
    object_type: str,
    object_id: uuid.UUID | str,
    organisation_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_user_id=actor.user_id if actor else None,
        actor_api_key_id=actor.api_key_id if actor else None,
        organisation_id=organisation_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        request_id=request_id_var.get(),
    )
    session.add(event)
    await session.flush()
    return event
