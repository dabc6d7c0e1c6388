from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from services.marketplace.audit.service import record_audit
from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import Principal, require_roles
from services.marketplace.kit.errors import NotFound, problem_responses
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import OutboxEvent, Role
from services.marketplace.outbox.repository import dead_letters_statement, replay_dead_letters
from services.marketplace.outbox.schemas import OutboxEventRead

router = APIRouter(prefix="/v1/admin/outbox", tags=["outbox"])
PlatformAdmin = Annotated[Principal, Depends(require_roles(Role.platform_admin))]


@router.get("/dead-letters", responses=problem_responses(401, 403, 422))
async def list_dead_letters(session: SessionDep, _: PlatformAdmin, page: PageRequestDep) -> Page[OutboxEventRead]:
    rows, cursor = await paginate(session, dead_letters_statement(), page, [OutboxEvent.id])
    return Page(items=[OutboxEventRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("/dead-letters/{event_id}/replay", responses=problem_responses(401, 403, 404, 422))
async def replay_dead_letter(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, principal: PlatformAdmin
) -> OutboxEventRead:
    replayed = await replay_dead_letters(session, [event_id])
    if not replayed:
        raise NotFound("死信事件不存在")
    await record_audit(
        session,
        actor=principal,
        action="outbox.replayed",
        object_type="outbox_event",
        object_id=str(event_id),
        organisation_id=None,
    )
    event = await session.get(OutboxEvent, event_id)
    assert event is not None
    return OutboxEventRead.model_validate(event)
