"""Keeping the indexes in step with PostgreSQL, and searching them with server-side visibility filters."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.listings.policies import Viewer
from services.marketplace.listings.specs import ACHIEVEMENTS as ACHIEVEMENT_LISTINGS
from services.marketplace.listings.specs import DEMANDS as DEMAND_LISTINGS
from services.marketplace.listings.specs import ListingSpec
from services.marketplace.models import ListingKind, ListingStatus, Organisation
from services.marketplace.models.listings import Confidentiality
from services.marketplace.search.documents import achievement_document, demand_document
from services.matching import indexes
from services.matching.engine import SearchEngine
from services.matching.indexes import IndexDefinition
from services.matching.query import AnyOf, Eq, Filter, In

# Only published listings are in the indexes; every search also filters on it, so a stale document of a
# withdrawn listing can never be returned even before its delete event is handled.
SEARCHABLE_STATUS = ListingStatus.published.value


@dataclass(frozen=True)
class IndexedKind:
    spec: ListingSpec
    index: IndexDefinition
    build: Callable[[Any, str], dict[str, Any]]


INDEXED_KINDS = {
    ListingKind.achievement: IndexedKind(ACHIEVEMENT_LISTINGS, indexes.ACHIEVEMENTS, achievement_document),
    ListingKind.demand: IndexedKind(DEMAND_LISTINGS, indexes.DEMANDS, demand_document),
}


async def load_documents(
    session: AsyncSession, kind: IndexedKind, listing_ids: Sequence[uuid.UUID] | None = None
) -> dict[str, dict[str, Any]]:
    """Documents of the searchable listings among ``listing_ids`` (all of them when None), by id."""
    model = kind.spec.model
    statement = (
        select(model, Organisation.kind)
        .join(Organisation, Organisation.id == model.organisation_id)
        .where(model.status == SEARCHABLE_STATUS)
    )
    if listing_ids is not None:
        statement = statement.where(model.id.in_(listing_ids))
    documents: dict[str, dict[str, Any]] = {}
    for listing, owner_kind in (await session.execute(statement)).all():
        document = kind.build(listing, str(owner_kind))
        documents[document["id"]] = document
    return documents


async def sync_listing(session: AsyncSession, engine: SearchEngine, kind: IndexedKind, listing_id: uuid.UUID) -> None:
    """Write the listing's current state to the index: upsert when searchable, delete otherwise.

    Reading the current row (not the event's payload) makes replayed and reordered events harmless,
    and the engine's version rule keeps a slower writer from putting an older document back.
    """
    documents = await load_documents(session, kind, [listing_id])
    document = documents.get(str(listing_id))
    if document is None:
        await engine.delete(kind.index, [str(listing_id)])
    else:
        await engine.upsert(kind.index, [document])


def visibility_filters(kind: IndexedKind, viewer: Viewer) -> tuple[Filter, ...]:
    """Filters the server adds to every search: never drafts, never demands the caller may not see."""
    filters: list[Filter] = [Eq("status", SEARCHABLE_STATUS)]
    if kind.spec.kind is ListingKind.demand and not viewer.is_reviewer:
        allowed: list[str] = [Confidentiality.public.value]
        if viewer.is_verified_member:
            allowed.append(Confidentiality.members.value)
        if viewer.is_verified_broker:
            allowed.append(Confidentiality.brokers.value)
        confidentiality: Filter = In("confidentiality", tuple(allowed))
        if viewer.principal is not None:
            own = Eq("organisation_id", str(viewer.principal.organisation_id))
            confidentiality = AnyOf((confidentiality, own))
        filters.append(confidentiality)
    return tuple(filters)


@dataclass
class IndexReport:
    """Differences between PostgreSQL (the source of truth) and an index."""

    index: str
    missing: list[str]
    extra: list[str]
    stale: list[str]

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.extra or self.stale)


async def check_index(session: AsyncSession, engine: SearchEngine, kind: IndexedKind) -> IndexReport:
    expected = {doc_id: document["version"] for doc_id, document in (await load_documents(session, kind)).items()}
    indexed = await engine.get_versions(kind.index)
    return IndexReport(
        index=kind.index.name,
        missing=sorted(set(expected) - set(indexed)),
        extra=sorted(set(indexed) - set(expected)),
        stale=sorted(
            doc_id for doc_id, version in indexed.items() if doc_id in expected and version < expected[doc_id]
        ),
    )


async def repair_index(session: AsyncSession, engine: SearchEngine, kind: IndexedKind, report: IndexReport) -> None:
    wanted = [uuid.UUID(doc_id) for doc_id in [*report.missing, *report.stale]]
    if wanted:
        await engine.upsert(kind.index, list((await load_documents(session, kind, wanted)).values()))
    if report.extra:
        await engine.delete(kind.index, report.extra)


async def rebuild_index(
    session: AsyncSession,
    engine: SearchEngine,
    kind: IndexedKind,
    progress: Callable[[int], None],
    batch_size: int = 1000,
) -> int:
    """Write every searchable listing to the index and remove what PostgreSQL no longer has."""
    await engine.apply_settings(kind.index)
    documents = list((await load_documents(session, kind)).values())
    for start in range(0, len(documents), batch_size):
        batch = documents[start : start + batch_size]
        await engine.upsert(kind.index, batch)
        progress(len(batch))
    extra = sorted(set(await engine.get_versions(kind.index)) - {document["id"] for document in documents})
    if extra:
        await engine.delete(kind.index, extra)
    return len(documents)
