from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.marketplace.audit.repository import audit_events_statement
from services.marketplace.audit.schemas import AuditEventRead
from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import Principal, require_roles
from services.marketplace.kit.errors import problem_responses
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import AuditEvent, Role

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


@router.get("", responses=problem_responses(401, 403, 422))
async def list_audit_events(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require_roles(Role.org_admin, Role.platform_admin))],
    page: PageRequestDep,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditEventRead]:
    """Platform staff read every organisation's trail; an organisation's admin reads their own."""
    statement = audit_events_statement(
        organisation_id=None if principal.is_platform_admin else principal.organisation_id,
        object_type=object_type,
        object_id=object_id,
    )
    rows, cursor = await paginate(session, statement, page, [AuditEvent.id])
    return Page(items=[AuditEventRead.model_validate(row) for row in rows], next_cursor=cursor)
