from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.db import unit_of_work
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import AuditEvent, OutboxEvent
from services.marketplace.outbox.relay import Event, HandlerRegistry, OutboxRelay
from services.marketplace.outbox.repository import replay_dead_letters
from services.marketplace.outbox.service import emit_event
from tests.support import Actors


async def emit(app: FastAPI, topic: str, aggregate_id: str) -> int:
    async with unit_of_work(app.state.sessionmaker) as session:
        event = await emit_event(
            session, topic=topic, aggregate_type="test", aggregate_id=aggregate_id, payload={"n": aggregate_id}
        )
        return event.id


async def make_due(app: FastAPI) -> None:
    """Skip the backoff wait so that the test does not sleep."""
    async with unit_of_work(app.state.sessionmaker) as session:
        await session.execute(update(OutboxEvent).values(available_at=utcnow()))


async def status_of(app: FastAPI, event_id: int) -> OutboxEvent:
    async with app.state.sessionmaker() as session:
        event = await session.get(OutboxEvent, event_id)
        assert event is not None
        return event


def relay_for(app: FastAPI, registry: HandlerRegistry, max_attempts: int = 3) -> OutboxRelay:
    return OutboxRelay(app.state.sessionmaker, registry, max_attempts=max_attempts, backoff_base_seconds=30)


async def test_events_are_delivered_to_every_matching_handler_once(app: FastAPI) -> None:
    calls: Counter[str] = Counter()
    registry = HandlerRegistry()

    async def index(session: AsyncSession, event: Event) -> None:
        calls[f"index:{event.aggregate_id}"] += 1

    async def notify(session: AsyncSession, event: Event) -> None:
        calls[f"notify:{event.aggregate_id}"] += 1

    registry.register("listing.*", "index", index)
    registry.register("listing.published", "notify", notify)
    first = await emit(app, "listing.published", "1")
    second = await emit(app, "listing.updated", "2")
    relay = relay_for(app, registry)
    assert await relay.relay_batch() == 2
    assert await relay.relay_batch() == 0
    assert calls == Counter({"index:1": 1, "notify:1": 1, "index:2": 1})
    assert (await status_of(app, first)).status == "delivered"
    assert (await status_of(app, second)).delivered_at is not None


async def test_a_failing_handler_is_retried_with_backoff_without_rerunning_its_siblings(app: FastAPI) -> None:
    calls: Counter[str] = Counter()
    registry = HandlerRegistry()

    async def steady(session: AsyncSession, event: Event) -> None:
        calls["steady"] += 1
        session.add(AuditEvent(action="steady.ran", object_type="test", object_id=event.aggregate_id))

    async def flaky(session: AsyncSession, event: Event) -> None:
        calls["flaky"] += 1
        session.add(AuditEvent(action="flaky.half_written", object_type="test", object_id=event.aggregate_id))
        await session.flush()
        if calls["flaky"] < 3:
            raise RuntimeError("search engine unreachable")

    registry.register("contract.*", "steady", steady)
    registry.register("contract.*", "flaky", flaky)
    event_id = await emit(app, "contract.registered", "c-1")
    relay = relay_for(app, registry, max_attempts=5)

    assert await relay.relay_batch() == 1
    failed = await status_of(app, event_id)
    assert failed.status == "pending"
    assert failed.attempts == 1
    assert "search engine unreachable" in (failed.last_error or "")
    assert failed.available_at > utcnow()
    assert await relay.relay_batch() == 0  # not due yet: the backoff holds it

    for _ in range(2):
        await make_due(app)
        await relay.relay_batch()
    delivered = await status_of(app, event_id)
    assert delivered.status == "delivered"
    assert calls == Counter({"steady": 1, "flaky": 3})
    async with app.state.sessionmaker() as session:
        actions = Counter(await session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "test")))
    # the failed attempts' writes were rolled back with their savepoints
    assert actions == Counter({"steady.ran": 1, "flaky.half_written": 1})


async def test_a_failing_event_does_not_block_later_events(app: FastAPI) -> None:
    delivered: list[str] = []
    registry = HandlerRegistry()

    async def handler(session: AsyncSession, event: Event) -> None:
        if event.aggregate_id == "poison":
            raise ValueError("cannot handle this one")
        delivered.append(event.aggregate_id)

    registry.register("*", "handler", handler)
    await emit(app, "x.created", "poison")
    await emit(app, "x.created", "good-1")
    await emit(app, "x.created", "good-2")
    await relay_for(app, registry).relay_batch()
    assert delivered == ["good-1", "good-2"]


async def test_events_exhausting_their_attempts_become_dead_letters_and_can_be_replayed(app: FastAPI) -> None:
    healthy = False
    registry = HandlerRegistry()

    async def handler(session: AsyncSession, event: Event) -> None:
        if not healthy:
            raise ConnectionError("down")

    registry.register("*", "handler", handler)
    event_id = await emit(app, "y.created", "1")
    relay = relay_for(app, registry, max_attempts=2)
    for _ in range(2):
        await make_due(app)
        await relay.relay_batch()
    dead = await status_of(app, event_id)
    assert dead.status == "dead"
    assert dead.attempts == 2
    await make_due(app)
    assert await relay.relay_batch() == 0

    async with unit_of_work(app.state.sessionmaker) as session:
        assert await replay_dead_letters(session, None) == [event_id]
    healthy = True
    assert await relay.relay_batch() == 1
    assert (await status_of(app, event_id)).status == "delivered"


async def test_two_relays_share_the_queue_without_double_delivery(app: FastAPI) -> None:
    seen: Counter[str] = Counter()
    registry = HandlerRegistry()

    async def handler(session: AsyncSession, event: Event) -> None:
        await asyncio.sleep(0.01)
        seen[event.aggregate_id] += 1

    registry.register("*", "handler", handler)
    for n in range(20):
        await emit(app, "z.created", str(n))
    relays = [relay_for(app, registry), relay_for(app, registry)]
    counts = await asyncio.gather(*(relay.relay_batch() for relay in relays))
    assert sum(counts) == 20
    assert all(count > 0 for count in counts)
    assert set(seen.values()) == {1}
    assert len(seen) == 20


async def test_dead_letters_are_listed_and_replayed_by_platform_staff_only(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    registry = HandlerRegistry()

    async def failing(session: AsyncSession, event: Event) -> None:
        raise RuntimeError("boom")

    registry.register("*", "failing", failing)
    event_id = await emit(app, "w.created", "1")
    await relay_for(app, registry, max_attempts=1).relay_batch()
    admin = actors["platform_admin"].headers
    listed = await client.get("/v1/admin/outbox/dead-letters", headers=admin)
    assert [item["id"] for item in listed.json()["items"]] == [event_id]
    assert (await client.get("/v1/admin/outbox/dead-letters", headers=actors["a_admin"].headers)).status_code == 403
    replayed = await client.post(f"/v1/admin/outbox/dead-letters/{event_id}/replay", headers=admin)
    assert replayed.status_code == 200
    assert replayed.json()["status"] == "pending"
    assert (await client.post(f"/v1/admin/outbox/dead-letters/{event_id}/replay", headers=admin)).status_code == 404
