"""Subsidy programmes (奖补政策): configuration that officials manage. A challenge copies its programme's terms
when it is published, so an edit applies to challenges published afterwards and never to announced ones."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.challenges import repository as repo
from services.marketplace.challenges.policies import check_can_manage_programmes
from services.marketplace.challenges.schemas import ProgrammeCreate, ProgrammeUpdate
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, NotFound
from services.marketplace.models import SubsidyProgramme

_COLUMNS = ("name", "description", "rate_bp", "cap_fen", "first_tranche_bp", "payee", "is_active")


def _snapshot(programme: SubsidyProgramme) -> dict[str, Any]:
    return {column: getattr(programme, column) for column in _COLUMNS} | {"version": programme.version}


async def _record(
    session: AsyncSession,
    principal: Principal,
    programme: SubsidyProgramme,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    await record_audit(
        session,
        actor=principal,
        action=f"subsidy_programme.{action}",
        object_type="subsidy_programme",
        object_id=programme.id,
        organisation_id=principal.organisation_id,
        before=before,
        after=_snapshot(programme),
    )


async def create_programme(session: AsyncSession, principal: Principal, data: ProgrammeCreate) -> SubsidyProgramme:
    user_id = check_can_manage_programmes(principal)
    if await repo.programme_name_taken(session, data.name):
        raise Conflict("已有同名的奖补政策")
    programme = SubsidyProgramme(**data.model_dump(mode="json"), is_active=True, version=1, created_by=user_id)
    session.add(programme)
    await session.flush()
    await _record(session, principal, programme, "create", None)
    return programme


async def get_programme(session: AsyncSession, programme_id: uuid.UUID) -> SubsidyProgramme:
    programme = await repo.get_programme(session, programme_id)
    if programme is None:
        raise NotFound("奖补政策不存在")
    return programme


async def update_programme(
    session: AsyncSession, principal: Principal, programme_id: uuid.UUID, data: ProgrammeUpdate
) -> SubsidyProgramme:
    check_can_manage_programmes(principal)
    programme = await repo.get_programme(session, programme_id, for_update=True)
    if programme is None:
        raise NotFound("奖补政策不存在")
    changes = data.model_dump(mode="json", exclude_unset=True)
    if not changes:
        return programme
    if "name" in changes and await repo.programme_name_taken(session, changes["name"], other_than=programme.id):
        raise Conflict("已有同名的奖补政策")
    before = _snapshot(programme)
    for key, value in changes.items():
        setattr(programme, key, value)
    programme.version += 1
    await session.flush()
    await _record(session, principal, programme, "update", before)
    return programme
