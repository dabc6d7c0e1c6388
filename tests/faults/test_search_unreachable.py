"""The search engine unreachable while PostgreSQL is fine: writes go on, search answers 503, the index catches up.

The embedded search engine gets a pool of its own (``TECHMARKET_SEARCH_DATABASE_URL``) that reaches PostgreSQL
through a TCP forwarder the test controls. The real ``techmarket serve`` (uvicorn) and ``techmarket worker`` run
in child processes, both given the forwarder's address. While the forwarder is cut: creating, submitting and
publishing listings answers 2xx, ``/v1/search/*`` answers 503 ``application/problem+json`` with ``Retry-After``,
``/readyz`` reports the search engine (not the database) down, and the outbox events of the new listings stay
pending with growing attempts failing on ``SearchUnavailable`` (never dead letters). Once restored, the index
catches up from the outbox by itself and search finds them. A second test checks that a search engine with its
own pool disposes of it on ``close()`` (and that one sharing the main pool leaves it alone).

Run alone:  .venv/bin/python -m pytest tests/faults/test_search_unreachable.py -q
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from services.marketplace import db
from services.marketplace.kit.errors import PROBLEM_MEDIA_TYPE
from services.marketplace.search.engines import create_search_engine
from tests.faults.harness import (
    Cluster,
    Process,
    UnixForwarder,
    create_cast,
    fault_settings,
    service_environment,
    serving,
    wait_for,
)
from tests.support import Actors, achievement_body, demand_body

CATCH_UP_DEADLINE = 30.0

BASELINE = {"title": "量子点显示材料制备技术", "keywords": ["量子点", "显示材料"]}
DURING_CUT = {"title": "钙钛矿太阳能电池封装技术", "keywords": ["钙钛矿", "光伏封装"]}
DEMAND_DURING_CUT = {"title": "氢燃料电池双极板技术需求", "keywords": ["双极板", "氢燃料"]}


async def publish(client: httpx.AsyncClient, actors: Actors, kind: str, owner: str, body: dict[str, Any]) -> str:
    """Create, submit and approve over HTTP; each step must answer 2xx."""
    created = await client.post(f"/v1/{kind}", json=body, headers=actors[owner].headers)
    assert created.status_code == 201, created.text
    listing_id: str = created.json()["id"]
    submitted = await client.post(f"/v1/{kind}/{listing_id}/submit", headers=actors[owner].headers)
    assert submitted.status_code == 200, submitted.text
    approved = await client.post(f"/v1/{kind}/{listing_id}/approve", headers=actors["platform_admin"].headers)
    assert approved.status_code == 200, approved.text
    return listing_id


async def found(client: httpx.AsyncClient, actors: Actors, kind: str, query: str) -> set[str]:
    response = await client.get(f"/v1/search/{kind}", params={"q": query}, headers=actors["b_admin"].headers)
    if response.status_code != 200:
        return set()
    return {hit["document"]["id"] for hit in response.json()["hits"]}


async def outbox_of(connection: asyncpg.Connection, aggregate_ids: list[str]) -> list[asyncpg.Record]:
    return await connection.fetch(
        "SELECT id, topic, status, attempts, last_error FROM outbox_events WHERE aggregate_id = ANY($1) ORDER BY id",
        aggregate_ids,
    )


async def test_search_engine_cut_off_while_postgresql_answers(
    cluster: Cluster, fault_database: str, tmp_path: Path
) -> None:
    url = cluster.url(fault_database)
    actors = await create_cast(fault_settings(url))
    proxy = UnixForwarder(cluster.socket_path)
    await proxy.start()
    env = service_environment(
        url,
        TECHMARKET_SEARCH_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{fault_database}",
        TECHMARKET_RUN_WORKER_IN_PROCESS="false",
        TECHMARKET_OUTBOX_POLL_INTERVAL_SECONDS="0.2",
        TECHMARKET_OUTBOX_BACKOFF_BASE_SECONDS="0.5",
    )
    figures: dict[str, Any] = {}
    worker = Process(["worker"], env, tmp_path / "worker.log")
    worker.start()
    watch = await cluster.connect(fault_database)
    try:
        async with (
            serving(env, tmp_path / "serve.log") as (service, base_url),
            httpx.AsyncClient(base_url=base_url, timeout=10.0) as client,
        ):
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            baseline = await publish(client, actors, "achievements", "a_admin", achievement_body(**BASELINE))

            async def baseline_found() -> bool:
                return baseline in await found(client, actors, "achievements", "量子点")

            await wait_for(baseline_found, within=CATCH_UP_DEADLINE, what="the baseline listing in the index")
            assert proxy.connections > 0, "search must go through the forwarder"

            await proxy.cut()
            cut_at = time.monotonic()
            achievement = await publish(client, actors, "achievements", "a_admin", achievement_body(**DURING_CUT))
            demand = await publish(client, actors, "demands", "b_admin", demand_body(**DEMAND_DURING_CUT))
            for kind, query in (("achievements", "钙钛矿"), ("demands", "双极板")):
                response = await client.get(f"/v1/search/{kind}", params={"q": query})
                assert response.status_code == 503, response.text
                assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
                assert response.json()["type"].endswith("/service-unavailable")
                assert int(response.headers["retry-after"]) > 0
            readiness = await client.get("/readyz")
            assert readiness.status_code == 503, readiness.text
            assert readiness.json() | {"status": None} == {
                "status": None,
                "database": True,
                "search": False,
                "search_engine": "embedded",
            }

            async def retried() -> bool:
                events = await outbox_of(watch, [achievement, demand])
                assert all(event["status"] != "dead" for event in events), events
                return any(event["attempts"] >= 3 for event in events)

            await wait_for(retried, within=CATCH_UP_DEADLINE, what="the index events to be retried")
            events = await outbox_of(watch, [achievement, demand])
            assert {event["status"] for event in events} == {"pending"}, events
            retrying = [event for event in events if event["attempts"] > 0]
            assert all("SearchUnavailable" in (event["last_error"] or "") for event in retrying), retrying
            figures["attempts_during_cut"] = {event["topic"]: event["attempts"] for event in events}
            figures["cut_seconds"] = round(time.monotonic() - cut_at, 1)

            await proxy.restore()
            restored_at = time.monotonic()

            async def caught_up() -> bool:
                return achievement in await found(client, actors, "achievements", "钙钛矿") and demand in await found(
                    client, actors, "demands", "双极板"
                )

            await wait_for(caught_up, within=CATCH_UP_DEADLINE, what="the index to catch up after the restore")
            figures["catch_up_seconds"] = round(time.monotonic() - restored_at, 1)

            async def outbox_drained() -> bool:
                return not await watch.fetchval("SELECT count(*) FROM outbox_events WHERE status <> 'delivered'")

            await wait_for(outbox_drained, within=CATCH_UP_DEADLINE, what="the outbox to drain")
            assert (await client.get("/readyz")).status_code == 200
            assert service.alive
        log = service.log_tail(100_000)
        assert "unhandled error" not in log, log[-5000:]
    finally:
        await watch.close()
        worker_exit = await asyncio.to_thread(worker.stop)
        await proxy.close()
    assert worker_exit == 0, worker.log_tail()
    figures["forwarded_connections"] = proxy.connections
    print(f"\nsearch outage figures: {figures}")


async def test_a_search_engine_with_its_own_pool_disposes_of_it_on_close(cluster: Cluster, fault_database: str) -> None:
    url = cluster.url(fault_database)
    main = db.create_engine(fault_settings(url), url)
    watch = await cluster.connect(fault_database)

    async def search_connections() -> int:
        count: int = await watch.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'techmarket-search'",
            fault_database,
        )
        return count

    try:
        shared = create_search_engine(fault_settings(url), main)
        assert await shared.healthy()
        await shared.close()
        assert main.pool.checkedin() == 1, "closing a shared engine must leave the main pool alone"

        own = create_search_engine(fault_settings(url, search_database_url=url), main)
        assert await own.healthy()
        assert await search_connections() == 1
        await own.close()

        async def released() -> bool:
            return await search_connections() == 0

        await wait_for(released, within=10, what="the search pool's connections to close")
    finally:
        await watch.close()
        await main.dispose()
