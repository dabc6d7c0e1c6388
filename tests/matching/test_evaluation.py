"""Metrics on hand-made rankings, the data set loader, the baseline, and the quality floor on the dev set."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.matching.embedded import EmbeddedEngine
from services.matching.evaluation import (
    BASELINE,
    BASELINE_BY_COUNT,
    Dataset,
    baseline_rankings,
    baseline_terms,
    engine_only_name,
    evaluate,
    evaluation_indexes,
    format_report,
    load_dataset,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    reranked_name,
    reverse_qrels,
    score_rankings,
)

DEV_SET = Path(__file__).resolve().parents[2].parent / "shared/data/matching-dev"
JUDGED = {"a": 3, "b": 2, "c": 1}

# --------------------------------------------------------------------------------------------------- metrics


def test_ndcg_uses_exponential_gains_and_a_log2_discount() -> None:
    ideal = 7 + 3 / math.log2(3) + 1 / 2
    assert ndcg_at_k(["a", "b", "c"], JUDGED) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a", "b"], JUDGED) == pytest.approx((7 / math.log2(3) + 3 / 2) / ideal)
    assert ndcg_at_k(["c", "b", "a"], JUDGED) == pytest.approx((1 + 3 / math.log2(3) + 7 / 2) / ideal)
    assert ndcg_at_k([], JUDGED) == 0.0
    assert ndcg_at_k(["a"], {}) == 0.0


def test_ndcg_cuts_at_k_and_the_ideal_too() -> None:
    ranking = [f"x{n}" for n in range(9)] + ["c", "a"]  # "a" at rank 11
    assert ndcg_at_k(ranking, JUDGED, k=10) == pytest.approx((1 / math.log2(11)) / (7 + 3 / math.log2(3) + 1 / 2))
    # with k=1 the ideal is the single best document
    assert ndcg_at_k(["b"], JUDGED, k=1) == pytest.approx(3 / 7)


def test_recall_counts_the_relevant_share_in_the_top_k() -> None:
    assert recall_at_k(["a", "x", "c"], JUDGED) == pytest.approx(2 / 3)
    assert recall_at_k(["a", "x", "c"], JUDGED, min_grade=2) == pytest.approx(1 / 2)
    assert recall_at_k(["x", "y", "a"], JUDGED, k=2) == 0.0
    assert recall_at_k(["a"], {"a": 0}) == 0.0


def test_reciprocal_rank_of_the_first_solving_result() -> None:
    assert reciprocal_rank(["x", "c", "b", "a"], JUDGED) == pytest.approx(1 / 3)  # "c" is only adjacent
    assert reciprocal_rank(["c", "x"], JUDGED) == 0.0
    assert reciprocal_rank(["c"], JUDGED, min_grade=1) == 1.0
    assert reciprocal_rank([f"x{n}" for n in range(10)] + ["a"], JUDGED) == 0.0


def _tiny() -> Dataset:
    def achievement(id_: str, title: str) -> dict[str, Any]:
        return {"id": id_, "title": title}

    return Dataset(
        name="tiny",
        achievements=[
            achievement("a1", "冰箱压缩机噪声抑制"),
            achievement("a2", "空调低温制热压缩机技术"),
            achievement("a3", "OLED烧屏补偿"),
            achievement("a4", "低温制热空调"),
        ],
        demands=[{"id": "q1", "title": "空调低温制热不足"}, {"id": "q2", "title": "QLED"}],
        qrels={"q1": {"a2": 3, "a4": 2}, "q2": {"a3": 1}},
    )


def test_baseline_terms_are_words_and_character_pairs() -> None:
    assert baseline_terms("Mini LED背光灯板死灯") == ["mini", "led", "背光", "光灯", "灯板", "板死", "死灯"]
    assert baseline_terms("空调，热") == ["空调", "热"]


def test_baseline_is_a_title_ilike_in_listing_order() -> None:
    rankings = baseline_rankings(_tiny())
    assert rankings == {"q1": ["a2", "a4"], "q2": []}
    assert baseline_rankings(_tiny(), by_count=True)["q1"] == ["a2", "a4"]  # 5 terms each: listing order


def test_score_rankings_averages_over_the_judged_demands() -> None:
    result = score_rankings("x", {"q1": ["a4", "a2"]}, _tiny())
    q1 = (3 + 7 / math.log2(3)) / (7 + 3 / math.log2(3))
    assert result.per_demand == {"q1": pytest.approx(q1), "q2": 0.0}
    assert result.ndcg == pytest.approx(q1 / 2)
    assert result.recall == pytest.approx(0.5)
    # q2 has nothing of grade ≥ 2: Recall (≥2) and MRR average over q1 alone
    assert result.recall_solving == pytest.approx(1.0)
    assert result.mrr == pytest.approx(1.0)


def test_reverse_qrels_see_the_judgements_from_the_achievements() -> None:
    assert reverse_qrels(_tiny()) == {"a2": {"q1": 3}, "a4": {"q1": 2}, "a3": {"q2": 1}}


# --------------------------------------------------------------------------------------------------- data set


def test_the_dev_set_loads_as_index_documents() -> None:
    dataset = load_dataset(DEV_SET, published_at=1_700_000_000)
    assert (len(dataset.achievements), len(dataset.demands)) == (128, 16)
    assert sum(len(judged) for judged in dataset.qrels.values()) == 65
    first = dataset.achievements[0]
    assert first["field_code"] == "high_tech_services"
    assert first["industry_code"] == "smart_home_appliances"
    assert first["price_mode"] == "negotiable"
    assert first["price_fen"] is None
    assert first["region_code_prefixes"] == ["44", "4403", "440305"]
    assert first["status"] == "published"
    second = dataset.achievements[1]
    assert second["ip_numbers"] == ["202011857029.3", "202011567345.7"]
    assert second["price_mode"] == "fixed"
    assert second["price_fen"] == 150_000_000
    demand = dataset.demands[0]
    assert demand["technical_indicators"].startswith("室外-15℃")
    assert demand["min_trl"] == 6
    assert demand["cooperation_modes"] == ["license", "co_development"]
    assert demand["confidentiality"] == "public"


def test_unknown_qrels_are_an_error(tmp_path: Path) -> None:
    for name in ("achievements.jsonl", "demands.jsonl"):
        (tmp_path / name).write_text((DEV_SET / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "qrels.tsv").write_text("D-Q01\tD-A999\t3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="D-A999"):
        load_dataset(tmp_path)


def test_the_baselines_on_the_dev_set() -> None:
    dataset = load_dataset(DEV_SET)
    plain = score_rankings(BASELINE, baseline_rankings(dataset), dataset)
    by_count = score_rankings(BASELINE_BY_COUNT, baseline_rankings(dataset, by_count=True), dataset)
    assert 0.15 < plain.ndcg < 0.3  # the data README's "title match ≈ 0.19"
    assert by_count.ndcg > plain.ndcg


# --------------------------------------------------------------------------------------------------- quality

# Measured on the dev set with the embedded engine and the synonym list of services/matching/data: nDCG@10 0.762
# (engine order 0.63, title ILIKE 0.215). The floor sits a little under it; raise it when the measured figure rises.
NDCG_FLOOR = 0.74


@pytest.fixture
async def embedded(database_url: str) -> AsyncIterator[EmbeddedEngine]:
    database = create_async_engine(database_url)
    engine = EmbeddedEngine(database)
    yield engine
    await engine.close()
    await database.dispose()


async def test_recommendations_on_the_dev_set_clear_the_floor(embedded: EmbeddedEngine) -> None:
    dataset = load_dataset(DEV_SET)
    report = await evaluate(dataset, [embedded])
    text = format_report(report)
    reranked = report.system(reranked_name(embedded))
    engine_order = report.system(engine_only_name(embedded))
    baseline = report.system(BASELINE)
    assert reranked.ndcg >= NDCG_FLOOR, text
    assert reranked.ndcg >= 1.5 * baseline.ndcg, text
    assert reranked.ndcg > report.system(BASELINE_BY_COUNT).ndcg + 0.1, text
    assert reranked.ndcg > engine_order.ndcg + 0.03, text  # re-ranking earns its keep
    assert reranked.recall_solving >= 0.9, text
    [reverse] = report.reverse  # demands for achievements: the other direction works too
    assert reverse.ndcg >= 0.9, text
    # the evaluation cleaned up after itself
    for index in evaluation_indexes():
        assert await embedded.get_versions(index) == {}
