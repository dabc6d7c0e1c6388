from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from services.marketplace.models import AuditEvent


def audit_events_statement(
    *, organisation_id: uuid.UUID | None, object_type: str | None, object_id: str | None
) -> Select[AuditEvent]:
    """Readable audit rows: ``organisation_id`` None means every organisation (platform staff)."""
    statement = select(AuditEvent)
    if organisation_id is not None:
        statement = statement.where(AuditEvent.organisation_id == organisation_id)
    if object_type is not None:
        statement = statement.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEvent.object_id == object_id)
    return statement
