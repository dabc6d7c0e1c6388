"""HTTP routes of the broker directory (public) and a broker's own profile."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.marketplace.contracts.brokers import repository as repo
from services.marketplace.contracts.brokers import service
from services.marketplace.contracts.brokers.schemas import BrokerProfileUpdate, BrokerQuery, BrokerRead
from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import PrincipalDep
from services.marketplace.kit.errors import problem_responses
from services.marketplace.kit.pagination import Page, PageRequestDep, paginate
from services.marketplace.models import BrokerProfile

router = APIRouter(prefix="/v1/brokers", tags=["brokers"])


@router.get("", responses=problem_responses(422))
async def list_brokers(
    session: SessionDep, page: PageRequestDep, query: Annotated[BrokerQuery, Query()]
) -> Page[BrokerRead]:
    """Certified brokers with their public record, by field and region of service."""
    statement = repo.filter_profiles(repo.public_profiles(), query)
    rows, cursor = await paginate(session, statement, page, [BrokerProfile.created_at, BrokerProfile.user_id])
    return Page(items=await service.read_models(session, rows), next_cursor=cursor)


@router.put("/me", responses=problem_responses(401, 403, 409, 422))
async def save_my_broker_profile(body: BrokerProfileUpdate, session: SessionDep, principal: PrincipalDep) -> BrokerRead:
    """Create or update the caller's broker profile (certification number, fields, regions)."""
    profile = await service.save_own_profile(session, principal, body)
    return await service.get_broker(session, profile.user_id)


@router.get("/{broker_id}", responses=problem_responses(404, 422))
async def get_broker(broker_id: uuid.UUID, session: SessionDep) -> BrokerRead:
    """A broker's public record: deals brokered to registration, registered volume, completion rate."""
    return await service.get_broker(session, broker_id)
