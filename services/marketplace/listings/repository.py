"""Listing queries with visibility scoping: drafts stay with their owner; demands keep their confidentiality."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.listings.policies import Viewer
from services.marketplace.listings.schemas import AchievementQuery, DemandQuery
from services.marketplace.listings.specs import ACHIEVEMENTS, DEMANDS, PUBLIC_STATUSES, ListingSpec
from services.marketplace.models import (
    Achievement,
    ContactRequest,
    Demand,
    ListingContact,
    ListingRevision,
    Organisation,
    VerificationStatus,
)
from services.marketplace.models.listings import Confidentiality, ContactRequestStatus, RevisionStatus

Listing = Achievement | Demand


async def load_viewer(session: AsyncSession, principal: Principal | None) -> Viewer:
    if principal is None:
        return Viewer(None)
    status = await session.scalar(
        select(Organisation.verification_status).where(Organisation.id == principal.organisation_id)
    )
    return Viewer(principal, organisation_verified=status == VerificationStatus.verified.value)


def _confidentiality_allows(viewer: Viewer) -> ColumnElement[bool]:
    allowed = [Confidentiality.public.value]
    if viewer.is_verified_member:
        allowed.append(Confidentiality.members.value)
    if viewer.is_verified_broker:
        allowed.append(Confidentiality.brokers.value)
    return Demand.confidentiality.in_(allowed)


def visibility(spec: ListingSpec, viewer: Viewer) -> ColumnElement[bool]:
    if viewer.is_reviewer:
        return true()
    model = spec.model
    visible: ColumnElement[bool] = model.status.in_(PUBLIC_STATUSES)
    if model is Demand:
        visible = visible & _confidentiality_allows(viewer)
    if viewer.principal is not None:
        visible = or_(visible, model.organisation_id == viewer.principal.organisation_id)
    return visible


def readable(spec: ListingSpec, viewer: Viewer) -> Select[Any]:
    return select(spec.model).where(visibility(spec, viewer))


async def get_readable(
    session: AsyncSession, spec: ListingSpec, viewer: Viewer, listing_id: uuid.UUID, *, for_update: bool = False
) -> Listing | None:
    statement = readable(spec, viewer).where(spec.model.id == listing_id)
    if for_update:
        statement = statement.with_for_update()
    listing: Listing | None = await session.scalar(statement)
    return listing


async def lock_listings(session: AsyncSession, statement: Select[Any]) -> list[Listing]:
    """Rows for a worker batch, skipping those another worker holds."""
    rows: list[Listing] = list((await session.scalars(statement.with_for_update(skip_locked=True))).all())
    return rows


async def get_contact(session: AsyncSession, spec: ListingSpec, listing_id: uuid.UUID) -> ListingContact | None:
    return await session.get(ListingContact, (spec.kind.value, listing_id))


async def get_open_revision(
    session: AsyncSession, spec: ListingSpec, listing_id: uuid.UUID, *, for_update: bool = False
) -> ListingRevision | None:
    statement = select(ListingRevision).where(
        ListingRevision.listing_kind == spec.kind.value,
        ListingRevision.listing_id == listing_id,
        ListingRevision.status.in_([RevisionStatus.submitted.value, RevisionStatus.returned.value]),
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def has_accepted_contact_request(
    session: AsyncSession, spec: ListingSpec, listing_id: uuid.UUID, organisation_id: uuid.UUID
) -> bool:
    found = await session.scalar(
        select(ContactRequest.id).where(
            ContactRequest.listing_kind == spec.kind.value,
            ContactRequest.listing_id == listing_id,
            ContactRequest.requester_organisation_id == organisation_id,
            ContactRequest.status == ContactRequestStatus.accepted.value,
        )
    )
    return found is not None


def readable_contact_requests(principal: Principal, direction: str) -> Select[Any]:
    """Requests an organisation sent (``outgoing``) or received for its listings (``incoming``)."""
    statement = select(ContactRequest)
    if direction == "incoming":
        return statement.where(ContactRequest.owner_organisation_id == principal.organisation_id)
    if direction == "outgoing":
        return statement.where(ContactRequest.requester_organisation_id == principal.organisation_id)
    return statement.where(false())


async def get_incoming_contact_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID
) -> ContactRequest | None:
    request: ContactRequest | None = await session.scalar(
        readable_contact_requests(principal, "incoming").where(ContactRequest.id == request_id).with_for_update()
    )
    return request


async def owner_kind(session: AsyncSession, organisation_id: uuid.UUID) -> str:
    return (await get_organisation(session, organisation_id)).kind


async def get_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    assert organisation is not None, "a principal's organisation always exists"
    return organisation


def _common_filters(
    statement: Select[Any], spec: ListingSpec, query: AchievementQuery | DemandQuery, principal: Principal | None
) -> Select[Any]:
    model = spec.model
    if query.field_code:
        statement = statement.where(model.field_code == query.field_code)
    if query.industry_code:
        statement = statement.where(model.industry_code == query.industry_code)
    if query.region:
        statement = statement.where(model.region_code.startswith(query.region, autoescape=True))
    if query.owner_kind:
        owners = select(Organisation.id).where(Organisation.kind == query.owner_kind)
        statement = statement.where(model.organisation_id.in_(owners))
    if query.status:
        statement = statement.where(model.status == query.status.value)
    if query.mine:
        mine = model.organisation_id == principal.organisation_id if principal else false()
        statement = statement.where(mine)
    return statement


def filter_achievements(statement: Select[Any], query: AchievementQuery, principal: Principal | None) -> Select[Any]:
    statement = _common_filters(statement, ACHIEVEMENTS, query, principal)
    if query.trl_min is not None:
        statement = statement.where(Achievement.trl >= query.trl_min)
    if query.trl_max is not None:
        statement = statement.where(Achievement.trl <= query.trl_max)
    if query.price_min_fen is not None:
        statement = statement.where(Achievement.price_fen >= query.price_min_fen)
    if query.price_max_fen is not None:
        statement = statement.where(Achievement.price_fen <= query.price_max_fen)
    if query.transfer_mode:
        statement = statement.where(Achievement.transfer_modes.overlap([mode.value for mode in query.transfer_mode]))
    return statement


def filter_demands(statement: Select[Any], query: DemandQuery, principal: Principal | None) -> Select[Any]:
    statement = _common_filters(statement, DEMANDS, query, principal)
    if query.trl_min is not None:
        statement = statement.where(Demand.min_trl >= query.trl_min)
    if query.budget_min_fen is not None:
        statement = statement.where(Demand.budget_max_fen >= query.budget_min_fen)
    if query.budget_max_fen is not None:
        statement = statement.where(Demand.budget_min_fen <= query.budget_max_fen)
    if query.cooperation_mode:
        statement = statement.where(Demand.cooperation_modes.overlap([mode.value for mode in query.cooperation_mode]))
    if query.confidentiality:
        statement = statement.where(Demand.confidentiality == query.confidentiality.value)
    return statement
