"""Offline quality of recommendations over a labeled set (``techmarket eval matching --data DIR``).

A data set directory holds ``achievements.jsonl``, ``demands.jsonl`` and ``qrels.tsv``
(``demand_id<TAB>achievement_id<TAB>grade``; 3 = solves it and fits TRL, budget and cooperation mode, 2 = solves
it but fails one of those, 1 = an adjacent problem; unlisted = irrelevant). See shared/data/README.md.

Metrics, over the top ``k`` (10) achievements recommended for each demand, averaged over the demands:

- **nDCG@k**: gain 2^grade − 1, discount 1 / log2(rank + 1); the ideal ranking is the demand's qrels sorted by
  grade.
- **Recall@k**: the share of the demand's relevant achievements (grade ≥ 1) found in the top k. **Recall@k (≥2)**:
  the same for the achievements that solve the problem (grade ≥ 2).
- **MRR**: 1 / rank of the first achievement that solves the problem (grade ≥ 2), 0 when none is in the top k.
  Recall@k (≥2) and MRR average over the queries that have something of grade ≥ 2 (every dev-set demand does).

Systems compared in one run: each engine with re-ranking (what ``recommend_for_demand`` returns), the same
engine in its own order (no re-ranking), and a naive baseline, ``title ILIKE '%term%'`` for any term of the
demand's title (see ``baseline_terms``), in listing order; plus a stronger title baseline that orders the same
rows by how many terms they contain.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.matching.engine import SearchEngine
from services.matching.indexes import ACHIEVEMENTS, DEMANDS, IndexDefinition, region_prefixes
from services.matching.ranking import FIELD_NAMES, INDUSTRY_NAMES, RankingWeights
from services.matching.recommend import recommend_for_achievement, recommend_for_demand, search_candidates

K = 10
SECONDS_PER_DAY = 86_400
_FIELD_CODES = {name: code for code, name in FIELD_NAMES.items()}
_INDUSTRY_CODES = {name: code for code, name in INDUSTRY_NAMES.items()}
_ORGANISATIONS = uuid.UUID("6f1d2c1e-3f0a-5b8e-9a57-2f4c7d1b0e11")  # namespace of the organisations' ids

# --------------------------------------------------------------------------------------------------- data set


@dataclass(frozen=True)
class Dataset:
    """Index documents (as ``services.marketplace.search.documents`` builds them) and graded judgements."""

    name: str
    achievements: list[dict[str, Any]]
    demands: list[dict[str, Any]]
    qrels: dict[str, dict[str, int]]


def _code(names: Mapping[str, str], name: str | None, what: str) -> str | None:
    if name is None or name == "":
        return None
    try:
        return names[name]
    except KeyError:
        raise ValueError(f"unknown {what}: {name}") from None


def _organisation_id(name: str) -> str:
    return str(uuid.uuid5(_ORGANISATIONS, name))


def achievement_document(record: Mapping[str, Any], *, published_at: int) -> dict[str, Any]:
    """A published achievement's index document from a ``achievements.jsonl`` record."""
    price = record.get("price_fen")
    region = str(record["region_code"])
    return {
        "id": str(record["id"]),
        "version": 1,
        "kind": "achievement",
        "status": "published",
        "organisation_id": _organisation_id(str(record.get("owner", record["id"]))),
        "owner_kind": record.get("owner_kind", "other"),
        "title": record["title"],
        "keywords": list(record.get("keywords", [])),
        "summary": record.get("summary", ""),
        "description": record.get("description", ""),
        "ip_numbers": [str(item["number"]).removeprefix("ZL") for item in record.get("ip", [])],
        "field_code": _code(_FIELD_CODES, record.get("field"), "field"),
        "industry_code": _code(_INDUSTRY_CODES, record.get("industry"), "industry"),
        "region_code": region,
        "region_code_prefixes": region_prefixes(region),
        "trl": record.get("trl"),
        "price_fen": price,
        "price_mode": "negotiable" if price is None else "fixed",
        "transfer_modes": list(record.get("transfer_modes", [])),
        "published_at": published_at,
        "valid_until": published_at + 730 * SECONDS_PER_DAY,
    }


def demand_document(record: Mapping[str, Any], *, published_at: int) -> dict[str, Any]:
    """A published, public demand's index document from a ``demands.jsonl`` record."""
    region = str(record["region_code"])
    return {
        "id": str(record["id"]),
        "version": 1,
        "kind": "demand",
        "status": "published",
        "organisation_id": _organisation_id(str(record.get("poster", record["id"]))),
        "owner_kind": record.get("owner_kind", "enterprise"),
        "title": record["title"],
        "keywords": list(record.get("keywords", [])),
        "problem": record.get("problem", ""),
        "technical_indicators": record.get("indicators", ""),
        "field_code": _code(_FIELD_CODES, record.get("field"), "field"),
        "industry_code": _code(_INDUSTRY_CODES, record.get("industry"), "industry"),
        "region_code": region,
        "region_code_prefixes": region_prefixes(region),
        "min_trl": record.get("min_trl"),
        "budget_min_fen": record.get("budget_min_fen"),
        "budget_max_fen": record.get("budget_max_fen"),
        "cooperation_modes": list(record.get("cooperation_modes", [])),
        "confidentiality": "public",
        "published_at": published_at,
        "deadline": published_at + 365 * SECONDS_PER_DAY,
    }


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path.name}:{number}: expected demand_id<TAB>achievement_id<TAB>grade")
        demand_id, achievement_id, grade = (part.strip() for part in parts)
        qrels.setdefault(demand_id, {})[achievement_id] = int(grade)
    return qrels


def load_dataset(directory: Path, *, published_at: int | None = None) -> Dataset:
    """Read a labeled set; every listing is published at ``published_at`` (default: now), so freshness is even."""
    moment = int(time.time()) if published_at is None else published_at
    achievements = [achievement_document(r, published_at=moment) for r in _jsonl(directory / "achievements.jsonl")]
    demands = [demand_document(r, published_at=moment) for r in _jsonl(directory / "demands.jsonl")]
    qrels = load_qrels(directory / "qrels.tsv")
    known = {document["id"] for document in achievements}
    for demand_id, judged in qrels.items():
        missing = sorted(set(judged) - known)
        if missing:
            raise ValueError(f"qrels of {demand_id} name unknown achievements: {', '.join(missing)}")
    return Dataset(name=directory.name, achievements=achievements, demands=demands, qrels=qrels)


# --------------------------------------------------------------------------------------------------- metrics


def dcg_at_k(grades: Sequence[int], k: int = K) -> float:
    """Σ (2^grade − 1) / log2(rank + 1) over the first ``k`` grades."""
    return sum((2.0**grade - 1.0) / math.log2(rank + 1) for rank, grade in enumerate(grades[:k], start=1))


def ndcg_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = K) -> float:
    """Graded nDCG: gains 2^g − 1, log2 discount, ideal DCG from the judgements. 0 when nothing is relevant."""
    ideal = dcg_at_k(sorted(judged.values(), reverse=True), k)
    if ideal <= 0:
        return 0.0
    return dcg_at_k([judged.get(document_id, 0) for document_id in ranking], k) / ideal


def recall_at_k(ranking: Sequence[str], judged: Mapping[str, int], k: int = K, min_grade: int = 1) -> float:
    """Share of the achievements with grade ≥ ``min_grade`` that are in the top ``k``."""
    relevant = {document_id for document_id, grade in judged.items() if grade >= min_grade}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def reciprocal_rank(ranking: Sequence[str], judged: Mapping[str, int], k: int = K, min_grade: int = 2) -> float:
    """1 / rank of the first result with grade ≥ ``min_grade`` within the top ``k``, else 0."""
    for rank, document_id in enumerate(ranking[:k], start=1):
        if judged.get(document_id, 0) >= min_grade:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class SystemResult:
    name: str
    ndcg: float
    recall: float
    recall_solving: float
    mrr: float
    per_demand: dict[str, float] = field(default_factory=dict)  # nDCG@k of each demand
    rankings: dict[str, list[str]] = field(default_factory=dict)


def score_against(
    name: str,
    rankings: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Mapping[str, int]],
    query_ids: Sequence[str],
    k: int = K,
) -> SystemResult:
    """Average the metrics over ``query_ids`` (a query without a ranking scores 0)."""
    if not query_ids:
        raise ValueError("no judged queries")
    per_query: dict[str, float] = {}
    recall = recall_solving = mrr = 0.0
    solvable = 0  # queries with something of grade ≥ 2: Recall (≥2) and MRR are averaged over these
    for query_id in query_ids:
        ranking = list(rankings.get(query_id, []))
        judged = qrels[query_id]
        per_query[query_id] = ndcg_at_k(ranking, judged, k)
        recall += recall_at_k(ranking, judged, k, min_grade=1)
        if any(grade >= 2 for grade in judged.values()):
            solvable += 1
            recall_solving += recall_at_k(ranking, judged, k, min_grade=2)
            mrr += reciprocal_rank(ranking, judged, k, min_grade=2)
    count = len(query_ids)
    return SystemResult(
        name=name,
        ndcg=sum(per_query.values()) / count,
        recall=recall / count,
        recall_solving=recall_solving / solvable if solvable else 0.0,
        mrr=mrr / solvable if solvable else 0.0,
        per_demand=per_query,
        rankings={query_id: list(rankings.get(query_id, [])) for query_id in query_ids},
    )


def score_rankings(name: str, rankings: Mapping[str, Sequence[str]], dataset: Dataset, k: int = K) -> SystemResult:
    """Average the metrics over the dataset's judged demands (a demand without a ranking scores 0)."""
    demand_ids = [document["id"] for document in dataset.demands if document["id"] in dataset.qrels]
    if not demand_ids:
        raise ValueError("the data set has no judged demands")
    return score_against(name, rankings, dataset.qrels, demand_ids, k)


def reverse_qrels(dataset: Dataset) -> dict[str, dict[str, int]]:
    """The same judgements seen from the achievements: achievement id → {demand id: grade}, grade ≥ 1 only."""
    reverse: dict[str, dict[str, int]] = {}
    for demand_id, judged in dataset.qrels.items():
        for achievement_id, grade in judged.items():
            if grade >= 1:
                reverse.setdefault(achievement_id, {})[demand_id] = grade
    return reverse


# --------------------------------------------------------------------------------------------------- baseline

_SEGMENT = re.compile(r"[0-9A-Za-z]+|[\u3400-\u4dbf\u4e00-\u9fff]+")


def baseline_terms(title: str) -> list[str]:
    """The naive baseline's terms: each Latin/digit word, and each pair of adjacent Chinese characters
    (a lone character between punctuation is a term by itself), lower-cased, without repeats."""
    terms: list[str] = []
    for segment in _SEGMENT.findall(title.lower()):
        if segment.isascii() or len(segment) == 1:
            terms.append(segment)
        else:
            terms.extend(segment[i : i + 2] for i in range(len(segment) - 1))
    return list(dict.fromkeys(terms))


def baseline_rankings(dataset: Dataset, *, by_count: bool = False) -> dict[str, list[str]]:
    """``SELECT id FROM achievements WHERE title ILIKE ANY ('%term%', …)`` in listing order (``by_count``: ordered
    by how many of the terms the title contains, most first, then listing order)."""
    rankings: dict[str, list[str]] = {}
    titles = [(document["id"], str(document["title"]).lower()) for document in dataset.achievements]
    for demand in dataset.demands:
        terms = baseline_terms(str(demand["title"]))
        hits = [(sum(term in title for term in terms), position, id_) for position, (id_, title) in enumerate(titles)]
        hits = [hit for hit in hits if hit[0] > 0]
        if by_count:
            hits.sort(key=lambda hit: (-hit[0], hit[1]))
        rankings[demand["id"]] = [id_ for _, _, id_ in hits]
    return rankings


# --------------------------------------------------------------------------------------------------- engines


def evaluation_indexes(prefix: str = "eval_") -> tuple[IndexDefinition, IndexDefinition]:
    """The achievements and demands index definitions under other names, so an evaluation never touches the live
    indexes."""
    return (
        dataclasses.replace(ACHIEVEMENTS, name=prefix + ACHIEVEMENTS.name),
        dataclasses.replace(DEMANDS, name=prefix + DEMANDS.name),
    )


async def index_dataset(
    engine: SearchEngine, dataset: Dataset, indexes: tuple[IndexDefinition, IndexDefinition], batch: int = 500
) -> None:
    achievements, demands = indexes
    for index, documents in ((achievements, dataset.achievements), (demands, dataset.demands)):
        await engine.apply_settings(index)
        for start in range(0, len(documents), batch):
            await engine.upsert(index, documents[start : start + batch])


async def remove_dataset(
    engine: SearchEngine, dataset: Dataset, indexes: tuple[IndexDefinition, IndexDefinition]
) -> None:
    achievements, demands = indexes
    await engine.delete(achievements, [document["id"] for document in dataset.achievements])
    await engine.delete(demands, [document["id"] for document in dataset.demands])


async def engine_rankings(
    engine: SearchEngine,
    dataset: Dataset,
    *,
    index: IndexDefinition = ACHIEVEMENTS,
    rerank: bool = True,
    weights: RankingWeights | None = None,
    candidates: int = 50,
    k: int = K,
    now: float | None = None,
) -> dict[str, list[str]]:
    """For each demand, the ids ``recommend_for_demand`` returns (``rerank``) or the engine's own top ``k``."""
    rankings: dict[str, list[str]] = {}
    for demand in dataset.demands:
        if rerank:
            matches = await recommend_for_demand(
                engine, demand, limit=k, candidates=candidates, weights=weights, now=now, index=index
            )
            rankings[demand["id"]] = [match.document["id"] for match in matches]
        else:
            hits = await search_candidates(engine, demand, index=index, candidates=candidates)
            rankings[demand["id"]] = [hit.document["id"] for hit in hits[:k]]
    return rankings


async def demand_rankings(
    engine: SearchEngine,
    dataset: Dataset,
    *,
    index: IndexDefinition = DEMANDS,
    weights: RankingWeights | None = None,
    candidates: int = 50,
    k: int = K,
    now: float | None = None,
) -> dict[str, list[str]]:
    """For each judged achievement, the demand ids ``recommend_for_achievement`` returns."""
    rankings: dict[str, list[str]] = {}
    judged = reverse_qrels(dataset)
    for achievement in dataset.achievements:
        if achievement["id"] in judged:
            matches = await recommend_for_achievement(
                engine, achievement, limit=k, candidates=candidates, weights=weights, now=now, index=index
            )
            rankings[achievement["id"]] = [match.document["id"] for match in matches]
    return rankings


@dataclass(frozen=True)
class EvaluationReport:
    dataset: str
    achievements: int
    demands: int
    judgements: int
    k: int
    systems: list[SystemResult]
    # achievement → demands, each judged achievement a query: the other direction of recommendations
    reverse: list[SystemResult] = field(default_factory=list)
    seconds: float = 0.0

    def system(self, name: str) -> SystemResult:
        for result in self.systems:
            if result.name == name:
                return result
        raise KeyError(name)


BASELINE = "baseline: title ILIKE"
BASELINE_BY_COUNT = "baseline: title ILIKE, by terms matched"


def reranked_name(engine: SearchEngine) -> str:
    return f"{engine.name} + re-ranking"


def reverse_name(engine: SearchEngine) -> str:
    return f"{engine.name}: demands for achievements"


def engine_only_name(engine: SearchEngine) -> str:
    return f"{engine.name} (engine order)"


async def evaluate(
    dataset: Dataset,
    engines: Sequence[SearchEngine] = (),
    *,
    k: int = K,
    weights: RankingWeights | None = None,
    candidates: int = 50,
    index_prefix: str = "eval_",
    keep_indexes: bool = False,
) -> EvaluationReport:
    """Index the data set into each engine (under ``index_prefix`` names), rank, score, and clean up."""
    started = time.perf_counter()
    systems: list[SystemResult] = []
    reverse_systems: list[SystemResult] = []
    indexes = evaluation_indexes(index_prefix)
    now = float(max((document["published_at"] for document in dataset.achievements), default=0))
    for engine in engines:
        await index_dataset(engine, dataset, indexes)
        try:
            reranked = await engine_rankings(
                engine, dataset, index=indexes[0], weights=weights, candidates=candidates, k=k, now=now
            )
            plain = await engine_rankings(engine, dataset, index=indexes[0], rerank=False, candidates=candidates, k=k)
            reverse = await demand_rankings(
                engine, dataset, index=indexes[1], weights=weights, candidates=candidates, k=k, now=now
            )
        finally:
            if not keep_indexes:
                await remove_dataset(engine, dataset, indexes)
        systems.append(score_rankings(reranked_name(engine), reranked, dataset, k))
        systems.append(score_rankings(engine_only_name(engine), plain, dataset, k))
        judged = reverse_qrels(dataset)
        reverse_systems.append(score_against(reverse_name(engine), reverse, judged, sorted(judged), k))
    systems.append(score_rankings(BASELINE, baseline_rankings(dataset), dataset, k))
    systems.append(score_rankings(BASELINE_BY_COUNT, baseline_rankings(dataset, by_count=True), dataset, k))
    return EvaluationReport(
        reverse=reverse_systems,
        dataset=dataset.name,
        achievements=len(dataset.achievements),
        demands=len(dataset.demands),
        judgements=sum(len(judged) for judged in dataset.qrels.values()),
        k=k,
        systems=systems,
        seconds=time.perf_counter() - started,
    )


async def evaluate_directory(directory: Path, engines: Sequence[SearchEngine] = (), **options: Any) -> EvaluationReport:
    """``load_dataset`` and ``evaluate``: what ``techmarket eval matching --data DIR`` runs."""
    return await evaluate(load_dataset(directory), engines, **options)


def format_report(report: EvaluationReport, *, per_demand: bool = False) -> str:
    k = report.k
    lines = [
        f"matching evaluation on {report.dataset}: {report.demands} demands, {report.achievements} achievements, "
        f"{report.judgements} judgements, k={k}",
        "",
        f"{'system':<44} {'nDCG@' + str(k):>8} {'Recall@' + str(k):>10} {'R@' + str(k) + ' (≥2)':>10} {'MRR':>7}",
    ]
    for result in report.systems:
        lines.append(
            f"{result.name:<44} {result.ndcg:>8.3f} {result.recall:>10.3f} {result.recall_solving:>10.3f} "
            f"{result.mrr:>7.3f}"
        )
    for result in report.reverse:
        lines.append(
            f"{result.name:<44} {result.ndcg:>8.3f} {result.recall:>10.3f} {result.recall_solving:>10.3f} "
            f"{result.mrr:>7.3f}   ({len(result.per_demand)} judged achievements as queries)"
        )
    baseline = next((result for result in report.systems if result.name == BASELINE), None)
    engines = [result for result in report.systems if not result.name.startswith("baseline")]
    best = max(engines, key=lambda result: result.ndcg, default=None)
    lines.append("")
    lines.append(
        "nDCG@k: gains 2^grade−1, log2 discount, ideal from the judgements; Recall@k: share of grade ≥ 1 found "
        "(R@k (≥2): of grade ≥ 2); MRR: first result with grade ≥ 2."
    )
    if baseline is not None and best is not None and baseline.ndcg > 0:
        lines.append(f"best: {best.name}, {best.ndcg / baseline.ndcg:.2f}× the title ILIKE baseline")
    if per_demand:
        lines.append("")
        names = [result.name for result in report.systems]
        lines.append("nDCG@k per demand: " + " | ".join(names))
        for demand_id in report.systems[0].per_demand if report.systems else []:
            values = " ".join(f"{result.per_demand.get(demand_id, 0.0):.3f}" for result in report.systems)
            lines.append(f"  {demand_id:<12} {values}")
    lines.append(f"({report.seconds:.1f} s)")
    return "\n".join(lines)


async def _main(arguments: argparse.Namespace) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine

    from services.matching.embedded import EmbeddedEngine

    engines: list[SearchEngine] = []
    database = create_async_engine(arguments.database_url)
    try:
        engines.append(EmbeddedEngine(database))
        if arguments.meili_url:
            from services.matching.meili import MeilisearchEngine

            engines.append(MeilisearchEngine(arguments.meili_url, arguments.meili_key, index_prefix="eval_"))
        report = await evaluate_directory(Path(arguments.data), engines)
        print(format_report(report, per_demand=arguments.per_demand))
    finally:
        for engine in engines:
            await engine.close()
        await database.dispose()
    return 0


def main() -> None:
    """``python -m services.matching.evaluation --data DIR --database-url URL [--meili-url URL]``: the same run as
    ``techmarket eval matching``, against a migrated database (its live indexes are left alone)."""
    parser = argparse.ArgumentParser(description="Quality of recommendations over a labeled data set.")
    parser.add_argument("--data", required=True, help="directory with achievements.jsonl, demands.jsonl, qrels.tsv")
    parser.add_argument("--database-url", required=True, help="postgresql+asyncpg://… of a migrated database")
    parser.add_argument("--meili-url", help="also evaluate Meilisearch at this URL")
    parser.add_argument("--meili-key", help="Meilisearch API key")
    parser.add_argument("--per-demand", action="store_true", help="print nDCG@10 of every demand")
    raise SystemExit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
