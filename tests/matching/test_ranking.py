"""Re-ranking features, reasons and the recommendation flow (no database: a stub engine answers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from services.matching.indexes import ACHIEVEMENTS, DEMANDS, IndexDefinition
from services.matching.query import Eq, Hit, SearchQuery, SearchResult
from services.matching.ranking import (
    Match,
    RankingWeights,
    default_weights,
    format_budget,
    format_wan,
    load_weights,
    rerank_achievements,
    rerank_demands,
)
from services.matching.recommend import (
    achievement_query,
    demand_query,
    recommend_for_achievement,
    recommend_for_demand,
)

NOW = 1_760_000_000  # epoch seconds
DAY = 86_400
WAN = 1_000_000  # fen


def demand(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "d1",
        "version": 1,
        "kind": "demand",
        "status": "published",
        "title": "储能柜电池温差大、局部过热",
        "keywords": ["储能柜", "电池温差", "散热"],
        "problem": "夏天储能柜内电芯温差超过8℃。",
        "technical_indicators": "电芯最大温差≤3℃",
        "field_code": "new_energy",
        "industry_code": "photovoltaics_new_energy",
        "region_code": "340104",
        "region_code_prefixes": ["34", "3401", "340104"],
        "min_trl": 6,
        "budget_min_fen": 30 * WAN,
        "budget_max_fen": 80 * WAN,
        "cooperation_modes": ["license", "co_development"],
        "published_at": NOW - 3 * DAY,
    }
    return base | changes


def achievement(id_: str = "a1", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": id_,
        "version": 1,
        "kind": "achievement",
        "status": "published",
        "title": "储能电池液冷散热与温差控制",
        "keywords": ["液冷", "电池温差"],
        "field_code": "new_energy",
        "industry_code": "photovoltaics_new_energy",
        "region_code": "340111",
        "region_code_prefixes": ["34", "3401", "340111"],
        "trl": 7,
        "price_fen": 50 * WAN,
        "price_mode": "fixed",
        "transfer_modes": ["license", "transfer"],
        "published_at": NOW - 10 * DAY,
    }
    return base | changes


def hit(document: dict[str, Any], score: float = 1.0, terms: Sequence[str] = ()) -> Hit:
    return Hit(document=document, score=score, matched_terms=tuple(terms))


def texts(match: Match) -> list[str]:
    return [reason.text for reason in match.reasons]


def codes(match: Match) -> set[str]:
    return {reason.code for reason in match.reasons}


# --------------------------------------------------------------------------------------------------- money


def test_format_wan_uses_integer_arithmetic() -> None:
    assert format_wan(50 * WAN) == "50"
    assert format_wan(500 * WAN) == "500"
    assert format_wan(1_230_000) == "1.23"
    assert format_wan(1_234_999) == "1.23"
    assert format_wan(1_235_000) == "1.24"  # half up
    assert format_wan(500_000) == "0.5"
    assert format_wan(0) == "0"
    assert format_wan(12_000_000_000_000) == "12000000"  # 1200亿元
    with pytest.raises(TypeError):
        format_wan(50.0)  # type: ignore[arg-type]


def test_format_budget() -> None:
    assert format_budget(30 * WAN, 80 * WAN) == "30–80 万元"
    assert format_budget(None, 80 * WAN) == "不超过 80 万元"
    assert format_budget(30 * WAN, None) == "不低于 30 万元"


# --------------------------------------------------------------------------------------------------- reasons


def test_a_fitting_achievement_has_every_reason() -> None:
    [match] = rerank_achievements(demand(), [hit(achievement(), 2.0, ["电池温差", "散热"])], now=NOW)
    assert texts(match)[0] == "匹配关键词：电池温差、散热"  # the strongest reason comes first
    assert set(texts(match)) >= {
        "内容相关度 100%",
        "满足需求的成熟度、预算和合作方式要求",
        "匹配关键词：电池温差、散热",
        "技术领域一致：新能源与节能",
        "产业方向一致：光伏及新能源",
        "成熟度 TRL 7 ≥ 需求最低 TRL 6",
        "价格 50 万元在预算 30–80 万元内",
        "转化方式契合：许可",
        "本地转化：双方均在合肥",
        "最近发布：10 天前",
    }
    weights = default_weights()
    expected = (
        weights.lexical
        + weights.matched_terms
        + weights.field
        + weights.industry
        + weights.trl
        + weights.price
        + weights.mode
        + weights.all_conditions
        + weights.locality
        + weights.freshness * 0.5 ** (10 / weights.freshness_half_life_days)
    )
    assert match.score == pytest.approx(expected, abs=1e-5)
    assert sum(reason.weight for reason in match.reasons) == pytest.approx(match.score, abs=1e-3)
    assert [reason.weight for reason in match.reasons] == sorted((r.weight for r in match.reasons), reverse=True)


def test_trl_credit_is_partial_when_close_and_none_when_far() -> None:
    weights = default_weights().replace(all_conditions=0.0)
    [close] = rerank_achievements(demand(), [hit(achievement(trl=5))], weights=weights, now=NOW)
    [far] = rerank_achievements(demand(), [hit(achievement(trl=3))], weights=weights, now=NOW)
    [fit] = rerank_achievements(demand(), [hit(achievement(trl=6))], weights=weights, now=NOW)
    assert "成熟度 TRL 5 略低于需求最低 TRL 6" in texts(close)
    assert "成熟度 TRL 3 低于需求最低 TRL 6" in texts(far)
    assert fit.score - close.score == pytest.approx(weights.trl * (1 - weights.trl_below[0]), abs=1e-5)
    assert fit.score - far.score == pytest.approx(weights.trl, abs=1e-5)
    trl_reason = next(reason for reason in far.reasons if reason.code == "trl_below")
    assert trl_reason.weight == 0


def test_price_versus_budget() -> None:
    weights = default_weights()

    def price_reason(**changes: Any) -> tuple[str, float]:
        [match] = rerank_achievements(demand(), [hit(achievement(**changes))], now=NOW)
        reason = next(reason for reason in match.reasons if reason.code.startswith("price"))
        return reason.text, reason.weight

    text, weight = price_reason(price_fen=None, price_mode="negotiable")
    assert text == "价格面议，需求预算 30–80 万元"
    assert weight == pytest.approx(weights.price * weights.price_negotiable)
    assert price_reason(price_fen=80 * WAN)[0] == "价格 80 万元在预算 30–80 万元内"
    text, weight = price_reason(price_fen=15 * WAN)
    assert text == "价格 15 万元低于预算下限 30 万元"
    assert weight == pytest.approx(weights.price * weights.price_below_budget * 0.5)
    text, weight = price_reason(price_fen=600 * WAN)
    assert text == "价格 600 万元超出预算上限 80 万元"
    assert weight == 0
    text, weight = price_reason(price_fen=90 * WAN)  # 10 over an 80 maximum, within the tolerance
    assert weight == pytest.approx(
        weights.price * weights.price_over_budget * (1 - 10 / (weights.price_over_budget_tolerance * 80))
    )
    assert price_reason(price_fen=40 * WAN, price_mode="auction")[0] == "起拍价 40 万元在预算 30–80 万元内"


def test_no_budget_means_no_price_reason() -> None:
    [match] = rerank_achievements(demand(budget_min_fen=None, budget_max_fen=None), [hit(achievement())], now=NOW)
    assert not any(reason.code.startswith("price") for reason in match.reasons)


def test_transfer_mode_fit_and_mismatch() -> None:
    [fit] = rerank_achievements(demand(), [hit(achievement(transfer_modes=["co_development", "license"]))], now=NOW)
    assert "转化方式契合：许可、合作开发" in texts(fit)
    [mismatch] = rerank_achievements(demand(), [hit(achievement(transfer_modes=["equity"]))], now=NOW)
    assert "转化方式不符：成果提供作价投资，需求希望许可、合作开发" in texts(mismatch)
    weights = default_weights()
    assert fit.score - mismatch.score == pytest.approx(weights.mode + weights.all_conditions, abs=1e-5)


def test_meeting_every_hard_condition_is_a_feature_of_its_own() -> None:
    weights = default_weights()
    [fits] = rerank_achievements(demand(), [hit(achievement())], now=NOW)
    [negotiable] = rerank_achievements(demand(), [hit(achievement(price_fen=None, price_mode="negotiable"))], now=NOW)
    [cheap] = rerank_achievements(demand(), [hit(achievement(price_fen=10 * WAN))], now=NOW)
    assert "all_conditions" in codes(fits)
    assert "all_conditions" in codes(negotiable)  # 面议 may fit the budget
    assert "all_conditions" not in codes(cheap)  # below the budget's minimum is not within it
    expected = weights.price * (1 - weights.price_below_budget / 3) + weights.all_conditions
    assert fits.score - cheap.score == pytest.approx(expected, abs=1e-5)
    [no_conditions] = rerank_achievements(
        demand(min_trl=None, budget_min_fen=None, budget_max_fen=None, cooperation_modes=[]),
        [hit(achievement())],
        now=NOW,
    )
    assert "all_conditions" in codes(no_conditions)


def test_matched_terms_count_by_how_rare_they_are_among_the_candidates() -> None:
    common = ["储能", "电池"]
    ranked = rerank_achievements(
        demand(),
        [
            hit(achievement("common-only"), 1.0, [*common, "系统"]),
            hit(achievement("rare"), 1.0, [*common, "液冷板"]),
            hit(achievement("filler-1"), 1.0, [*common, "系统"]),
            hit(achievement("filler-2"), 1.0, common),
        ],
        now=NOW,
    )
    assert ranked[0].document["id"] == "rare"
    assert texts(ranked[0])[0] == "匹配关键词：液冷板、储能、电池"
    # single characters, numbers and short Latin fragments are not quoted to people
    [match] = rerank_achievements(demand(), [hit(achievement(), 1.0, ["热", "35", "kw", "BMS", "散热"])], now=NOW)
    assert "匹配关键词：BMS、散热" in texts(match)


def test_locality() -> None:
    [hefei] = rerank_achievements(demand(), [hit(achievement())], now=NOW)
    [anhui] = rerank_achievements(demand(), [hit(achievement(region_code="340202"))], now=NOW)
    [shanghai] = rerank_achievements(demand(), [hit(achievement(region_code="310104"))], now=NOW)
    assert "本地转化：双方均在合肥" in texts(hefei)
    assert "同省合作：双方均在安徽" in texts(anhui)
    assert not codes(shanghai) & {"local_conversion", "same_province"}
    assert hefei.score > anhui.score > shanghai.score


def test_freshness_decays_with_age() -> None:
    weights = default_weights()
    old = achievement(published_at=NOW - int(weights.freshness_half_life_days * DAY))
    [new_match] = rerank_achievements(demand(), [hit(achievement(published_at=NOW))], now=NOW)
    [old_match] = rerank_achievements(demand(), [hit(old)], now=NOW)
    assert new_match.score - old_match.score == pytest.approx(weights.freshness / 2, abs=1e-5)
    assert "最近发布：0 天前" in texts(new_match)
    assert "fresh" not in codes(old_match)


def test_field_and_industry_mismatch_give_no_credit() -> None:
    other = achievement(field_code="electronic_information", industry_code="integrated_circuits")
    [match] = rerank_achievements(demand(), [hit(other)], now=NOW)
    assert not codes(match) & {"field", "industry"}


# --------------------------------------------------------------------------------------------------- ordering


def test_fit_outranks_a_slightly_better_text_match_that_fails_constraints() -> None:
    failing = achievement("failing", trl=3, price_fen=600 * WAN, transfer_modes=["equity"])
    fitting = achievement("fitting")
    ranked = rerank_achievements(demand(), [hit(failing, 1.0, ["散热"]), hit(fitting, 0.9, ["散热"])], now=NOW)
    assert [match.document["id"] for match in ranked] == ["fitting", "failing"]


def test_lexical_scores_are_normalised_within_the_candidates() -> None:
    ranked = rerank_achievements(demand(), [hit(achievement("a"), 40.0), hit(achievement("b"), 10.0)], now=NOW)
    assert [next(r.text for r in m.reasons if r.code == "relevance") for m in ranked] == [
        "内容相关度 100%",
        "内容相关度 25%",
    ]
    zero = rerank_achievements(demand(), [hit(achievement("a"), 0.0)], now=NOW)
    assert "relevance" not in codes(zero[0])


def test_ties_keep_the_engine_order() -> None:
    hits = [hit(achievement(str(n)), 1.0) for n in range(5)]
    assert [m.document["id"] for m in rerank_achievements(demand(), hits, now=NOW)] == ["0", "1", "2", "3", "4"]


def test_demands_for_an_achievement_use_the_same_features() -> None:
    fitting = demand(id="fits")
    too_mature = demand(id="needs-trl-9", min_trl=9, region_code="310104")
    ranked = rerank_demands(achievement(), [hit(too_mature, 1.0), hit(fitting, 1.0)], now=NOW)
    assert [match.document["id"] for match in ranked] == ["fits", "needs-trl-9"]
    assert "成熟度 TRL 7 ≥ 需求最低 TRL 6" in texts(ranked[0])


# --------------------------------------------------------------------------------------------------- weights


def test_weights_come_from_the_bundled_file_and_can_be_overridden(tmp_path: Path) -> None:
    bundled = load_weights()
    assert bundled == default_weights()
    assert bundled.lexical > 0
    custom = tmp_path / "ranking.toml"
    custom.write_text("[weights]\nmode = 5.0\n[trl]\nbelow = [0.9]\n", encoding="utf-8")
    loaded = load_weights(custom)
    assert loaded.mode == 5.0
    assert loaded.trl_below == (0.9,)
    assert loaded.field == RankingWeights().field
    heavy_mode = bundled.replace(mode=10.0)
    ranked = rerank_achievements(
        demand(),
        [hit(achievement("equity", transfer_modes=["equity"]), 1.0), hit(achievement("license"), 0.1)],
        weights=heavy_mode,
        now=NOW,
    )
    assert ranked[0].document["id"] == "license"


def test_unknown_settings_are_rejected(tmp_path: Path) -> None:
    custom = tmp_path / "ranking.toml"
    custom.write_text("[weights]\npopularity = 1.0\n[price]\ndiscount = 0.1\n[boosts]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[boosts\], weights.popularity, price.discount"):
        load_weights(custom)


# --------------------------------------------------------------------------------------------------- flow


@dataclasses.dataclass
class StubEngine:
    """Answers every search with the given hits and records the requests."""

    hits: list[Hit]
    name: str = "stub"
    requests: list[tuple[IndexDefinition, SearchQuery]] = dataclasses.field(default_factory=list)

    async def search(self, index: IndexDefinition, query: SearchQuery) -> SearchResult:
        self.requests.append((index, query))
        return SearchResult(hits=self.hits[: query.limit], total=len(self.hits))

    async def multi_search(self, requests: Sequence[tuple[IndexDefinition, SearchQuery]]) -> list[SearchResult]:
        return [await self.search(index, query) for index, query in requests]


def test_queries_carry_the_listing_text_and_the_callers_filters() -> None:
    published = Eq("status", "published")
    query = demand_query(demand(), filters=[published], limit=30)
    assert "储能柜电池温差大" in query.text
    assert "储能柜" in query.text
    assert query.filters == (published,)
    assert query.limit == 30
    assert "液冷散热" in achievement_query(achievement()).text


async def test_recommend_for_demand_retrieves_candidates_and_returns_the_best() -> None:
    hits = [hit(achievement(f"a{n}", trl=3 if n % 2 else 7), 10.0 - n / 10, ["散热"]) for n in range(8)]
    engine = StubEngine(hits)
    published = Eq("status", "published")
    matches = await recommend_for_demand(
        engine,  # type: ignore[arg-type]
        demand(),
        filters=(published,),
        limit=3,
        candidates=8,
        now=NOW,
    )
    [(index, query)] = engine.requests
    assert index == ACHIEVEMENTS
    assert query.limit == 8
    assert published in query.filters
    assert [match.document["id"] for match in matches] == ["a0", "a2", "a4"]
    assert all(match.reasons for match in matches)


async def test_recommend_for_achievement_searches_demands() -> None:
    engine = StubEngine([hit(demand(id="d1"), 2.0), hit(demand(id="d2", cooperation_modes=["equity"]), 2.0)])
    matches = await recommend_for_achievement(engine, achievement(), limit=5, now=NOW)  # type: ignore[arg-type]
    assert engine.requests[0][0] == DEMANDS
    assert [match.document["id"] for match in matches] == ["d1", "d2"]
