"""Outbox handlers of matching: index sync for every listing event, and 精准推送 when a listing is published."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.models import ListingKind
from services.marketplace.models.listings import Confidentiality
from services.marketplace.notifications.service import Message, audience, notify
from services.marketplace.outbox.relay import Event, HandlerRegistry
from services.marketplace.search.service import INDEXED_KINDS, SEARCHABLE_STATUS, load_documents, sync_listing
from services.matching.engine import SearchEngine
from services.matching.query import Eq, Filter, In
from services.matching.recommend import recommend_for_achievement, recommend_for_demand

PUSH_TOP_MATCHES = 5


def register_search_handlers(registry: HandlerRegistry, engine: SearchEngine) -> None:
    for kind in INDEXED_KINDS.values():
        registry.register(
            f"{kind.spec.kind.value}.*", f"search.index_{kind.index.name}", _index_handler(engine, kind.spec.kind)
        )
    registry.register("demand.published", "push.matches_for_demand", _push_handler(engine, ListingKind.demand))
    registry.register(
        "achievement.published", "push.matches_for_achievement", _push_handler(engine, ListingKind.achievement)
    )


def _index_handler(engine: SearchEngine, kind: ListingKind) -> Any:
    async def handle(session: AsyncSession, event: Event) -> None:
        await sync_listing(session, engine, INDEXED_KINDS[kind], uuid.UUID(event.aggregate_id))

    return handle


def _push_handler(engine: SearchEngine, kind: ListingKind) -> Any:
    async def handle(session: AsyncSession, event: Event) -> None:
        documents = await load_documents(session, INDEXED_KINDS[kind], [uuid.UUID(event.aggregate_id)])
        document = documents.get(event.aggregate_id)
        if document is not None:
            await push_matches(session, engine, kind, document)

    return handle


async def push_matches(session: AsyncSession, engine: SearchEngine, kind: ListingKind, document: dict[str, Any]) -> int:
    """Tell the owners of the top matches about the new listing, and its poster about the top matches."""
    published: list[Filter] = [Eq("status", SEARCHABLE_STATUS)]
    if kind is ListingKind.demand:
        matches = await recommend_for_demand(engine, document, filters=tuple(published), limit=PUSH_TOP_MATCHES)
        noun, other_noun = "需求", "成果"
    else:
        # The publishing organisation is verified, so it may see public and members-only demands.
        visible = In("confidentiality", (Confidentiality.public.value, Confidentiality.members.value))
        matches = await recommend_for_achievement(
            engine, document, filters=(*published, visible), limit=PUSH_TOP_MATCHES
        )
        noun, other_noun = "成果", "需求"
    sent = 0
    for match in matches:
        other = match.document
        reasons = "；".join(reason.text for reason in match.reasons[:3])
        message = Message(
            kind=f"match.{kind.value}_published",
            title=f"新发布的{noun}与您的{other_noun}匹配：{document['title']}",
            body=f"与您的{other_noun}《{other['title']}》匹配。{reasons}",
            dedup_key=f"match:{document['id']}:{other['id']}",
            data={
                "listing_kind": kind.value,
                "listing_id": document["id"],
                "matched_id": other["id"],
                "score": round(match.score, 4),
            },
        )
        sent += await notify(session, await audience(session, uuid.UUID(other["organisation_id"])), message)
    if matches:
        listing_titles = "、".join(f"《{match.document['title']}》" for match in matches)
        summary = Message(
            kind=f"match.top_for_{kind.value}",
            title=f"为您的{noun}《{document['title']}》推荐 {len(matches)} 项{other_noun}",
            body=listing_titles,
            dedup_key=f"top:{document['id']}:v{document['version']}",
            data={
                "listing_kind": kind.value,
                "listing_id": document["id"],
                "matched_ids": [match.document["id"] for match in matches],
            },
        )
        sent += await notify(session, await audience(session, uuid.UUID(document["organisation_id"])), summary)
    return sent
