"""Embedded search engine at scale: indexing throughput, search latency and recommendation latency.

    .venv/bin/python bench/bench_search.py [--documents 100000] [--batch 1000] [--repeat 20]

Starts an embedded PostgreSQL in a temporary directory, migrates it, generates realistic achievement documents
by recombining the texts of shared/data/matching-dev (titles, keywords and sentences of different records, random
TRL, price, region and transfer modes), indexes them with the embedded engine in batches, then measures:

- indexing: documents per second;
- search: p50 / p99 for ~20 typical queries, plain and with filters and facets;
- recommendation: p99 of ``recommend_for_demand`` for the dev set's demands (candidates 50, top 10).

Benchmarks are not tests: the figures depend on the machine, which is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.migrate import upgrade_to_head_async
from services.matching.embedded import EmbeddedEngine
from services.matching.evaluation import load_dataset
from services.matching.indexes import ACHIEVEMENTS, region_prefixes
from services.matching.query import Eq, In, Prefix, Range, SearchQuery
from services.matching.recommend import recommend_for_demand

DEV_SET = Path(__file__).resolve().parents[1].parent / "shared/data/matching-dev"
DAY = 86_400
REGIONS = [
    "340102", "340103", "340104", "340111", "340121", "340122", "340123", "340124", "340181",  # Hefei
    "340202", "340304", "340302", "341002", "341502",  # elsewhere in Anhui
    "310104", "310115", "320102", "320505", "330106", "330110", "110108", "440305", "420111", "510107",
]  # fmt: skip
MODES = ["transfer", "license", "equity", "co_development", "service", "consulting"]
OWNER_KINDS = ["university", "research_institute", "enterprise", "enterprise", "transfer_agency"]
_SENTENCE = re.compile(r"[^。；]+[。；]?")
_TITLE_PART = re.compile(r"[^与及和的：、]+")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {model}, Python {platform.python_version()}, {platform.system()}"


def make_documents(count: int, seed: int = 20240601) -> list[dict[str, Any]]:
    """``count`` achievement documents recombined from the dev set's texts."""
    rng = random.Random(seed)
    records = load_dataset(DEV_SET).achievements
    now = int(time.time())
    sentences = [s for r in records for s in _SENTENCE.findall(str(r["summary"]) + str(r["description"])) if s]
    documents = []
    for n in range(count):
        base, other = rng.choice(records), rng.choice(records)
        head = _TITLE_PART.findall(str(base["title"]))
        tail = _TITLE_PART.findall(str(other["title"]))
        title = head[0] + (rng.choice("与及") + tail[-1] if rng.random() < 0.6 and tail else "")
        keywords = rng.sample(list(base["keywords"]), k=min(3, len(base["keywords"])))
        keywords += rng.sample(list(other["keywords"]), k=min(rng.randint(0, 2), len(other["keywords"])))
        priced = rng.random() < 0.75
        region = rng.choice(REGIONS)
        published = now - rng.randint(0, 730) * DAY
        documents.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "version": 1,
                "kind": "achievement",
                "status": "published" if rng.random() < 0.95 else "withdrawn",
                "organisation_id": str(uuid.UUID(int=rng.randrange(2_000), version=4)),
                "owner_kind": rng.choice(OWNER_KINDS),
                "title": f"{title}（{n}）" if rng.random() < 0.1 else title,
                "keywords": list(dict.fromkeys(keywords)),
                "summary": "".join(rng.sample(sentences, k=2)),
                "description": "".join(rng.sample(sentences, k=rng.randint(3, 6))),
                "ip_numbers": [f"{rng.randint(2015, 2024)}{rng.randint(10**7, 10**8 - 1)}.{rng.randint(0, 9)}"],
                "field_code": base["field_code"],
                "industry_code": base["industry_code"] if rng.random() < 0.9 else other["industry_code"],
                "region_code": region,
                "region_code_prefixes": region_prefixes(region),
                "trl": rng.randint(1, 9),
                "price_fen": rng.randint(1, 1_000) * 1_000_000 if priced else None,
                "price_mode": "fixed" if priced else "negotiable",
                "transfer_modes": rng.sample(MODES, k=rng.randint(1, 3)),
                "published_at": published,
                "valid_until": published + 730 * DAY,
            }
        )
    return documents


QUERIES: list[tuple[str, SearchQuery]] = [
    ("plain", SearchQuery(text="压缩机")),
    ("plain", SearchQuery(text="低温制热 空调")),
    ("plain", SearchQuery(text="QFN封装 分层")),
    ("plain", SearchQuery(text="MCU FT测试")),
    ("plain", SearchQuery(text="OLED 烧屏 残影")),
    ("plain", SearchQuery(text="Mini LED 死灯")),
    ("plain", SearchQuery(text="光伏逆变器 谐波")),
    ("plain", SearchQuery(text="储能 液冷")),
    ("plain", SearchQuery(text="荧光免疫层析")),
    ("plain", SearchQuery(text="多肽纯化")),
    ("plain", SearchQuery(text="温室番茄灰霉病")),
    ("plain", SearchQuery(text="小麦育种")),
    ("plain", SearchQuery(text="VOCs活性炭")),
    ("plain", SearchQuery(text="污水 脱氮")),
    ("plain", SearchQuery(text="方言语音识别")),
    ("plain", SearchQuery(text="表面缺陷 AI视觉检测")),
    ("filtered", SearchQuery(text="压缩机", filters=(Eq("status", "published"), Range("trl", gte=6)))),
    (
        "filtered",
        SearchQuery(text="储能 散热", filters=(Eq("status", "published"), Prefix("region_code", "3401"))),
    ),
    (
        "filtered",
        SearchQuery(
            text="光伏",
            filters=(Eq("field_code", "new_energy"), In("transfer_modes", ("license", "transfer"))),
            sort=(),
        ),
    ),
    (
        "faceted",
        SearchQuery(
            text="检测",
            filters=(Eq("status", "published"),),
            facets=("field_code", "industry_code", "transfer_modes", "trl"),
        ),
    ),
    (
        "faceted",
        SearchQuery(filters=(Eq("status", "published"), Range("price_fen", lte=100_000_000)), facets=("field_code",)),
    ),
]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


async def timed(repeat: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def run(count: int, batch: int, repeat: int, recommend_repeat: int) -> None:
    print(f"machine: {machine()}")
    documents = make_documents(count)
    with tempfile.TemporaryDirectory(prefix="techmarket-bench-search-") as data_dir:
        url = start_embedded_postgres(Path(data_dir), delete_on_exit=True)
        await upgrade_to_head_async(url)
        database = create_async_engine(url, pool_size=5)
        engine = EmbeddedEngine(database)
        try:
            await engine.apply_settings(ACHIEVEMENTS)
            started = time.perf_counter()
            for start in range(0, len(documents), batch):
                await engine.upsert(ACHIEVEMENTS, documents[start : start + batch])
            elapsed = time.perf_counter() - started
            print(
                f"indexing: {count:,} documents in batches of {batch}: {elapsed:.1f} s, {count / elapsed:,.0f} docs/s"
            )

            print(f"\nsearch latency, ms ({repeat} runs each, after one warm-up run)")
            print(f"{'kind':<9} {'query':<34} {'p50':>7} {'p99':>7} {'total':>7}")
            by_kind: dict[str, list[float]] = {}
            for kind, query in QUERIES:
                await engine.search(ACHIEVEMENTS, query)
                result = await engine.search(ACHIEVEMENTS, query)
                samples = await timed(repeat, lambda query=query: engine.search(ACHIEVEMENTS, query))  # type: ignore[misc]
                by_kind.setdefault(kind, []).extend(samples)
                label = query.text or "(no text)"
                print(
                    f"{kind:<9} {label:<34} {percentile(samples, 0.5):>7.1f} {percentile(samples, 0.99):>7.1f} "
                    f"{result.total:>7}"
                )
            everything = [sample for samples in by_kind.values() for sample in samples]
            for kind, samples in [*by_kind.items(), ("all", everything)]:
                print(f"{kind:<9} {'(all of this kind)':<34} {percentile(samples, 0.5):>7.1f} "
                      f"{percentile(samples, 0.99):>7.1f}")  # fmt: skip

            demands = load_dataset(DEV_SET).demands
            published = (Eq("status", "published"),)
            samples = []
            for demand in demands:
                await recommend_for_demand(engine, demand, filters=published)
                samples += await timed(
                    recommend_repeat,
                    lambda demand=demand: recommend_for_demand(engine, demand, filters=published),  # type: ignore[misc]
                )
            print(
                f"\nrecommend_for_demand ({len(demands)} dev demands × {recommend_repeat} runs, "
                "candidates 50, top 10): "
                f"p50 {percentile(samples, 0.5):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
                f"mean {statistics.fmean(samples):.1f} ms"
            )
        finally:
            await engine.close()
            await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=20, help="runs of each search query")
    parser.add_argument("--recommend-repeat", type=int, default=3, help="runs of each dev demand's recommendation")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.documents, arguments.batch, arguments.repeat, arguments.recommend_repeat))


if __name__ == "__main__":
    main()
