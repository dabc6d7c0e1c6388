"""Listing use cases: authoring, review, revisions, contacts, expiry. Services flush; the boundary commits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, Forbidden, NotFound, ValidationProblem
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.listings import events, policies
from services.marketplace.listings import repository as repo
from services.marketplace.listings.repository import Listing
from services.marketplace.listings.schemas import ContactDetails, check_budget, check_price
from services.marketplace.listings.specs import DIRECTLY_EDITABLE, ListingSpec
from services.marketplace.models import ContactRequest, ListingContact, ListingRevision, ListingStatus
from services.marketplace.models.listings import ContactRequestStatus, RevisionStatus
from services.marketplace.outbox.service import emit_event

REVERIFICATION_INTERVAL = timedelta(days=180)
DATETIME_FIELDS = ("valid_until", "deadline")
# Columns that are the owner's content; lifecycle and review columns are never taken from input.
_LIFECYCLE_COLUMNS = frozenset(
    {
        "id",
        "organisation_id",
        "created_by",
        "status",
        "version",
        "review_comment",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
        "published_at",
        "closed_at",
        "last_verified_at",
        "reverification_reminded_at",
        "transacted_contract_id",
        "created_at",
        "updated_at",
    }
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def snapshot(listing: Listing) -> dict[str, Any]:
    return {column.key: _json_safe(getattr(listing, column.key)) for column in listing.__table__.columns}


def content_columns(spec: ListingSpec) -> frozenset[str]:
    return frozenset(column.key for column in spec.model.__table__.columns) - _LIFECYCLE_COLUMNS


async def _audit(
    session: AsyncSession,
    principal: Principal | None,
    spec: ListingSpec,
    listing: Listing,
    action: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await record_audit(
        session,
        actor=principal,
        action=f"{spec.kind.value}.{action}",
        object_type=spec.object_type,
        object_id=listing.id,
        organisation_id=listing.organisation_id,
        before=before,
        after=after,
    )


async def _record(
    session: AsyncSession,
    principal: Principal | None,
    spec: ListingSpec,
    listing: Listing,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    """Audit row and outbox event for one state change, in the caller's transaction."""
    await _audit(session, principal, spec, listing, action, before=before, after=snapshot(listing))
    if action in events.ACTION_TOPICS:
        await emit_event(
            session,
            topic=events.topic(spec, action),
            aggregate_type=spec.object_type,
            aggregate_id=listing.id,
            payload=events.listing_payload(spec, listing),
        )


def _check_pairs(spec: ListingSpec, values: dict[str, Any]) -> None:
    if "price_mode" in values:
        problem = check_price(values["price_mode"], values.get("price_fen"))
        if problem:
            raise ValidationProblem.for_field(["body", "price_fen"], problem)
    if "budget_min_fen" in values:
        problem = check_budget(values.get("budget_min_fen"), values.get("budget_max_fen"))
        if problem:
            raise ValidationProblem.for_field(["body", "budget_min_fen"], problem)


async def _save_contact(
    session: AsyncSession, spec: ListingSpec, listing_id: uuid.UUID, data: ContactDetails
) -> ListingContact:
    contact = await repo.get_contact(session, spec, listing_id)
    if contact is None:
        contact = ListingContact(listing_kind=spec.kind.value, listing_id=listing_id, name=data.name)
        session.add(contact)
    contact.name, contact.phone, contact.email, contact.note = data.name, data.phone, data.email, data.note
    contact.updated_at = utcnow()
    await session.flush()
    return contact


async def create_listing(session: AsyncSession, principal: Principal, spec: ListingSpec, data: BaseModel) -> Listing:
    organisation = await repo.get_organisation(session, principal.organisation_id)
    policies.check_can_author(principal, organisation, spec)
    values = data.model_dump(exclude={"contact"})
    listing = spec.model(
        **values,
        organisation_id=organisation.id,
        created_by=principal.user_id,
        status=ListingStatus.draft.value,
        version=1,
    )
    session.add(listing)
    await session.flush()
    contact = getattr(data, "contact", None)
    if contact is not None:
        await _save_contact(session, spec, listing.id, contact)
    await _record(session, principal, spec, listing, "create", None)
    return listing


async def get_listing(
    session: AsyncSession,
    principal: Principal | None,
    spec: ListingSpec,
    listing_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Listing:
    """The listing if the caller may see it (404 otherwise), optionally locked for a change."""
    viewer = await repo.load_viewer(session, principal)
    listing = await repo.get_readable(session, spec, viewer, listing_id, for_update=for_update)
    if listing is None:
        raise NotFound(f"{spec.label}不存在")
    return listing


async def _owned_listing(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID
) -> Listing:
    listing = await get_listing(session, principal, spec, listing_id, for_update=True)
    if not principal.belongs_to(listing.organisation_id) or not principal.has_role(*policies.AUTHOR_ROLES):
        raise Forbidden(f"只有发布机构的管理员或成员可以修改此{spec.label}")
    return listing


async def _reviewable_listing(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID
) -> Listing:
    listing = await get_listing(session, principal, spec, listing_id, for_update=True)
    policies.check_is_reviewer(principal)
    return listing


async def update_listing(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID, data: BaseModel
) -> Listing:
    """Drafts are edited in place; a published listing gets a revision for review and stays as it is."""
    listing = await _owned_listing(session, principal, spec, listing_id)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        return listing
    current = {key: getattr(listing, key) for key in content_columns(spec)}
    if changes.get("price_mode") == "negotiable" and "price_fen" not in changes:
        changes["price_fen"] = None
    _check_pairs(spec, current | changes)
    if listing.status in DIRECTLY_EDITABLE:
        before = snapshot(listing)
        for key, value in changes.items():
            setattr(listing, key, value)
        await session.flush()
        await _record(session, principal, spec, listing, "edit", before)
        return listing
    if listing.status == ListingStatus.published.value:
        await _propose_revision(
            session,
            principal,
            spec,
            listing,
            to_jsonable_python(changes),
        )
        return listing
    raise Conflict(f"状态为 {listing.status} 的{spec.label}不能修改", state=listing.status)


async def _propose_revision(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing: Listing, changes: dict[str, Any]
) -> ListingRevision:
    revision = await repo.get_open_revision(session, spec, listing.id, for_update=True)
    if revision is None:
        revision = ListingRevision(
            listing_kind=spec.kind.value,
            listing_id=listing.id,
            base_version=listing.version,
            changes=changes,
            status=RevisionStatus.submitted.value,
            created_by=principal.user_id,
        )
        session.add(revision)
    else:
        revision.changes = revision.changes | changes
        revision.status = RevisionStatus.submitted.value
        revision.review_comment = None
    await session.flush()
    await _audit(session, principal, spec, listing, "revision_submitted", after={"changes": revision.changes})
    return revision


async def get_open_revision(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID
) -> ListingRevision:
    listing = await get_listing(session, principal, spec, listing_id)
    if not (principal.is_platform_admin or principal.belongs_to(listing.organisation_id)):
        raise NotFound("没有待审核的修订")
    revision = await repo.get_open_revision(session, spec, listing_id)
    if revision is None:
        raise NotFound("没有待审核的修订")
    return revision


async def review_revision(
    session: AsyncSession,
    principal: Principal,
    spec: ListingSpec,
    listing_id: uuid.UUID,
    *,
    approve: bool,
    comment: str | None,
) -> ListingRevision:
    listing = await _reviewable_listing(session, principal, spec, listing_id)
    revision = await repo.get_open_revision(session, spec, listing_id, for_update=True)
    if revision is None or revision.status != RevisionStatus.submitted.value:
        raise Conflict("没有待审核的修订")
    revision.reviewed_by, revision.reviewed_at, revision.review_comment = principal.user_id, utcnow(), comment
    if not approve:
        revision.status = RevisionStatus.returned.value
        await session.flush()
        await _audit(session, principal, spec, listing, "revision_returned", after={"comment": comment})
        return revision
    if listing.status != ListingStatus.published.value:
        raise Conflict(f"{spec.label}已不在发布状态，修订不能生效", state=listing.status)
    before = snapshot(listing)
    for key, value in revision.changes.items():
        setattr(listing, key, datetime.fromisoformat(value) if key in DATETIME_FIELDS else value)
    listing.version += 1
    listing.last_verified_at = utcnow()
    revision.status = RevisionStatus.approved.value
    await session.flush()
    await _record(session, principal, spec, listing, "revise", before)
    return revision


async def transition(
    session: AsyncSession,
    principal: Principal,
    spec: ListingSpec,
    listing_id: uuid.UUID,
    action: str,
    comment: str | None = None,
) -> Listing:
    """submit and withdraw by the owner; approve and return by platform reviewers."""
    if action in ("approve", "return"):
        listing = await _reviewable_listing(session, principal, spec, listing_id)
    else:
        listing = await _owned_listing(session, principal, spec, listing_id)
    if action == "submit":
        policies.check_can_submit(await repo.get_organisation(session, listing.organisation_id), spec)
        if getattr(listing, spec.expiry_column) <= utcnow():
            raise ValidationProblem.for_field(["body", spec.expiry_column], "截止时间已过，请先修改后再提交")
    before = snapshot(listing)
    listing.status = spec.lifecycle.next_state(listing.status, action)
    now = utcnow()
    if action == "submit":
        listing.submitted_at = now
    elif action in ("approve", "return"):
        listing.reviewed_at, listing.reviewed_by, listing.review_comment = now, principal.user_id, comment
    if action == "approve":
        listing.published_at = now
        listing.last_verified_at = listing.last_verified_at or now
    if action == "withdraw":
        listing.closed_at = now
    await session.flush()
    await _record(session, principal, spec, listing, action, before)
    return listing


async def reverify(session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID) -> Listing:
    """The owner confirms the listing is still accurate, which restarts the 180-day reminder clock."""
    listing = await _owned_listing(session, principal, spec, listing_id)
    if listing.status != ListingStatus.published.value:
        raise Conflict(f"只有已发布的{spec.label}需要复核", state=listing.status)
    listing.last_verified_at = utcnow()
    listing.reverification_reminded_at = None
    await session.flush()
    await _audit(session, principal, spec, listing, "reverified")
    return listing


async def mark_transacted(
    session: AsyncSession,
    spec: ListingSpec,
    listing_id: uuid.UUID,
    contract_id: uuid.UUID,
    actor: Principal | None,
) -> Listing:
    """Called when a registered contract links this listing."""
    listing: Listing | None = await session.scalar(
        select(spec.model).where(spec.model.id == listing_id).with_for_update()
    )
    if listing is None:
        raise NotFound(f"{spec.label}不存在")
    before = snapshot(listing)
    listing.status = spec.lifecycle.next_state(listing.status, "transact")
    listing.transacted_contract_id = contract_id
    listing.closed_at = utcnow()
    await session.flush()
    await _record(session, actor, spec, listing, "transact", before)
    return listing


async def expire_due_listings(session: AsyncSession, spec: ListingSpec, limit: int = 500) -> int:
    """Close published listings whose validity or deadline has passed (run by the worker)."""
    expiry = getattr(spec.model, spec.expiry_column)
    due = await repo.lock_listings(
        session,
        select(spec.model)
        .where(spec.model.status == ListingStatus.published.value, expiry <= utcnow())
        .order_by(expiry)
        .limit(limit),
    )
    for listing in due:
        before = snapshot(listing)
        listing.status = spec.lifecycle.next_state(listing.status, "expire")
        listing.closed_at = utcnow()
        await session.flush()
        await _record(session, None, spec, listing, "expire", before)
    return len(due)


async def remind_stale_listings(session: AsyncSession, spec: ListingSpec, limit: int = 500) -> int:
    """One reminder event per listing not re-verified for 180 days (re-verifying resets it)."""
    stale = await repo.lock_listings(
        session,
        select(spec.model)
        .where(
            spec.model.status == ListingStatus.published.value,
            spec.model.last_verified_at <= utcnow() - REVERIFICATION_INTERVAL,
            spec.model.reverification_reminded_at.is_(None),
        )
        .limit(limit),
    )
    for listing in stale:
        listing.reverification_reminded_at = utcnow()
        await session.flush()
        await emit_event(
            session,
            topic=events.topic(spec, "remind"),
            aggregate_type=spec.object_type,
            aggregate_id=listing.id,
            payload=events.listing_payload(spec, listing) | {"last_verified_at": _json_safe(listing.last_verified_at)},
        )
    return len(stale)


async def set_contact(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID, data: ContactDetails
) -> ListingContact:
    listing = await _owned_listing(session, principal, spec, listing_id)
    contact = await _save_contact(session, spec, listing.id, data)
    await _audit(session, principal, spec, listing, "contact_set")
    return contact


async def reveal_contact(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID
) -> ListingContact:
    """The owner sees its contact; another organisation only after the owner accepted its request (audited)."""
    listing = await get_listing(session, principal, spec, listing_id)
    own = principal.belongs_to(listing.organisation_id)
    if not own and not await repo.has_accepted_contact_request(session, spec, listing.id, principal.organisation_id):
        raise Forbidden("联系方式需经发布方同意后才能查看，请先提交联系请求")
    contact = await repo.get_contact(session, spec, listing.id)
    if contact is None:
        raise NotFound("发布方尚未填写联系人")
    if not own:
        await _audit(
            session,
            principal,
            spec,
            listing,
            "contact_revealed",
            after={"revealed_to_organisation": str(principal.organisation_id)},
        )
    return contact


async def request_contact(
    session: AsyncSession, principal: Principal, spec: ListingSpec, listing_id: uuid.UUID, message: str
) -> ContactRequest:
    listing = await get_listing(session, principal, spec, listing_id)
    if principal.belongs_to(listing.organisation_id):
        raise Conflict("不能向本机构发布的信息请求联系方式")
    viewer = await repo.load_viewer(session, principal)
    if not viewer.organisation_verified:
        raise Forbidden("机构通过认证后才能请求联系方式")
    if listing.status != ListingStatus.published.value:
        raise Conflict(f"只能对已发布的{spec.label}请求联系方式", state=listing.status)
    request = ContactRequest(
        listing_kind=spec.kind.value,
        listing_id=listing.id,
        owner_organisation_id=listing.organisation_id,
        requester_organisation_id=principal.organisation_id,
        requester_user_id=principal.user_id,
        message=message,
    )
    session.add(request)
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action="contact_request.created",
        object_type="contact_request",
        object_id=request.id,
        organisation_id=listing.organisation_id,
        after={"listing_id": str(listing.id)},
    )
    await emit_event(
        session,
        topic="contact_request.created",
        aggregate_type="contact_request",
        aggregate_id=request.id,
        payload={
            "contact_request_id": str(request.id),
            "listing_kind": spec.kind.value,
            "listing_id": str(listing.id),
            "owner_organisation_id": str(listing.organisation_id),
        },
    )
    return request


async def decide_contact_request(
    session: AsyncSession, principal: Principal, request_id: uuid.UUID, *, accept: bool
) -> ContactRequest:
    request = await repo.get_incoming_contact_request(session, principal, request_id)
    if request is None:
        raise NotFound("联系请求不存在")
    if not principal.has_role(*policies.AUTHOR_ROLES):
        raise Forbidden("只有发布机构的管理员或成员可以处理联系请求")
    if request.status != ContactRequestStatus.pending.value:
        raise Conflict("该联系请求已处理", state=request.status)
    request.status = (ContactRequestStatus.accepted if accept else ContactRequestStatus.declined).value
    request.decided_by, request.decided_at = principal.user_id, utcnow()
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action=f"contact_request.{request.status}",
        object_type="contact_request",
        object_id=request.id,
        organisation_id=request.owner_organisation_id,
    )
    await emit_event(
        session,
        topic=f"contact_request.{request.status}",
        aggregate_type="contact_request",
        aggregate_id=request.id,
        payload={
            "contact_request_id": str(request.id),
            "requester_organisation_id": str(request.requester_organisation_id),
        },
    )
    return request
