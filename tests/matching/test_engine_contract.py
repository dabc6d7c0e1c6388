"""What every search engine promises (services/matching/engine.py); each test runs on each engine."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from services.matching.engine import SearchEngine
from services.matching.indexes import ACHIEVEMENTS, DEMANDS, region_prefixes
from services.matching.query import AnyOf, Eq, In, Prefix, Range, SearchQuery, SearchResult, Sort

BASE_TIME = 1_760_000_000


def achievement(doc_id: str, title: str, **fields: Any) -> dict[str, Any]:
    region_code = fields.pop("region_code", "340104")
    document: dict[str, Any] = {
        "id": doc_id,
        "version": 1,
        "kind": "achievement",
        "status": "published",
        "organisation_id": "org-university",
        "owner_kind": "university",
        "title": title,
        "keywords": [],
        "summary": "",
        "description": "",
        "ip_numbers": [],
        "field_code": "new_materials",
        "industry_code": "advanced_materials",
        "region_code": region_code,
        "region_code_prefixes": region_prefixes(region_code),
        "trl": 5,
        "price_fen": 1_000_000,
        "price_mode": "fixed",
        "transfer_modes": ["license"],
        "published_at": BASE_TIME,
        "valid_until": BASE_TIME + 86_400 * 365,
    }
    document.update(fields)
    return document


def demand(doc_id: str, title: str, **fields: Any) -> dict[str, Any]:
    region_code = fields.pop("region_code", "340111")
    document: dict[str, Any] = {
        "id": doc_id,
        "version": 1,
        "kind": "demand",
        "status": "published",
        "organisation_id": "org-firm",
        "owner_kind": "enterprise",
        "title": title,
        "keywords": [],
        "problem": "",
        "technical_indicators": "",
        "field_code": "advanced_manufacturing",
        "industry_code": "smart_home_appliances",
        "region_code": region_code,
        "region_code_prefixes": region_prefixes(region_code),
        "min_trl": 5,
        "budget_min_fen": 10_000_000,
        "budget_max_fen": 50_000_000,
        "cooperation_modes": ["license"],
        "confidentiality": "public",
        "published_at": BASE_TIME,
        "deadline": BASE_TIME + 86_400 * 90,
    }
    document.update(fields)
    return document


CATALOGUE = [
    achievement(
        "a-cathode",
        "锂离子电池高压实正极材料制备技术",
        keywords=["锂离子电池", "正极材料"],
        summary="面向动力电池的高压实密度磷酸铁锂正极材料，提升体积能量密度。",
        description="采用二次造粒与碳包覆工艺，压实密度达到2.6 g/cm³，已完成中试。",
        trl=6,
        price_fen=5_000_000,
        transfer_modes=["transfer", "license"],
        region_code="340104",
        published_at=BASE_TIME + 10,
    ),
    achievement(
        "a-recycling",
        "退役动力电池梯次利用与拆解回收装备",
        keywords=["锂电", "梯次利用", "拆解回收"],
        summary="退役电池包自动拆解、健康状态快速分选与梯次利用成套装备。",
        description="拆解效率每小时60包，分选准确率95%。",
        owner_kind="enterprise",
        organisation_id="org-recycler",
        trl=8,
        price_fen=30_000_000,
        transfer_modes=["equity", "co_development"],
        region_code="340111",
        published_at=BASE_TIME + 20,
    ),
    achievement(
        "a-perovskite",
        "钙钛矿太阳能电池叠层组件",
        keywords=["perovskite", "叠层电池", "光伏组件"],
        summary="Perovskite/silicon tandem modules with 28% certified efficiency.",
        description="大面积涂布与封装工艺，湿热老化1000小时效率保持90%以上。",
        owner_kind="research_institute",
        organisation_id="org-institute",
        field_code="new_energy",
        industry_code="photovoltaics_new_energy",
        trl=4,
        price_fen=None,
        price_mode="negotiable",
        transfer_modes=["co_development"],
        region_code="320102",
        published_at=BASE_TIME + 30,
    ),
    achievement(
        "a-graphene-film",
        "石墨烯导热膜连续化制备技术",
        keywords=["导热膜", "散热"],
        summary="卷对卷连续化生产高导热薄膜，用于手机与平板散热。",
        description="导热系数1500 W/(m·K)，厚度可控。",
        trl=7,
        price_fen=8_000_000,
        transfer_modes=["license"],
        region_code="340122",
        published_at=BASE_TIME + 40,
    ),
    achievement(
        "a-phone-cooling",
        "手机散热模组轻薄化设计",
        keywords=["散热模组", "均热板"],
        summary="超薄均热板与风扇一体化散热模组。",
        description="模组内的导热层采用石墨烯复合材料，整体厚度小于0.4毫米。",
        owner_kind="enterprise",
        organisation_id="org-phone",
        field_code="electronic_information",
        trl=9,
        price_fen=2_000_000,
        transfer_modes=["transfer"],
        region_code="440305",
        published_at=BASE_TIME + 50,
    ),
]

DEMAND_CATALOGUE = [
    demand(
        "d-heating",
        "空调低温制热量衰减求解决方案",
        keywords=["空调", "低温制热"],
        problem="室外零下15℃时制热量下降明显，用户投诉多。",
        technical_indicators="-15℃制热量不低于名义值的85%。",
    ),
    demand(
        "d-members",
        "冰箱压缩机低速噪声抑制",
        keywords=["冰箱", "噪声"],
        problem="压缩机低转速运行时管路共振。",
        confidentiality="members",
    ),
]


def ids(result: SearchResult) -> list[str]:
    return [hit.document["id"] for hit in result.hits]


@pytest.fixture
async def catalogue(engine: SearchEngine) -> SearchEngine:
    await engine.apply_settings(ACHIEVEMENTS)
    await engine.apply_settings(DEMANDS)
    await engine.upsert(ACHIEVEMENTS, CATALOGUE)
    await engine.upsert(DEMANDS, DEMAND_CATALOGUE)
    return engine


async def test_chinese_text_finds_the_document(catalogue: SearchEngine) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text="钙钛矿太阳能"))
    assert ids(result)[0] == "a-perovskite"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("锂电", "a-cathode"), ("锂离子电池", "a-recycling")],
    ids=["plain-word-finds-full-term", "full-term-finds-plain-word"],
)
async def test_synonyms_work_in_both_directions(catalogue: SearchEngine, text: str, expected: str) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text=text))
    assert expected in ids(result)


@pytest.mark.parametrize("text", ["perovskyte", "perovsk"], ids=["mistyped", "partial"])
async def test_a_mistyped_or_partial_term_still_finds_the_document(catalogue: SearchEngine, text: str) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text=text))
    assert ids(result)[:1] == ["a-perovskite"]


async def test_empty_text_returns_every_document_that_passes_the_filters(catalogue: SearchEngine) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(filters=(Eq("status", "published"),), limit=50))
    assert result.total == len(CATALOGUE)
    assert sorted(ids(result)) == sorted(document["id"] for document in CATALOGUE)


@pytest.mark.parametrize(
    ("query_filter", "expected"),
    [
        (Eq("owner_kind", "enterprise"), {"a-recycling", "a-phone-cooling"}),
        (Eq("transfer_modes", "transfer"), {"a-cathode", "a-phone-cooling"}),
        (In("transfer_modes", ("equity", "co_development")), {"a-recycling", "a-perovskite"}),
        (In("owner_kind", ("research_institute", "enterprise")), {"a-recycling", "a-perovskite", "a-phone-cooling"}),
        (Range("trl", gte=6, lte=8), {"a-cathode", "a-recycling", "a-graphene-film"}),
        (Range("price_fen", lte=5_000_000), {"a-cathode", "a-phone-cooling"}),
        (Range("price_fen", gte=5_000_001), {"a-recycling", "a-graphene-film"}),
        (Prefix("region_code", "34"), {"a-cathode", "a-recycling", "a-graphene-film"}),
        (Prefix("region_code", "3401"), {"a-cathode", "a-recycling", "a-graphene-film"}),
        (Prefix("region_code", "340111"), {"a-recycling"}),
        (
            AnyOf((Eq("owner_kind", "research_institute"), Prefix("region_code", "4403"))),
            {"a-perovskite", "a-phone-cooling"},
        ),
    ],
    ids=[
        "eq",
        "eq-on-list",
        "in-on-list",
        "in-on-scalar",
        "range",
        "range-upper-skips-missing",
        "range-lower",
        "prefix-province",
        "prefix-city",
        "prefix-county",
        "any-of",
    ],
)
async def test_filters(catalogue: SearchEngine, query_filter: Any, expected: set[str]) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(filters=(query_filter,), limit=50))
    assert set(ids(result)) == expected
    assert result.total == len(expected)


async def test_filters_combine_with_text(catalogue: SearchEngine) -> None:
    query = SearchQuery(text="电池", filters=(Prefix("region_code", "3401"),))
    result = await catalogue.search(ACHIEVEMENTS, query)
    assert set(ids(result)) == {"a-cathode", "a-recycling"}


async def test_facet_counts_cover_the_matching_documents(catalogue: SearchEngine) -> None:
    query = SearchQuery(filters=(Prefix("region_code", "3401"),), facets=("transfer_modes", "owner_kind", "trl"))
    result = await catalogue.search(ACHIEVEMENTS, query)
    assert result.facets["transfer_modes"] == {"transfer": 1, "license": 2, "equity": 1, "co_development": 1}
    assert result.facets["owner_kind"] == {"university": 2, "enterprise": 1}
    assert result.facets["trl"] == {"6": 1, "7": 1, "8": 1}


@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_sort_by_a_document_field(catalogue: SearchEngine, direction: Literal["asc", "desc"]) -> None:
    query = SearchQuery(sort=(Sort("published_at", direction),), limit=50)
    result = await catalogue.search(ACHIEVEMENTS, query)
    oldest_first = [document["id"] for document in CATALOGUE]
    assert ids(result) == (oldest_first if direction == "asc" else oldest_first[::-1])


@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_documents_without_the_sort_value_come_last(
    catalogue: SearchEngine, direction: Literal["asc", "desc"]
) -> None:
    query = SearchQuery(sort=(Sort("price_fen", direction),), limit=50)
    result = await catalogue.search(ACHIEVEMENTS, query)
    assert ids(result)[-1] == "a-perovskite"
    prices = [hit.document["price_fen"] for hit in result.hits[:-1]]
    assert prices == sorted(prices, reverse=direction == "desc")


async def test_pagination_reports_the_total(catalogue: SearchEngine) -> None:
    query = SearchQuery(sort=(Sort("published_at", "asc"),), limit=2, offset=2)
    result = await catalogue.search(ACHIEVEMENTS, query)
    assert ids(result) == ["a-perovskite", "a-graphene-film"]
    assert result.total == len(CATALOGUE)
    beyond = await catalogue.search(ACHIEVEMENTS, SearchQuery(limit=2, offset=10))
    assert beyond.hits == []
    assert beyond.total == len(CATALOGUE)


async def test_deleted_documents_are_gone(catalogue: SearchEngine) -> None:
    await catalogue.delete(ACHIEVEMENTS, ["a-perovskite", "not-indexed"])
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text="钙钛矿"))
    assert "a-perovskite" not in ids(result)
    assert "a-perovskite" not in await catalogue.get_versions(ACHIEVEMENTS)


async def test_an_older_version_never_overwrites_a_newer_one(catalogue: SearchEngine) -> None:
    newer = achievement("a-cathode", "富锂锰基正极材料", version=3)
    older = achievement("a-cathode", "锂离子电池高压实正极材料制备技术", version=2)
    await catalogue.upsert(ACHIEVEMENTS, [newer])
    await catalogue.upsert(ACHIEVEMENTS, [older])
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text="富锂锰基"))
    assert ids(result)[:1] == ["a-cathode"]
    assert result.hits[0].document["version"] == 3
    assert (await catalogue.get_versions(ACHIEVEMENTS))["a-cathode"] == 3


async def test_a_newer_version_replaces_the_document(catalogue: SearchEngine) -> None:
    await catalogue.upsert(ACHIEVEMENTS, [achievement("a-cathode", "富锂锰基正极材料", version=2)])
    assert "a-cathode" not in ids(await catalogue.search(ACHIEVEMENTS, SearchQuery(text="高压实")))
    assert "a-cathode" in ids(await catalogue.search(ACHIEVEMENTS, SearchQuery(text="富锂锰基")))


async def test_highlights_mark_the_matched_terms(catalogue: SearchEngine) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text="导热膜"))
    hit = next(hit for hit in result.hits if hit.document["id"] == "a-graphene-film")
    assert "<em>" in hit.highlights["title"]
    assert "</em>" in hit.highlights["title"]


async def test_multi_search_answers_each_request_in_order(catalogue: SearchEngine) -> None:
    results = await catalogue.multi_search(
        [
            (ACHIEVEMENTS, SearchQuery(text="钙钛矿")),
            (DEMANDS, SearchQuery(text="低温制热")),
            (DEMANDS, SearchQuery(filters=(In("confidentiality", ("members",)),))),
        ]
    )
    assert len(results) == 3
    assert ids(results[0])[:1] == ["a-perovskite"]
    assert ids(results[1])[:1] == ["d-heating"]
    assert ids(results[2]) == ["d-members"]


async def test_get_versions_lists_every_document(catalogue: SearchEngine) -> None:
    await catalogue.upsert(ACHIEVEMENTS, [achievement("a-graphene-film", "石墨烯导热膜连续化制备技术", version=4)])
    versions = await catalogue.get_versions(ACHIEVEMENTS)
    assert versions == {document["id"]: 1 for document in CATALOGUE} | {"a-graphene-film": 4}
    assert await catalogue.get_versions(DEMANDS) == {"d-heating": 1, "d-members": 1}


async def test_a_title_match_ranks_above_a_description_only_match(catalogue: SearchEngine) -> None:
    result = await catalogue.search(ACHIEVEMENTS, SearchQuery(text="石墨烯"))
    assert ids(result)[:2] == ["a-graphene-film", "a-phone-cooling"]


async def test_the_engine_reports_itself_healthy(engine: SearchEngine) -> None:
    assert await engine.healthy()
