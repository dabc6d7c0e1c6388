"""What the embedded engine does beyond the contract: its SQL, its limits and its failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.matching.embedded import UPSERT_CHUNK, EmbeddedEngine
from services.matching.embedded_query import (
    base_clause,
    fuzzy_ids_statement,
    relevance_statement,
    sorted_statement,
    text_match,
    tier_queries,
)
from services.matching.engine import SearchUnavailable
from services.matching.indexes import ACHIEVEMENTS
from services.matching.query import Eq, Prefix, Range, SearchQuery, Sort
from services.matching.text import synonym_groups
from tests.matching.test_engine_contract import CATALOGUE, achievement, ids


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def embedded(database: AsyncEngine) -> EmbeddedEngine:
    engine = EmbeddedEngine(database)
    await engine.upsert(ACHIEVEMENTS, CATALOGUE)
    return engine


VOCABULARY = [member for group in synonym_groups() for member in group if len(member) > 2][:120]


def _varied_documents(count: int) -> list[dict[str, Any]]:
    """Documents whose words each appear in about 1% of them, as in a real index."""
    documents = []
    for number in range(count):
        first, second = VOCABULARY[number % len(VOCABULARY)], VOCABULARY[(number * 7 + 3) % len(VOCABULARY)]
        region = ("340104", "320102", "440305", "110108")[number % 4]
        documents.append(
            achievement(
                f"a-{number:05d}",
                f"{first}与{second}",
                status="published" if number % 10 else "withdrawn",
                organisation_id=f"org-{number % 300}",
                region_code=region,
                region_code_prefixes=[region[:2], region[:4], region],
                published_at=1_700_000_000 + number,
            )
        )
    return documents


@pytest.fixture
async def large(database: AsyncEngine) -> EmbeddedEngine:
    engine = EmbeddedEngine(database)
    await engine.upsert(ACHIEVEMENTS, _varied_documents(3000))
    async with database.begin() as connection:
        await connection.execute(text("ANALYZE search_documents"))
    return engine


async def _plan(database: AsyncEngine, statement: Any) -> str:
    compiled = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with database.connect() as connection:
        rows = await connection.execute(text("EXPLAIN " + str(compiled).replace("%%", "%")))
        return "\n".join(row[0] for row in rows)


async def test_text_and_typos_are_answered_from_the_gin_indexes(large: EmbeddedEngine, database: AsyncEngine) -> None:
    filters = (Eq("status", "published"), Prefix("region_code", "3401"))
    query = SearchQuery(text="锂离子电池 perovskyte", filters=filters)
    match = text_match(query.text)
    assert match is not None
    relevance = relevance_statement(ACHIEVEMENTS, query, match, tier_queries(match, {}), [], 200)
    assert "Bitmap Index Scan on ix_search_documents_tsv" in await _plan(database, relevance)
    typo = fuzzy_ids_statement(ACHIEVEMENTS, match, 100)
    assert "Bitmap Index Scan on ix_search_documents_search_text" in await _plan(database, typo)


async def test_newest_first_is_read_from_its_index(large: EmbeddedEngine, database: AsyncEngine) -> None:
    newest = sorted_statement(ACHIEVEMENTS, SearchQuery(sort=(Sort("published_at", "desc"),)), None)
    assert "Index Scan using ix_search_documents_published_at" in await _plan(database, newest)
    result = await large.search(ACHIEVEMENTS, SearchQuery(sort=(Sort("published_at", "desc"),), limit=2))
    assert ids(result) == ["a-02999", "a-02998"]


async def test_matched_terms_name_the_words_found_including_synonyms(embedded: EmbeddedEngine) -> None:
    result = await embedded.search(ACHIEVEMENTS, SearchQuery(text="锂电"))
    cathode = next(hit for hit in result.hits if hit.document["id"] == "a-cathode")
    assert "锂离子电池" in cathode.matched_terms
    assert "<em>锂离子电池</em>" in cathode.highlights["title"]


async def test_a_mistyped_term_is_highlighted_as_the_word_it_meant(embedded: EmbeddedEngine) -> None:
    result = await embedded.search(ACHIEVEMENTS, SearchQuery(text="perovskyte"))
    assert result.hits[0].matched_terms == ("perovskite",)
    assert "<em>Perovskite</em>" in result.hits[0].highlights["summary"]


async def test_highlights_are_escaped_html(embedded: EmbeddedEngine) -> None:
    await embedded.upsert(ACHIEVEMENTS, [achievement("a-html", "<script>石墨烯</script>涂层")])
    result = await embedded.search(ACHIEVEMENTS, SearchQuery(text="石墨烯涂层"))
    hit = next(hit for hit in result.hits if hit.document["id"] == "a-html")
    assert hit.highlights["title"] == "&lt;script&gt;<em>石墨烯</em>&lt;/script&gt;<em>涂层</em>"


async def test_a_patent_number_finds_its_document_whatever_the_punctuation(embedded: EmbeddedEngine) -> None:
    await embedded.upsert(ACHIEVEMENTS, [achievement("a-patent", "一种涂层", ip_numbers=["ZL202110123456.7"])])
    for written in ("ZL202110123456.7", "zl 2021 1 0123456.7", "专利 ZL2021-1012-3456.7"):
        result = await embedded.search(ACHIEVEMENTS, SearchQuery(text=written))
        assert ids(result) == ["a-patent"], written


async def test_totals_and_facets_stop_counting_at_the_limit(database: AsyncEngine) -> None:
    engine = EmbeddedEngine(database, max_total_hits=3)
    await engine.upsert(ACHIEVEMENTS, CATALOGUE)
    result = await engine.search(ACHIEVEMENTS, SearchQuery(facets=("owner_kind",), limit=50))
    assert result.total == 3
    assert len(result.hits) == len(CATALOGUE)
    assert sum(result.facets["owner_kind"].values()) == 3


async def test_large_batches_keep_the_highest_version_of_each_document(database: AsyncEngine) -> None:
    engine = EmbeddedEngine(database)
    count = UPSERT_CHUNK * 2 + 7
    batch = [achievement(f"a-{number:05d}", f"样品{number}", version=2) for number in range(count)]
    stale = [achievement(f"a-{number:05d}", "陈旧版本", version=1) for number in range(0, count, 3)]
    fresher = [achievement("a-00001", "全新样品", version=5)]
    await engine.upsert(ACHIEVEMENTS, [*batch, *stale, *fresher])
    versions = await engine.get_versions(ACHIEVEMENTS)
    assert len(versions) == count
    assert versions["a-00000"] == 2
    assert versions["a-00001"] == 5
    assert ids(await engine.search(ACHIEVEMENTS, SearchQuery(text="陈旧"))) == []


async def test_ranges_skip_documents_without_a_number(embedded: EmbeddedEngine) -> None:
    result = await embedded.search(ACHIEVEMENTS, SearchQuery(filters=(Range("price_fen"),), limit=50))
    assert "a-perovskite" not in ids(result)
    assert result.total == len(CATALOGUE) - 1


async def test_filters_on_fields_the_index_does_not_declare_are_refused(embedded: EmbeddedEngine) -> None:
    with pytest.raises(ValueError, match="filterable"):
        await embedded.search(ACHIEVEMENTS, SearchQuery(filters=(Eq("title", "x"),)))
    with pytest.raises(ValueError, match="sortable"):
        await embedded.search(ACHIEVEMENTS, SearchQuery(sort=(Sort("title"),)))


async def test_tiers_ask_for_the_rarest_units_first_and_end_with_any() -> None:
    match = text_match("空调 低温制热 压缩机")
    assert match is not None
    common = {"空调": 0.4, "压缩机": 0.2, "压缩": 0.2}
    tiers = tier_queries(match, common)
    assert tiers[0].count("&") >= 2  # all three units
    assert "空调" not in tiers[1]  # the most frequent unit goes first
    assert tiers[-1] == match.any_query
    assert tier_queries(match, common, absent={0})[0].count("空调") == 0


async def test_an_unreachable_database_makes_search_unavailable() -> None:
    database = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none", connect_args={"timeout": 2})
    engine = EmbeddedEngine(database)
    assert not await engine.healthy()
    with pytest.raises(SearchUnavailable):
        await engine.search(ACHIEVEMENTS, SearchQuery(text="电池"))
    with pytest.raises(SearchUnavailable):
        await engine.upsert(ACHIEVEMENTS, CATALOGUE)
    await database.dispose()


async def test_apply_settings_reports_a_missing_table(database: AsyncEngine) -> None:
    engine = EmbeddedEngine(database)
    await engine.apply_settings(ACHIEVEMENTS)
    async with database.begin() as connection:
        await connection.execute(text("DROP TABLE search_documents"))
    with pytest.raises(SearchUnavailable, match="migrations"):
        await engine.apply_settings(ACHIEVEMENTS)


def test_every_filter_clause_keeps_to_the_index() -> None:
    clause = base_clause(ACHIEVEMENTS, SearchQuery(filters=(Eq("status", "published"),)))
    sql = str(clause.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert "index_name = 'achievements'" in sql
    assert "filter_terms && ARRAY['status=published']" in sql
