from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from services.marketplace.db import unit_of_work
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.listings import service, tasks
from services.marketplace.listings.specs import ACHIEVEMENTS
from services.marketplace.models import Achievement, AuditEvent, Demand, OutboxEvent
from tests.marketplace.conftest import Publish
from tests.support import Actors


async def topics(app: FastAPI, listing_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == listing_id).order_by(OutboxEvent.id)
        )
        return list(rows)


async def test_the_worker_expires_listings_past_their_validity_or_deadline(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    achievement = await publish()
    current = await publish()
    demand = await publish("demands", owner="b_admin")
    past = utcnow() - timedelta(minutes=1)
    async with unit_of_work(app.state.sessionmaker) as session:
        await session.execute(
            update(Achievement).where(Achievement.id == uuid.UUID(achievement["id"])).values(valid_until=past)
        )
        await session.execute(update(Demand).where(Demand.id == uuid.UUID(demand["id"])).values(deadline=past))

    assert await tasks.close_expired_listings(app.state.sessionmaker) == 2
    assert await tasks.close_expired_listings(app.state.sessionmaker) == 0
    owner = actors["a_admin"].headers
    assert (await client.get(f"/v1/achievements/{achievement['id']}", headers=owner)).json()["status"] == "expired"
    assert (await client.get(f"/v1/achievements/{current['id']}")).json()["status"] == "published"
    assert (await client.get(f"/v1/achievements/{achievement['id']}")).status_code == 404
    assert (await topics(app, achievement["id"]))[-1] == "achievement.expired"
    assert (await topics(app, demand["id"]))[-1] == "demand.expired"
    async with app.state.sessionmaker() as session:
        expiry_audits = await session.scalar(
            select(AuditEvent.actor_user_id).where(AuditEvent.action == "achievement.expire")
        )
    assert expiry_audits is None  # the worker acts, not a person


async def test_an_expired_listing_is_renewed_through_review(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    listing = await publish()
    async with unit_of_work(app.state.sessionmaker) as session:
        await session.execute(update(Achievement).values(valid_until=utcnow() - timedelta(seconds=1)))
    await tasks.close_expired_listings(app.state.sessionmaker)
    url, owner = f"/v1/achievements/{listing['id']}", actors["a_admin"].headers
    stale = await client.post(f"{url}/submit", headers=owner)
    assert stale.status_code == 422
    await client.patch(url, json={"valid_until": "2032-12-31T16:00:00Z"}, headers=owner)
    assert (await client.post(f"{url}/submit", headers=owner)).json()["status"] == "submitted"


async def test_owners_are_reminded_once_after_180_days_without_reverification(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    listing = await publish()
    async with unit_of_work(app.state.sessionmaker) as session:
        await session.execute(update(Achievement).values(last_verified_at=utcnow() - timedelta(days=181)))
    assert await tasks.remind_reverification(app.state.sessionmaker) == 1
    assert await tasks.remind_reverification(app.state.sessionmaker) == 0
    assert (await topics(app, listing["id"]))[-1] == "achievement.reverification_due"
    await client.post(f"/v1/achievements/{listing['id']}/reverify", headers=actors["a_admin"].headers)
    assert await tasks.remind_reverification(app.state.sessionmaker) == 0


async def test_a_registered_contract_marks_the_listing_transacted(
    app: FastAPI, client: httpx.AsyncClient, publish: Publish
) -> None:
    listing = await publish()
    contract_id = uuid.uuid4()
    async with unit_of_work(app.state.sessionmaker) as session:
        await service.mark_transacted(session, ACHIEVEMENTS, uuid.UUID(listing["id"]), contract_id, None)
    public = (await client.get(f"/v1/achievements/{listing['id']}")).json()
    assert public["status"] == "transacted"
    assert (await topics(app, listing["id"]))[-1] == "achievement.transacted"
