"""Ledger throughput: postings per second for milestone settlements, against plain single-row inserts.

    .venv/bin/python bench/bench_settlement.py [--duration 10] [--concurrency 8]

One settlement is what a paid and accepted milestone posts, in one transaction through the real ledger code
(``services.marketplace.settlement.ledger``): the capture (bank clearing → the buyer's escrow, 2 postings) and
the release (escrow → the seller's payable, the broker's commission, the platform fee: 4 postings). Every
settlement credits the same platform accounts (bank clearing, commissions payable, fee income): the hot
accounts. Each of ``--concurrency`` workers settles for its own buyer and seller on its own connection.

Three measurements in the same fresh embedded PostgreSQL, one after the other, each for ``--duration`` s:

* **ledger, sharded hot accounts** (the design): platform accounts spread over 16 balance rows;
* **ledger, one balance row per hot account** (the design without sharding, in a second currency so both
  sets of accounts live side by side): every settlement waits for the previous one's commit on the fee row;
* **plain inserts**: one row per transaction into a bare table, over asyncpg, same concurrency.

It prints settlements/s, postings/s, the p50/p99 latency of a settlement, the ratio of ledger postings/s to
plain inserted rows/s, and checks at the end that the ledger reconciles. Figures go to
``bench/results/settlement.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace import db
from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.migrate import upgrade_to_head_async
from services.marketplace.models import Organisation
from services.marketplace.models.settlement import AccountKind
from services.marketplace.seed_listings import demo_uscc
from services.marketplace.settings import Settings
from services.marketplace.settlement import ledger

RESULTS = Path(__file__).resolve().parent / "results" / "settlement.json"
GROSS_FEN = 1_000_001
COMMISSION_FEN = 30_000
FEE_FEN = 10_000
POSTINGS_PER_SETTLEMENT = 6


@dataclass
class Figures:
    name: str
    seconds: float
    operations: int
    rows_per_operation: int
    latencies_ms: list[float]

    @property
    def rows_per_second(self) -> float:
        return self.operations * self.rows_per_operation / self.seconds

    def summary(self) -> dict[str, float | int | str]:
        ordered = sorted(self.latencies_ms) or [0.0]
        return {
            "name": self.name,
            "operations_per_second": round(self.operations / self.seconds, 1),
            "rows_per_second": round(self.rows_per_second, 1),
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "operations": self.operations,
        }


async def _organisations(sessionmaker: async_sessionmaker[AsyncSession], count: int) -> list[uuid.UUID]:
    async with db.unit_of_work(sessionmaker) as session:
        created = []
        for n in range(count):
            name = f"基准结算机构 {n}"
            organisation = Organisation(
                kind="enterprise", name=name, region_code="340104", uscc=demo_uscc(name, "enterprise", "340104")
            )
            session.add(organisation)
            await session.flush()
            created.append(organisation.id)
        return created


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession], buyer: uuid.UUID, seller: uuid.UUID, currency: str
) -> None:
    settlement = uuid.uuid4()
    async with db.unit_of_work(sessionmaker) as session:
        clearing = await ledger.account(session, AccountKind.bank_clearing, None, currency)
        escrow = await ledger.account(session, AccountKind.escrow, buyer, currency)
        payable = await ledger.account(session, AccountKind.payable, seller, currency)
        commissions = await ledger.account(session, AccountKind.commissions_payable, None, currency)
        fees = await ledger.account(session, AccountKind.fee_income, None, currency)
        await ledger.post_entry(
            session,
            reference=f"bench:{settlement}:capture",
            kind="payment_milestone",
            legs=[ledger.debit(clearing, GROSS_FEN), ledger.credit(escrow, GROSS_FEN)],
        )
        await ledger.post_entry(
            session,
            reference=f"bench:{settlement}:release",
            kind="milestone_release",
            legs=[
                ledger.debit(escrow, GROSS_FEN),
                ledger.credit(payable, GROSS_FEN - COMMISSION_FEN - FEE_FEN),
                ledger.credit(commissions, COMMISSION_FEN),
                ledger.credit(fees, FEE_FEN),
            ],
        )


async def _create_accounts(
    sessionmaker: async_sessionmaker[AsyncSession], parties: list[tuple[uuid.UUID, uuid.UUID]], currency: str
) -> None:
    async with db.unit_of_work(sessionmaker) as session:
        for kind in (AccountKind.bank_clearing, AccountKind.commissions_payable, AccountKind.fee_income):
            await ledger.account(session, kind, None, currency)
        for buyer, seller in parties:
            await ledger.account(session, AccountKind.escrow, buyer, currency)
            await ledger.account(session, AccountKind.payable, seller, currency)


async def _measure_ledger(
    name: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    parties: list[tuple[uuid.UUID, uuid.UUID]],
    currency: str,
    duration: float,
) -> Figures:
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration

    async def worker(buyer: uuid.UUID, seller: uuid.UUID) -> int:
        done = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await _settle(sessionmaker, buyer, seller, currency)
            latencies.append((time.perf_counter() - started) * 1000)
            done += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(worker(buyer, seller) for buyer, seller in parties))
    return Figures(name, time.perf_counter() - started, sum(counts), POSTINGS_PER_SETTLEMENT, latencies)


async def _measure_plain_inserts(dsn: str, concurrency: int, duration: float) -> Figures:
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "CREATE TABLE IF NOT EXISTS bench_plain_inserts "
        "(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_id uuid NOT NULL, amount_fen bigint NOT NULL)"
    )
    await setup.close()
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    latencies: list[float] = []
    stop_at = time.perf_counter() + duration

    async def worker() -> int:
        done = 0
        account_id = uuid.uuid4()
        async with pool.acquire() as connection:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                await connection.execute(
                    "INSERT INTO bench_plain_inserts (account_id, amount_fen) VALUES ($1, $2)", account_id, GROSS_FEN
                )
                latencies.append((time.perf_counter() - started) * 1000)
                done += 1
        return done

    started = time.perf_counter()
    counts = await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.close()
    return Figures("plain single-row inserts", elapsed, sum(counts), 1, latencies)


def _libpq_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def run(duration: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="techmarket-bench-") as data_dir:
        url = start_embedded_postgres(Path(data_dir), delete_on_exit=True)
        await upgrade_to_head_async(url)
        settings = Settings(database_url=url, database_pool_size=concurrency, database_max_overflow=0)
        engine = db.create_engine(settings, url)
        sessionmaker = db.create_sessionmaker(engine)
        organisations = await _organisations(sessionmaker, 2 * concurrency)
        parties = list(zip(organisations[:concurrency], organisations[concurrency:], strict=True))
        await _create_accounts(sessionmaker, parties, "CNY")
        sharded_setting = ledger.PLATFORM_SHARDS
        ledger.PLATFORM_SHARDS = 1  # the comparison set: one balance row per hot account
        await _create_accounts(sessionmaker, parties, "XTS")
        ledger.PLATFORM_SHARDS = sharded_setting

        for currency in ("CNY", "XTS"):  # warm-up: connections, prepared statements
            await asyncio.gather(*(_settle(sessionmaker, buyer, seller, currency) for buyer, seller in parties))
        sharded = await _measure_ledger(
            f"ledger, hot accounts on {sharded_setting} rows", sessionmaker, parties, "CNY", duration
        )
        single = await _measure_ledger("ledger, hot accounts on 1 row", sessionmaker, parties, "XTS", duration)
        plain = await _measure_plain_inserts(_libpq_dsn(url), concurrency, duration)

        async with sessionmaker() as session:
            report = await ledger.reconcile(session)
        await engine.dispose()

    print(f"concurrency {concurrency}, {duration:.0f} s each, {POSTINGS_PER_SETTLEMENT} postings per settlement")
    print(f"{'':<36} {'ops/s':>9} {'rows/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs plain':>9}")
    for figures in (sharded, single, plain):
        summary = figures.summary()
        ratio = figures.rows_per_second / plain.rows_per_second
        print(
            f"{figures.name:<36} {summary['operations_per_second']:>9} {summary['rows_per_second']:>9} "
            f"{summary['p50_ms']:>8} {summary['p99_ms']:>8} {ratio:>9.2f}"
        )
    print(f"sharded / single-row hot accounts: {sharded.rows_per_second / single.rows_per_second:.2f}x")
    print(f"ledger reconciles: {report.consistent} ({report.accounts} accounts, {report.entries} entries)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "concurrency": concurrency,
                "duration_seconds": duration,
                "postings_per_settlement": POSTINGS_PER_SETTLEMENT,
                "results": [figures.summary() for figures in (sharded, single, plain)],
                "ledger_postings_per_plain_insert": round(sharded.rows_per_second / plain.rows_per_second, 3),
                "sharded_over_single_row": round(sharded.rows_per_second / single.rows_per_second, 3),
                "reconciled": report.consistent,
                "raw": [asdict(figures) | {"latencies_ms": len(figures.latencies_ms)} for figures in (sharded, single)],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    if not report.consistent:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.duration, arguments.concurrency))


if __name__ == "__main__":
    main()
