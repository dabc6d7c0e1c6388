"""Worker jobs of challenges: the deadline and 公示 timers, 精准推送 on publication, and applicant notices."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace.challenges import events, service
from services.marketplace.challenges import repository as repo
from services.marketplace.db import unit_of_work
from services.marketplace.kit.money import format_wan
from services.marketplace.models import Challenge, User
from services.marketplace.notifications.service import Message, audience, notify
from services.marketplace.outbox.relay import Event, HandlerRegistry
from services.marketplace.search.service import SEARCHABLE_STATUS
from services.matching.engine import SearchEngine
from services.matching.query import Eq, Filter, In
from services.matching.recommend import recommend_for_demand

# How many achievements the challenge's text is matched against; their owners hear of it once each.
PUSH_CANDIDATES = 10


async def close_applications_at_deadline(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with unit_of_work(sessionmaker) as session:
        return await service.close_due_challenges(session)


async def award_after_public_notice(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with unit_of_work(sessionmaker) as session:
        return await service.finalize_public_notices(session)


def register_challenge_handlers(registry: HandlerRegistry, engine: SearchEngine) -> None:
    registry.register("challenge.published", "push.matches_for_challenge", _push_handler(engine))
    registry.register("challenge_application.*", "notify.challenge_applicant", notify_applicant)
    registry.register("challenge.cancelled", "notify.challenge_cancelled", notify_cancellation)
    registry.register("challenge.expert_assigned", "notify.challenge_expert", notify_expert)


def challenge_document(challenge: Challenge) -> dict[str, Any]:
    """The challenge as the demand-shaped query document ``services.matching`` recommends achievements for."""
    return {
        "id": str(challenge.id),
        "version": challenge.version,
        "kind": "challenge",
        "organisation_id": str(challenge.organisation_id),
        "title": challenge.title,
        "keywords": list(challenge.keywords),
        "problem": challenge.problem,
        "technical_indicators": challenge.technical_indicators,
        "field_code": challenge.field_code,
        "industry_code": challenge.industry_code,
        "region_code": challenge.region_code,
    }


def _push_handler(engine: SearchEngine) -> Any:
    async def handle(session: AsyncSession, event: Event) -> None:
        challenge = await session.get(Challenge, uuid.UUID(event.aggregate_id))
        if challenge is not None and challenge.status == "published":
            await push_challenge(session, engine, challenge, event.id)

    return handle


async def push_challenge(session: AsyncSession, engine: SearchEngine, challenge: Challenge, event_id: int) -> int:
    """Tell the owners of achievements that match the challenge's problem (eligible kinds only) about it."""
    filters: list[Filter] = [Eq("status", SEARCHABLE_STATUS)]
    if challenge.eligible_kinds:
        filters.append(In("owner_kind", tuple(challenge.eligible_kinds)))
    matches = await recommend_for_demand(
        engine, challenge_document(challenge), filters=tuple(filters), limit=PUSH_CANDIDATES
    )
    by_organisation: dict[str, list[dict[str, Any]]] = {}
    for match in matches:
        owner = str(match.document["organisation_id"])
        if owner != str(challenge.organisation_id):
            by_organisation.setdefault(owner, []).append(match.document)
    sent = 0
    for organisation_id, documents in by_organisation.items():
        titles = "、".join(f"《{document['title']}》" for document in documents[:3])
        message = Message(
            kind="match.challenge_published",
            title=f"新发布的揭榜挂帅榜单与您的成果匹配：{challenge.title}",
            body=f"榜单 {challenge.code}，榜单金额 {format_wan(challenge.reward_fen)}，"
            f"揭榜截止 {challenge.application_deadline}。匹配成果：{titles}",
            dedup_key=f"challenge-match:{challenge.id}:{event_id}",
            data={
                "challenge_id": str(challenge.id),
                "code": challenge.code,
                "matched_ids": [document["id"] for document in documents],
            },
        )
        sent += await notify(session, await audience(session, uuid.UUID(organisation_id)), message)
    return sent


_APPLICATION_NEWS = {
    "challenge_application.submitted": "揭榜申请已提交",
    "challenge_application.withdrawn": "揭榜申请已撤回",
    "challenge_application.returned": "揭榜申请被退回修改",
    "challenge_application.rejected": "揭榜申请未通过形式审查",
    "challenge_application.shortlisted": "揭榜申请入围",
    "challenge_application.accepted": "揭榜成功",
    "challenge_application.not_selected": "揭榜申请未入选",
}


_STATUS_LABELS = {
    "submitted": "已提交",
    "withdrawn": "已撤回",
    "returned": "退回修改",
    "rejected": "未通过",
    "accepted": "揭榜成功",
}


async def notify_applicant(session: AsyncSession, event: Event) -> None:
    """Every state change of an application reaches the applicant's administrators and members."""
    if event.topic not in events.NOTIFIED_APPLICATION_TOPICS:
        return
    payload = event.payload
    headline = _APPLICATION_NEWS[event.topic]
    comment = payload.get("comment")
    message = Message(
        kind=event.topic,
        title=f"{headline}：{payload['challenge_title']}",
        body=f"榜单 {payload['challenge_code']}，申请状态：{_STATUS_LABELS.get(payload['status'], payload['status'])}。"
        + (f"说明：{comment}" if comment else ""),
        dedup_key=f"challenge-application:{event.id}",
        data={
            "challenge_id": payload["challenge_id"],
            "application_id": payload["application_id"],
            "status": payload["status"],
        },
    )
    await notify(session, await audience(session, uuid.UUID(payload["organisation_id"])), message)


async def notify_cancellation(session: AsyncSession, event: Event) -> None:
    """Every organisation with an application hears the poster's reason."""
    payload = event.payload
    for application in await repo.all_applications(session, uuid.UUID(payload["challenge_id"])):
        message = Message(
            kind="challenge.cancelled",
            title=f"榜单已撤销：{payload['title']}",
            body=f"发榜方撤销了榜单 {payload['code'] or ''}，原因：{payload['reason']}",
            dedup_key=f"challenge-cancelled:{event.id}",
            data={"challenge_id": payload["challenge_id"], "application_id": str(application.id)},
        )
        await notify(session, await audience(session, application.organisation_id), message)


async def notify_expert(session: AsyncSession, event: Event) -> None:
    payload = event.payload
    expert = await session.get(User, uuid.UUID(payload["expert_user_id"]))
    if expert is None or not expert.is_active:
        return
    message = Message(
        kind="challenge.expert_assigned",
        title=f"您被指派评审揭榜挂帅榜单：{payload['title']}",
        body=f"榜单 {payload['code']}，揭榜截止后可在平台查看申请并评分。",
        dedup_key=f"challenge-expert:{event.id}",
        data={"challenge_id": payload["challenge_id"]},
    )
    await notify(session, [expert], message)
