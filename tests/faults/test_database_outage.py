"""PostgreSQL stopped under load: while the database is down the service answers 503 ``application/problem+json``
with ``Retry-After`` (never a 500, never a hang), ``/readyz`` says not ready; when the database is back the
service recovers by itself (no restart) and every write it acknowledged with a 2xx is in the database.

The load test runs the real ``techmarket serve`` (uvicorn) in a child process against a PostgreSQL cluster of
its own, with several concurrent clients writing achievement drafts (each titled with a unique marker) and
reading, and stops the cluster with ``pg_ctl stop -m fast`` in the middle. Two in-process tests pin down what
it found: a commit that fails must not follow a 2xx the client already received (the session used to commit
after the response was sent), and every way of failing to reach PostgreSQL (refused, socket gone, timeout,
"the database system is starting up / shutting down", too many connections) is a 503 for the database and for
the embedded search engine.

Run alone:  .venv/bin/python -m pytest tests/faults/test_database_outage.py -q
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from services.marketplace import db
from services.marketplace.app import create_app
from services.marketplace.dependencies import get_session
from services.marketplace.kit.errors import PROBLEM_MEDIA_TYPE
from services.marketplace.search.engines import prepare_indexes
from services.matching.embedded import EmbeddedEngine
from services.matching.engine import SearchUnavailable
from services.matching.indexes import ACHIEVEMENTS
from services.matching.query import SearchQuery
from tests.faults.harness import Cluster, Process, create_cast, fault_settings, service_environment, serving, wait_for
from tests.support import Actors, achievement_body

WRITERS = 3
READERS = 2
PAUSE = 0.02  # between one client's requests, so the 503s of the outage do not spin two cores
REQUEST_TIMEOUT = 10.0  # a request taking longer than this is a hang
WRITES_BEFORE_STOP = 30
RESPONSES_DURING_OUTAGE = 40
RECOVERY_DEADLINE = 20.0
WRITES_AFTER_RECOVERY = 15


@dataclass
class Observation:
    method: str
    path: str
    started: float
    finished: float
    status: int | None = None
    content_type: str = ""
    retry_after: str | None = None
    problem_type: str | None = None
    error: str | None = None


@dataclass
class Load:
    """Writers create drafts with unique markers (acknowledged ones are remembered); readers list and fetch."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    acknowledged: dict[str, tuple[str, float]] = field(default_factory=dict)  # id → (marker, time)
    submitted: set[str] = field(default_factory=set)
    observations: list[Observation] = field(default_factory=list)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response = await self.client.request(method, path, headers=self.headers, **kwargs)
        except httpx.HTTPError as exc:
            self.observations.append(Observation(method, path, started, time.monotonic(), error=repr(exc)))
            return None
        seen = Observation(
            method,
            path,
            started,
            time.monotonic(),
            status=response.status_code,
            content_type=response.headers.get("content-type", ""),
            retry_after=response.headers.get("retry-after"),
        )
        if response.headers.get("content-type", "").startswith(PROBLEM_MEDIA_TYPE):
            seen.problem_type = response.json().get("type")
        self.observations.append(seen)
        return response

    async def write(self) -> None:
        """Create a draft, then submit it (a state change with an outbox event for the worker)."""
        while not self.stopping.is_set():
            marker = uuid.uuid4().hex
            body = achievement_body(title=f"故障注入成果 {marker}")
            response = await self.request("POST", "/v1/achievements", json=body)
            if response is not None and response.status_code == 201:
                listing_id = response.json()["id"]
                self.acknowledged[listing_id] = (marker, time.monotonic())
                await asyncio.sleep(PAUSE)
                submitted = await self.request("POST", f"/v1/achievements/{listing_id}/submit")
                if submitted is not None and submitted.status_code == 200:
                    self.submitted.add(listing_id)
            await asyncio.sleep(PAUSE)

    async def read(self) -> None:
        rounds = 0
        while not self.stopping.is_set():
            rounds += 1
            if rounds % 2 and self.acknowledged:
                listing_id = random.choice(list(self.acknowledged))
                await self.request("GET", f"/v1/achievements/{listing_id}")
            else:
                await self.request("GET", "/v1/achievements", params={"limit": 5})
            await asyncio.sleep(PAUSE)

    def between(self, start: float, end: float) -> list[Observation]:
        """Requests that both started and finished inside [start, end]."""
        return [seen for seen in self.observations if seen.started >= start and seen.finished <= end]

    def writes_since(self, moment: float) -> int:
        return sum(1 for _, at in self.acknowledged.values() if at > moment)


async def test_postgresql_stopped_under_load(cluster: Cluster, fault_database: str, tmp_path: Path) -> None:
    url = cluster.url(fault_database)
    actors = await create_cast(fault_settings(url))
    env = service_environment(
        url, TECHMARKET_RUN_WORKER_IN_PROCESS="false", TECHMARKET_OUTBOX_POLL_INTERVAL_SECONDS="0.2"
    )
    figures: dict[str, Any] = {}
    worker = Process(["worker"], env, tmp_path / "worker.log")
    worker.start()
    try:
        async with (
            serving(env, tmp_path / "serve.log") as (service, base_url),
            httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT) as client,
        ):
            assert (await client.get("/readyz")).status_code == 200
            load = Load(client, actors["a_member"].headers)
            clients = [asyncio.create_task(load.write()) for _ in range(WRITERS)]
            clients += [asyncio.create_task(load.read()) for _ in range(READERS)]
            try:
                await wait_for(
                    _async(lambda: len(load.acknowledged) >= WRITES_BEFORE_STOP),
                    within=60,
                    what="writes before the stop",
                )
                figures["acknowledged_before_stop"] = len(load.acknowledged)
                stop_requested = time.monotonic()
                await asyncio.to_thread(cluster.stop, "fast")
                stopped = time.monotonic()
                figures["stop_seconds"] = round(stopped - stop_requested, 2)

                await wait_for(
                    _async(lambda: len(load.between(stopped, time.monotonic())) >= RESPONSES_DURING_OUTAGE),
                    within=30,
                    what="responses during the outage",
                )
                readiness = await client.get("/readyz")
                assert readiness.status_code == 503, readiness.text
                assert readiness.json()["database"] is False

                start_requested = time.monotonic()
                await asyncio.to_thread(cluster.start)
                started = time.monotonic()
                await wait_for(
                    _async(lambda: load.writes_since(started) > 0), within=RECOVERY_DEADLINE, what="a write to succeed"
                )
                figures["recovery_seconds"] = round(
                    min(at for _, at in load.acknowledged.values() if at > started) - started, 2
                )

                async def ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                await wait_for(ready, within=RECOVERY_DEADLINE, what="/readyz to report ready")
                await wait_for(
                    _async(lambda: load.writes_since(started) >= WRITES_AFTER_RECOVERY),
                    within=30,
                    what="writes after the recovery",
                )
            finally:
                load.stopping.set()
                await asyncio.gather(*clients)
            assert service.alive, "the service must survive the outage without a restart"
        watch = await cluster.connect(fault_database)
        try:

            async def outbox_drained() -> bool:
                if not worker.alive:
                    raise AssertionError(f"the worker exited:\n{worker.log_tail()}")
                return not await watch.fetchval("SELECT count(*) FROM outbox_events WHERE status <> 'delivered'")

            await wait_for(outbox_drained, within=RECOVERY_DEADLINE, what="the worker to drain the outbox")
        finally:
            await watch.close()
    finally:
        worker_exit = await asyncio.to_thread(worker.stop)
    assert worker_exit == 0, f"the worker must survive the outage and stop cleanly:\n{worker.log_tail()}"
    log = service.log_tail(100_000)

    statuses = Counter(seen.status for seen in load.observations)
    hangs_or_resets = [seen for seen in load.observations if seen.status is None]
    assert not hangs_or_resets, f"requests without an answer (hang > {REQUEST_TIMEOUT} s or reset): {hangs_or_resets}"
    assert set(statuses) <= {200, 201, 503}, f"unexpected statuses {statuses}\n{log[-5000:]}"
    unavailable = [seen for seen in load.observations if seen.status == 503]
    assert unavailable, "the outage must be visible to clients"
    for seen in unavailable:
        assert seen.content_type.startswith(PROBLEM_MEDIA_TYPE), seen
        assert str(seen.problem_type).endswith("/service-unavailable"), seen
        assert int(seen.retry_after or 0) > 0, seen
    during_outage = load.between(stopped, start_requested)
    assert during_outage
    assert all(seen.status == 503 for seen in during_outage), Counter(seen.status for seen in during_outage)
    assert max(seen.finished - seen.started for seen in load.observations) < REQUEST_TIMEOUT
    assert "unhandled error" not in log, log[-5000:]
    assert "Exception in ASGI application" not in log, log[-5000:]

    connection = await cluster.connect(fault_database)
    try:
        rows = await connection.fetch(
            "SELECT id::text AS id, title FROM achievements WHERE id = ANY($1::uuid[])", list(load.acknowledged)
        )
        events = await connection.fetch(
            "SELECT aggregate_id, status FROM outbox_events WHERE topic = 'achievement.submitted'"
        )
        listing_statuses = dict(
            await connection.fetch(
                "SELECT id::text, status FROM achievements WHERE id = ANY($1::uuid[])", list(load.submitted)
            )
        )
    finally:
        await connection.close()
    stored = {row["id"]: row["title"] for row in rows}
    assert listing_statuses == dict.fromkeys(load.submitted, "submitted"), "acknowledged submissions must be kept"
    delivered = {row["aggregate_id"] for row in events if row["status"] == "delivered"}
    assert load.submitted <= delivered, "every acknowledged submission's event must be handled by the worker"
    lost = {listing_id: marker for listing_id, (marker, _) in load.acknowledged.items() if listing_id not in stored}
    assert not lost, f"{len(lost)} acknowledged writes are missing: {lost}"
    for listing_id, (marker, _) in load.acknowledged.items():
        assert stored[listing_id] == f"故障注入成果 {marker}"

    figures.update(
        requests=len(load.observations),
        statuses=dict(statuses),
        acknowledged_writes=len(load.acknowledged),
        acknowledged_submits=len(load.submitted),
        requests_during_outage=len(during_outage),
        slowest_request_seconds=round(max(seen.finished - seen.started for seen in load.observations), 3),
        unavailable_causes=dict(Counter(_cause(line) for line in re.findall(r"database unavailable: (.*)", log))),
    )
    print(f"\nPostgreSQL outage figures: {figures}")


def _cause(message: str) -> str:
    for needle in ("shutting down", "starting up", "No such file", "Connect call failed", "closed", "terminat"):
        if needle in message:
            return needle
    return message[:60]


def _async(predicate: Any) -> Any:
    async def probe() -> bool:
        return bool(predicate())

    return probe


# --- deterministic regressions --------------------------------------------------------------------------------


@pytest.fixture
async def app_client(cluster: Cluster, fault_database: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient, Actors]]:
    app = create_app(fault_settings(cluster.url(fault_database)))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client, await Actors.create(app, client)


async def test_a_commit_that_fails_is_never_acknowledged(
    cluster: Cluster, fault_database: str, app_client: tuple[Any, httpx.AsyncClient, Actors]
) -> None:
    """The connection dies between the endpoint's return and the commit: the client must hear 503, not 201."""
    app, client, actors = app_client

    async def dying_session(request: Request) -> AsyncIterator[AsyncSession]:
        async with request.app.state.sessionmaker() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            admin = await cluster.connect("postgres")
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
            finally:
                await admin.close()
            await session.commit()

    marker = uuid.uuid4().hex
    app.dependency_overrides[get_session] = dying_session
    try:
        response = await client.post(
            "/v1/achievements", json=achievement_body(title=f"提交失败 {marker}"), headers=actors["a_member"].headers
        )
    finally:
        app.dependency_overrides.clear()
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    assert response.headers["retry-after"]
    connection = await cluster.connect(fault_database)
    try:
        stored = await connection.fetchval("SELECT count(*) FROM achievements WHERE title = $1", f"提交失败 {marker}")
        assert stored == 0, "the failed commit must not have written anything"
    finally:
        await connection.close()
    # and the pool recovered from the killed connection by itself
    ok = await client.post("/v1/achievements", json=achievement_body(), headers=actors["a_member"].headers)
    assert ok.status_code == 201, ok.text


CONNECT_FAILURES: list[BaseException] = [
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)"),
    FileNotFoundError(2, "No such file or directory"),
    TimeoutError(),
]


async def test_every_way_of_not_reaching_postgresql_is_a_503(
    cluster: Cluster, fault_database: str, app_client: tuple[Any, httpx.AsyncClient, Actors]
) -> None:
    """The database refusing in each way, then only the embedded search engine's connections refusing."""
    app, client, actors = app_client
    headers = actors["a_member"].headers
    working = (app.state.engine, app.state.sessionmaker, app.state.search)
    settings = app.state.settings
    for failure in CONNECT_FAILURES:

        async def refuse(failure: BaseException = failure) -> Any:
            raise failure

        engine = create_async_engine(cluster.url(fault_database), async_creator=refuse)
        try:
            app.state.engine, app.state.sessionmaker = engine, db.create_sessionmaker(engine)
            app.state.search = EmbeddedEngine(engine)
            for method, path, kwargs in [
                ("GET", "/v1/achievements", {}),
                ("POST", "/v1/achievements", {"json": achievement_body()}),
                ("GET", "/v1/search/achievements", {"params": {"q": "固态电池"}}),
            ]:
                await _assert_unavailable(await client.request(method, path, headers=headers, **kwargs), failure)
            readiness = await client.get("/readyz")
            assert readiness.status_code == 503, repr(failure)
            assert readiness.json()["database"] is False, repr(failure)

            app.state.engine, app.state.sessionmaker, _ = working
            app.state.search = search = EmbeddedEngine(engine)
            for kind in ("achievements", "demands"):
                response = await client.get(f"/v1/search/{kind}", params={"q": "固态电池"}, headers=headers)
                await _assert_unavailable(response, failure)
            # The engine itself says SearchUnavailable, which start-up and readiness rely on (not a crash, not a 500).
            with pytest.raises(SearchUnavailable):
                await search.search(ACHIEVEMENTS, SearchQuery(text="固态电池"))
            assert not await search.healthy()
            await prepare_indexes(search)
            app.state.settings = settings.model_copy(update={"search_database_url": cluster.url(fault_database)})
            readiness = await client.get("/readyz")
            assert readiness.status_code == 503, (repr(failure), readiness.text)
            assert (readiness.json()["database"], readiness.json()["search"]) == (True, False), repr(failure)
        finally:
            app.state.engine, app.state.sessionmaker, app.state.search = working
            app.state.settings = settings
            await engine.dispose()


async def _assert_unavailable(response: httpx.Response, failure: BaseException) -> None:
    context = (repr(failure), response.request.url.path, response.text)
    assert response.status_code == 503, context
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), context
    assert int(response.headers["retry-after"]) > 0, context
