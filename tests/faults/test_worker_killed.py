"""The outbox worker SIGKILLed mid-batch: after a restart the backlog drains and every effect happened exactly once.

A backlog is built through the API (published achievements and demands → index upserts and 精准推送
notifications; registered contracts → statistics facts and rollups) plus Stripe inbox events (→ ledger postings
of captured payments). The database is then cloned, and two real ``techmarket worker`` processes drain the two
copies: one undisturbed (the reference), one SIGKILLed twice while events are being handled and restarted.
Afterwards, on the killed copy: no event pending or dead, each handler recorded once per event, the index holds
every searchable listing exactly once at its current version (``check_index``), the statistics equal a
recomputation from the contracts (``verify_statistics``), the ledger reconciles (``reconcile``) with each payment
captured once; and its notifications, index, rollups and balances equal the reference's.

Run alone:  .venv/bin/python -m pytest tests/faults/test_worker_killed.py -q
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from services.marketplace import db
from services.marketplace.app import create_app
from services.marketplace.models import Payment, StatContractChange
from services.marketplace.models.identity import OrganisationKind, Role
from services.marketplace.models.settlement import LedgerEntry
from services.marketplace.search.service import INDEXED_KINDS, check_index
from services.marketplace.settlement.ledger import reconcile
from services.marketplace.settlement.stripe_events import store_event
from services.marketplace.statistics.verify import verify_statistics
from services.marketplace.worker import build_handler_registry
from services.matching.embedded import EmbeddedEngine
from tests.faults.harness import Cluster, Process, fault_settings, service_environment, wait_for
from tests.marketplace.contracts.conftest import Deals
from tests.support import Actors, achievement_body, demand_body

LISTINGS_PER_THEME = 3
CONTRACTS = 4
PAYMENTS = 6
KILL_AT = (0.3, 0.65)  # share of events delivered when the worker is SIGKILLed
DRAIN_DEADLINE = 90.0

THEMES = [
    {
        "achievement": {"title": "固态锂电池电解质制备技术", "keywords": ["固态电池", "电解质", "锂电"]},
        "demand": {"title": "电池包热失控早期预警技术需求", "keywords": ["热失控", "电池包", "锂电"]},
        "codes": {"field_code": "new_energy", "industry_code": "new_energy_vehicles"},
    },
    {
        "achievement": {"title": "工业机器人视觉引导抓取系统", "keywords": ["机器人", "视觉", "抓取"]},
        "demand": {"title": "焊装线机器人视觉定位技术需求", "keywords": ["机器人", "视觉", "焊装"]},
        "codes": {"field_code": "advanced_manufacturing", "industry_code": "high_end_equipment"},
    },
    {
        "achievement": {"title": "动力电池梯次利用检测技术", "keywords": ["梯次利用", "锂电", "检测"]},
        "demand": {"title": "退役动力电池快速分选技术需求", "keywords": ["梯次利用", "分选", "锂电"]},
        "codes": {"field_code": "new_energy", "industry_code": "new_energy_vehicles"},
    },
]


async def build_backlog(database_url: str) -> dict[str, int]:
    """Listings, contracts and Stripe events through the real code paths; no worker runs meanwhile."""
    app = create_app(fault_settings(database_url))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            actors = await Actors.create(app, client)
            await actors.add_organisation("registry", OrganisationKind.government, {"registrar": [Role.registrar]})
            owners = {"achievements": itertools.cycle(["a_admin", "a_member"]), "demands": itertools.cycle(["b_admin"])}
            published = 0
            for theme, number in itertools.product(THEMES, range(LISTINGS_PER_THEME)):
                for kind, body in (("achievements", achievement_body), ("demands", demand_body)):
                    fields = theme["achievement" if kind == "achievements" else "demand"]
                    overrides = {**fields, **theme["codes"], "title": f"{fields['title']}（{number + 1}）"}
                    await publish(client, actors, kind, next(owners[kind]), body(**overrides))
                    published += 1
            deals = Deals(client, actors)
            for number in range(CONTRACTS):
                await deals.registered(contract_amount_fen=(number + 1) * 50_000_000)
        payments = await store_stripe_events(app, actors.organisations["b"])
    return {"published": published, "contracts": CONTRACTS, "payments": payments}


async def publish(client: httpx.AsyncClient, actors: Actors, kind: str, owner: str, body: dict[str, Any]) -> None:
    created = await client.post(f"/v1/{kind}", json=body, headers=actors[owner].headers)
    assert created.status_code == 201, created.text
    url = f"/v1/{kind}/{created.json()['id']}"
    assert (await client.post(f"{url}/submit", headers=actors[owner].headers)).status_code == 200
    approved = await client.post(f"{url}/approve", headers=actors["platform_admin"].headers)
    assert approved.status_code == 200, approved.text


async def store_stripe_events(app: Any, payer: uuid.UUID) -> int:
    """Pending Stripe payments and their ``payment_intent.succeeded`` webhooks, as the webhook endpoint stores them."""
    async with db.unit_of_work(app.state.sessionmaker) as session:
        for number in range(PAYMENTS):
            amount = (number + 1) * 100_000
            intent = f"pi_fault_{uuid.uuid4().hex[:16]}"
            session.add(
                Payment(
                    rail="stripe",
                    purpose="escrow_deposit",
                    payer_organisation_id=payer,
                    amount_fen=amount,
                    stripe_payment_intent_id=intent,
                )
            )
            await session.flush()
            event = {
                "id": f"evt_fault_{uuid.uuid4().hex[:16]}",
                "type": "payment_intent.succeeded",
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": {"id": intent, "amount": amount, "amount_received": amount, "currency": "cny"}},
            }
            assert await store_event(session, event)
    return PAYMENTS


async def outbox_progress(connection: asyncpg.Connection) -> tuple[int, int]:
    row = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'delivered') AS delivered, count(*) AS total FROM outbox_events"
    )
    return int(row["delivered"]), int(row["total"])


async def drained(connection: asyncpg.Connection) -> bool:
    return not await connection.fetchval("SELECT count(*) FROM outbox_events WHERE status <> 'delivered'")


async def effects(connection: asyncpg.Connection) -> dict[str, Any]:
    """What the handlers did, in terms comparable across two databases cloned from one."""
    notifications = await connection.fetch(
        "SELECT user_id::text, kind, dedup_key, title, body, data::text FROM notifications ORDER BY 1, 3"
    )
    index = await connection.fetch("SELECT index_name, doc_id, version FROM search_documents ORDER BY 1, 2")
    rollups = await connection.fetch("SELECT * FROM stat_rollups ORDER BY 1, 2, 3, 4, 5, 6")
    balances = await connection.fetch(
        """
        SELECT a.kind, a.organisation_id::text, a.currency, sum(b.balance_fen) AS balance, sum(b.held_fen) AS held
        FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """
    )
    return {
        "notifications": [tuple(row) for row in notifications],
        "index": [tuple(row) for row in index],
        "rollups": [tuple(row) for row in rollups],
        "balances": [tuple(row) for row in balances],
    }


async def test_worker_sigkilled_mid_batch_handles_every_event_exactly_once(
    cluster: Cluster, fault_database: str, tmp_path: Path
) -> None:
    url = cluster.url(fault_database)
    began = time.monotonic()
    backlog = await build_backlog(url)
    backlog["backlog_seconds"] = round(time.monotonic() - began, 1)
    connection = await cluster.connect(fault_database)
    try:
        # Ranking reads PostgreSQL's statistics of the index: no autoanalyze may make the two runs rank apart.
        await connection.execute("ALTER TABLE search_documents SET (autovacuum_enabled = false)")
        delivered, total = await outbox_progress(connection)
        assert delivered == 0
        assert total >= 60, "the backlog must be large enough to kill the worker in the middle of it"
    finally:
        await connection.close()
    reference_database = f"{fault_database}_reference"
    admin = await cluster.connect("postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{reference_database}" TEMPLATE "{fault_database}" STRATEGY FILE_COPY')
    finally:
        await admin.close()

    variables = {"TECHMARKET_OUTBOX_POLL_INTERVAL_SECONDS": "0.2", "TECHMARKET_OUTBOX_BACKOFF_BASE_SECONDS": "0.5"}
    killed = Process(["worker"], service_environment(url, **variables), tmp_path / "worker.log")
    reference = Process(
        ["worker"], service_environment(cluster.url(reference_database), **variables), tmp_path / "reference.log"
    )
    figures: dict[str, Any] = {"events": total, **backlog}
    watch = await cluster.connect(fault_database)
    reference_watch = await cluster.connect(reference_database)
    try:
        reference.start()
        killed.start()
        kills: list[dict[str, int]] = []
        for share in KILL_AT:

            async def far_enough(share: float = share) -> bool:
                if not killed.alive:
                    raise AssertionError(f"the worker exited by itself:\n{killed.log_tail()}")
                done, _ = await outbox_progress(watch)
                return done >= share * total

            await wait_for(far_enough, within=DRAIN_DEADLINE, interval=0.02, what=f"{share:.0%} of the events")
            in_transaction = await watch.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL"
                " AND application_name LIKE 'techmarket%'",
                fault_database,
            )
            await asyncio.to_thread(killed.kill)
            done, _ = await outbox_progress(watch)
            assert not await drained(watch), "the worker finished before it could be killed: make the backlog larger"
            kills.append(
                {
                    "delivered": done,
                    "worker_transactions_open": int(in_transaction),
                    "at": round(time.monotonic() - began, 1),
                }
            )
            killed.start()
        figures["kills"] = kills

        started = time.monotonic()

        async def both_drained() -> bool:
            for process in (killed, reference):
                if not process.alive:
                    raise AssertionError(f"a worker exited by itself:\n{process.log_tail()}")
            return await drained(watch) and await drained(reference_watch)

        await wait_for(both_drained, within=DRAIN_DEADLINE, interval=0.2, what="both outboxes to drain")
        figures["drain_after_last_restart_seconds"] = round(time.monotonic() - started, 1)
    finally:
        await watch.close()
        await reference_watch.close()
        for process in (killed, reference):
            assert await asyncio.to_thread(process.stop) == 0, process.log_tail()

    connection = await cluster.connect(fault_database)
    reference_connection = await cluster.connect(reference_database)
    try:
        statuses = dict(await connection.fetch("SELECT status, count(*) FROM outbox_events GROUP BY status"))
        assert set(statuses) == {"delivered"}, statuses  # handlers emit events of their own: more than the backlog
        figures["events_delivered"] = statuses["delivered"]
        registry = build_handler_registry(EmbeddedEngine(None))  # type: ignore[arg-type]
        runs = await connection.fetch(
            "SELECT e.id, e.topic, array_agg(r.handler ORDER BY r.handler) AS handlers"
            " FROM outbox_events e LEFT JOIN outbox_handler_runs r ON r.event_id = e.id GROUP BY e.id, e.topic"
        )
        for run in runs:
            expected = sorted(name for name, _ in registry.handlers_for(run["topic"]))
            assert [name for name in run["handlers"] if name is not None] == expected, dict(run)

        outcome, expected_outcome = await effects(connection), await effects(reference_connection)
        notified = outcome["notifications"]
        assert notified, "the backlog must push notifications"
        assert len({(user, key) for user, _, key, *_ in notified}) == len(notified), "duplicate notifications"
        for part in ("notifications", "index", "rollups", "balances"):
            assert outcome[part] == expected_outcome[part], f"{part} differ from the run without kills"
        assert len(outcome["index"]) == backlog["published"], "every published listing indexed exactly once"
        figures.update(notifications=len(notified), indexed=len(outcome["index"]))
    finally:
        await connection.close()
        await reference_connection.close()
        admin = await cluster.connect("postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{reference_database}" WITH (FORCE)')
        finally:
            await admin.close()

    settings = fault_settings(url)
    engine = db.create_engine(settings, url)
    try:
        search = EmbeddedEngine(engine)
        async with db.unit_of_work(db.create_sessionmaker(engine)) as session:
            for kind in INDEXED_KINDS.values():
                report = await check_index(session, search, kind)
                assert report.consistent, report
            statistics = await verify_statistics(session)
            assert statistics.consistent, statistics
            facts = await session.scalar(select(func.count()).select_from(StatContractChange))
            assert facts == CONTRACTS
            ledger = await reconcile(session)
            assert ledger.consistent, ledger
            payments = list(await session.scalars(select(Payment)))
            assert [payment.status for payment in payments] == ["succeeded"] * PAYMENTS
            captures = await session.execute(
                select(func.count()).where(LedgerEntry.reference.like("payment:%:capture"))
            )
            assert captures.scalar_one() == PAYMENTS
    finally:
        await engine.dispose()
    print(f"\nworker kill figures: {figures}")
