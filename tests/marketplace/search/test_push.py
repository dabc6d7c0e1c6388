from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.db import unit_of_work
from services.marketplace.models import ListingKind, Notification, User
from services.marketplace.notifications.service import DAILY_CAP_PER_USER, Message, notify
from services.marketplace.search.tasks import push_matches
from tests.marketplace.conftest import Publish
from tests.marketplace.search.conftest import Relay
from tests.support import Actors


async def notifications(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> list[dict[str, str]]:
    response = await client.get("/v1/notifications", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, str]] = response.json()["items"]
    return items


async def test_a_published_demand_is_pushed_to_matching_achievement_owners_and_its_poster(
    client: httpx.AsyncClient, actors: Actors, publish: Publish, relay: Relay
) -> None:
    await publish(keywords=["热失控", "电池包", "预警"], title="电池包热失控早期预警技术")
    await relay()
    demand = await publish("demands", owner="b_admin")
    await relay()
    owner_inbox = await notifications(client, actors["a_member"].headers)
    assert [item["kind"] for item in owner_inbox] == ["match.demand_published"]
    assert demand["title"] in owner_inbox[0]["title"]
    poster_inbox = await notifications(client, actors["b_admin"].headers)
    assert {item["kind"] for item in poster_inbox} >= {"match.top_for_demand"}
    assert await notifications(client, actors["d_admin"].headers) == []


async def test_pushes_are_deduplicated(app: FastAPI, publish: Publish, relay: Relay) -> None:
    await publish(keywords=["热失控", "电池包"], title="电池包热失控早期预警技术")
    demand = await publish("demands", owner="b_admin")
    await relay()
    async with app.state.sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(Notification))
    async with unit_of_work(app.state.sessionmaker) as session:
        document = {
            "id": demand["id"],
            "version": 1,
            "organisation_id": demand["organisation_id"],
            "title": demand["title"],
            "keywords": demand["keywords"],
            "problem": demand["problem"],
            "technical_indicators": demand["technical_indicators"],
            "field_code": demand["field_code"],
            "industry_code": demand["industry_code"],
            "region_code": demand["region_code"],
            "min_trl": demand["min_trl"],
            "budget_min_fen": demand["budget_min_fen"],
            "budget_max_fen": demand["budget_max_fen"],
            "cooperation_modes": demand["cooperation_modes"],
        }
        assert await push_matches(session, app.state.search, ListingKind.demand, document) == 0
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Notification)) == before


async def test_notifications_are_capped_per_user_per_day(app: FastAPI, actors: Actors) -> None:
    async with unit_of_work(app.state.sessionmaker) as session:
        user = await session.get(User, actors["a_admin"].user_id)
        assert user is not None
        sent = 0
        for n in range(DAILY_CAP_PER_USER + 5):
            sent += await notify(session, [user], Message("test", f"第 {n} 条", "正文", f"key-{n}", {}))
    assert sent == DAILY_CAP_PER_USER


async def test_users_read_only_their_own_notifications(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    async with unit_of_work(app.state.sessionmaker) as session:
        user = await session.get(User, actors["a_admin"].user_id)
        assert user is not None
        await notify(session, [user], Message("test", "标题", "正文", "k1", {}))
        await notify(session, [user], Message("test", "标题二", "正文", "k2", {}))
    inbox = await notifications(client, actors["a_admin"].headers, unread=True)
    assert len(inbox) == 2
    foreign = await client.post(f"/v1/notifications/{inbox[0]['id']}/read", headers=actors["a_member"].headers)
    assert foreign.status_code == 404
    read = await client.post(f"/v1/notifications/{inbox[0]['id']}/read", headers=actors["a_admin"].headers)
    assert read.json()["read_at"] is not None
    assert len(await notifications(client, actors["a_admin"].headers, unread=True)) == 1
    marked = await client.post("/v1/notifications/read-all", headers=actors["a_admin"].headers)
    assert marked.json() == {"marked": 1}
    assert (
        await client.post(f"/v1/notifications/{uuid.uuid4()}/read", headers=actors["a_admin"].headers)
    ).status_code == 404
