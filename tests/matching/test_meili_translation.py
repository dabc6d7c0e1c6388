"""The Meilisearch dialect without a server: filters, sorts, settings, request parameters, hit conversion, and the
adapter's wiring against a scripted HTTP transport that answers in Meilisearch's response shapes."""

from __future__ import annotations

import fnmatch
import functools
import inspect
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from meilisearch_python_sdk import AsyncIndex
from meilisearch_python_sdk._client import _async_client
from meilisearch_python_sdk.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchTimeoutError
from meilisearch_python_sdk.models.search import SearchParams
from meilisearch_python_sdk.models.settings import MeilisearchSettings

from services.matching.engine import SearchUnavailable
from services.matching.indexes import ACHIEVEMENTS, DEMANDS, IndexDefinition
from services.matching.meili import MeilisearchEngine, _engine_errors, create_scoped_keys
from services.matching.meili_translation import (
    MATCH_NOTHING,
    POST_SENTINEL,
    PRE_SENTINEL,
    PageWindow,
    document_identity,
    expand_synonyms,
    filter_expression,
    hit_from_meili,
    index_settings,
    latest_per_id,
    not_stale,
    page_window,
    quote,
    search_params,
    search_result_from_meili,
    sort_expression,
    stored_versions,
)
from services.matching.query import AnyOf, Eq, In, Prefix, Range, SearchQuery, Sort
from services.matching.text import synonym_groups

# ---------------------------------------------------------------------------------------------------- filters


def meili_unquote(literal: str) -> str:
    """What Meilisearch's filter parser reads from a double-quoted value (filter-parser's ``quoted_by``, then
    ``unescaper``), accepting only the two escapes ``quote`` emits."""
    assert len(literal) >= 2
    assert literal[0] == literal[-1] == '"'
    body, position, escaped_quote = literal[1:-1], 0, False
    while position < len(body):
        assert body[position] != '"', "an unescaped quote would end the value early"
        if body[position] == "\\":
            assert position + 1 < len(body), "a dangling backslash would escape the closing quote"
            escaped_quote |= body[position + 1] == '"'
            position += 2
        else:
            position += 1
    if escaped_quote:
        body = body.replace('\\"', '"')
    read, position = [], 0
    while position < len(body):
        if body[position] == "\\":
            assert body[position + 1] in '\\"', "only escaped backslashes and quotes are expected"
            position += 1
        read.append(body[position])
        position += 1
    return "".join(read)


def test_no_filters_is_an_empty_expression() -> None:
    assert filter_expression(()) == ""


def test_equality_quotes_strings_and_leaves_numbers_and_booleans_bare() -> None:
    assert filter_expression((Eq("status", "published"),)) == 'status = "published"'
    assert filter_expression((Eq("trl", 7),)) == "trl = 7"
    assert filter_expression((Eq("flagged", True),)) == "flagged = true"
    assert filter_expression((Eq("flagged", False),)) == "flagged = false"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ('say "hi"', r'"say \"hi\""'),
        ("C:\\temp", r'"C:\\temp"'),
        ("ends with \\", r'"ends with \\"'),
        ('\\"', r'"\\\""'),
        ("合肥市 蜀山区", '"合肥市 蜀山区"'),
        ("", '""'),
    ],
)
def test_string_values_escape_backslashes_then_quotes(value: str, literal: str) -> None:
    assert quote(value) == literal
    assert meili_unquote(literal) == value


@pytest.mark.parametrize("value", ['a"b', "a\\b", "\\", '"', '\\\\"', 'x" OR status = "draft', "tab\there", "\\n"])
def test_quoted_values_read_back_unchanged_and_cannot_break_out(value: str) -> None:
    expression = filter_expression((Eq("organisation_id", value),))
    literal = expression.removeprefix("organisation_id = ")
    assert meili_unquote(literal) == value


def test_in_lists_values_and_an_empty_list_matches_nothing() -> None:
    assert filter_expression((In("confidentiality", ("public", "members")),)) == (
        'confidentiality IN ["public", "members"]'
    )
    assert filter_expression((In("trl", (7, 8)),)) == "trl IN [7, 8]"
    assert filter_expression((In("confidentiality", ()),)) == "confidentiality IN []"


def test_range_bounds_are_inclusive_comparisons() -> None:
    assert filter_expression((Range("price_fen", gte=100, lte=900),)) == "price_fen >= 100 AND price_fen <= 900"
    assert filter_expression((Range("trl", gte=4),)) == "trl >= 4"
    assert filter_expression((Range("trl", lte=6),)) == "trl <= 6"


def test_unbounded_range_still_requires_a_value() -> None:
    assert filter_expression((Range("price_fen"),)) == "price_fen EXISTS AND price_fen IS NOT NULL"


def test_range_bounds_must_be_integers() -> None:
    with pytest.raises(TypeError):
        filter_expression((Range("trl", gte="1 OR trl < 0"),))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        filter_expression((Range("trl", lte=True),))


def test_prefix_matches_the_precomputed_prefixes_list() -> None:
    assert filter_expression((Prefix("region_code", "3401"),)) == 'region_code_prefixes = "3401"'


def test_filters_are_a_conjunction() -> None:
    filters = (Eq("status", "published"), Range("trl", gte=3, lte=7), Prefix("region_code", "34"))
    assert filter_expression(filters) == (
        'status = "published" AND trl >= 3 AND trl <= 7 AND region_code_prefixes = "34"'
    )


def test_any_of_is_a_parenthesised_disjunction() -> None:
    visibility = AnyOf((In("confidentiality", ("public",)), Eq("organisation_id", "org-1")))
    assert filter_expression((Eq("status", "published"), visibility)) == (
        'status = "published" AND (confidentiality IN ["public"] OR organisation_id = "org-1")'
    )


def test_any_of_groups_multi_clause_alternatives() -> None:
    cheap_or_free = AnyOf((Range("price_fen", gte=1, lte=100), Eq("price_mode", "free")))
    assert filter_expression((cheap_or_free,)) == '((price_fen >= 1 AND price_fen <= 100) OR price_mode = "free")'


def test_nested_any_of() -> None:
    inner = AnyOf((Eq("owner_kind", "university"), Eq("owner_kind", "research_institute")))
    outer = AnyOf((Eq("organisation_id", "org-1"), inner))
    assert filter_expression((Eq("status", "published"), outer)) == (
        'status = "published" AND (organisation_id = "org-1" OR '
        '(owner_kind = "university" OR owner_kind = "research_institute"))'
    )


def test_any_of_with_one_alternative_needs_no_parentheses() -> None:
    assert filter_expression((AnyOf((Eq("status", "published"),)),)) == 'status = "published"'


def test_empty_any_of_matches_nothing() -> None:
    assert filter_expression((AnyOf(()),)) == MATCH_NOTHING
    assert filter_expression((Eq("status", "published"), AnyOf(()))) == f'status = "published" AND {MATCH_NOTHING}'


@pytest.mark.parametrize("name", ["title OR 1", 'x"', "", "1abc", "AND", "price fen"])
def test_attribute_names_that_would_change_the_expression_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="attribute name"):
        filter_expression((Eq(name, "x"),))


def test_filter_values_of_other_types_are_refused() -> None:
    with pytest.raises(TypeError):
        filter_expression((Eq("trl", 7.5),))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------ sorts


def test_sort_expression() -> None:
    assert sort_expression((Sort("price_fen", "asc"), Sort("published_at"))) == ["price_fen:asc", "published_at:desc"]
    assert sort_expression(()) == []


def test_sort_attribute_names_are_checked() -> None:
    with pytest.raises(ValueError, match="attribute name"):
        sort_expression((Sort("price_fen:asc,title"),))


# --------------------------------------------------------------------------------------------------- settings


def test_synonym_groups_expand_in_both_directions() -> None:
    assert expand_synonyms([["IGBT", "绝缘栅双极型晶体管", "绝缘栅双极晶体管"]]) == {
        "IGBT": ["绝缘栅双极型晶体管", "绝缘栅双极晶体管"],
        "绝缘栅双极型晶体管": ["IGBT", "绝缘栅双极晶体管"],
        "绝缘栅双极晶体管": ["IGBT", "绝缘栅双极型晶体管"],
    }


def test_groups_sharing_a_term_merge_for_that_term_only() -> None:
    assert expand_synonyms([["AI", "人工智能"], ["AI", "机器智能"]]) == {
        "AI": ["人工智能", "机器智能"],
        "人工智能": ["AI"],
        "机器智能": ["AI"],
    }


def test_synonym_terms_are_trimmed_and_deduplicated_and_singletons_dropped() -> None:
    assert expand_synonyms([[" SiC ", "碳化硅", "碳化硅", ""], ["孤词"], []]) == {"SiC": ["碳化硅"], "碳化硅": ["SiC"]}


def test_settings_follow_the_index_definition() -> None:
    settings = index_settings(ACHIEVEMENTS, [])
    assert settings["searchableAttributes"] == ["title", "keywords", "summary", "description", "ip_numbers"]
    assert settings["sortableAttributes"] == list(ACHIEVEMENTS.sortable)
    assert settings["filterableAttributes"][0] == "id"  # the version check fetches by id
    assert set(settings["filterableAttributes"]) == {"id", *ACHIEVEMENTS.filterable, *ACHIEVEMENTS.facets}
    assert settings["faceting"]["maxValuesPerFacet"] >= 100
    assert settings["pagination"]["maxTotalHits"] >= 10_000
    assert settings["proximityPrecision"] == "byWord"


def test_every_attribute_is_localized_as_mandarin_chinese() -> None:
    for index in (ACHIEVEMENTS, DEMANDS):
        (rule,) = index_settings(index, [])["localizedAttributes"]
        assert rule["locales"] == ["cmn"]
        attributes = {*index.searchable, *index.filterable, *index.sortable, index.primary_key}
        assert all(
            any(fnmatch.fnmatchcase(name, pattern) for pattern in rule["attributePatterns"]) for name in attributes
        )


def test_typo_tolerance_is_off_on_exact_fields_only() -> None:
    assert index_settings(ACHIEVEMENTS, [])["typoTolerance"] == {"enabled": True, "disableOnAttributes": ["ip_numbers"]}
    assert index_settings(DEMANDS, [])["typoTolerance"] == {"enabled": True, "disableOnAttributes": []}


def test_ranking_rules_are_the_builtin_ones_with_an_explicit_sort_first() -> None:
    rules = index_settings(ACHIEVEMENTS, [])["rankingRules"]
    assert rules == ["sort", "words", "typo", "proximity", "attribute", "exactness"]


def test_settings_carry_the_expanded_synonyms() -> None:
    settings = index_settings(DEMANDS, [["MCU", "单片机"]])
    assert settings["synonyms"] == {"MCU": ["单片机"], "单片机": ["MCU"]}


@pytest.mark.parametrize("index", [ACHIEVEMENTS, DEMANDS])
def test_the_sdk_settings_model_keeps_every_setting(index: IndexDefinition) -> None:
    settings = index_settings(index, [["IC", "集成电路"]])
    model = MeilisearchSettings.model_validate(settings)
    assert json.loads(json.dumps(model.model_dump(by_alias=True, exclude_none=True))) == settings


# ------------------------------------------------------------------------------------------- search requests


@pytest.mark.parametrize(
    ("offset", "limit", "window"),
    [
        (0, 20, PageWindow(page=1, hits_per_page=20, skip=0)),
        (40, 20, PageWindow(page=3, hits_per_page=20, skip=0)),
        (5, 20, PageWindow(page=1, hits_per_page=25, skip=5)),
        (30, 20, PageWindow(page=2, hits_per_page=25, skip=5)),
        (0, 0, PageWindow(page=1, hits_per_page=0, skip=0)),
    ],
)
def test_page_window(offset: int, limit: int, window: PageWindow) -> None:
    assert page_window(offset, limit) == window


def test_page_windows_always_cover_the_requested_slice() -> None:
    for offset in range(0, 120):
        for limit in range(1, 40):
            window = page_window(offset, limit)
            first = (window.page - 1) * window.hits_per_page
            assert first + window.skip == offset
            assert window.page * window.hits_per_page >= offset + limit
            assert window.hits_per_page <= offset + limit


def test_negative_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        page_window(-1, 20)


def test_search_params() -> None:
    query = SearchQuery(
        text="变频 驱动板",
        filters=(Eq("status", "published"), Range("trl", gte=5)),
        facets=("field_code", "trl"),
        sort=(Sort("price_fen", "asc"),),
        limit=10,
        offset=20,
    )
    params = search_params(query, ACHIEVEMENTS)
    assert params == {
        "query": "变频 驱动板",
        "filter": 'status = "published" AND trl >= 5',
        "facets": ["field_code", "trl"],
        "sort": ["price_fen:asc"],
        "page": 3,
        "hits_per_page": 10,
        "matching_strategy": "frequency",
        "show_ranking_score": True,
        "show_matches_position": True,
        "locales": ["cmn"],
        "attributes_to_highlight": list(ACHIEVEMENTS.searchable),
        "attributes_to_crop": list(ACHIEVEMENTS.searchable),
        "crop_length": 40,
        "crop_marker": "…",
        "highlight_pre_tag": PRE_SENTINEL,
        "highlight_post_tag": POST_SENTINEL,
    }


def test_search_params_leave_out_what_the_query_does_not_ask_for() -> None:
    params = search_params(SearchQuery(highlight=False), DEMANDS)
    assert "filter" not in params
    assert params["facets"] is None
    assert params["sort"] is None
    assert not {"attributes_to_highlight", "attributes_to_crop", "highlight_pre_tag"} & set(params)
    assert params["query"] == ""


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery(filters=(Eq("title", "x"),)),
        SearchQuery(filters=(AnyOf((Eq("status", "published"), Range("version", gte=1))),)),
        SearchQuery(filters=(Prefix("organisation_id", "34"),)),
        SearchQuery(sort=(Sort("title"),)),
        SearchQuery(facets=("status",)),
    ],
)
def test_attributes_outside_their_declared_role_are_refused(query: SearchQuery) -> None:
    with pytest.raises(ValueError, match="attribute of index 'achievements'"):
        search_params(query, ACHIEVEMENTS)


def test_search_params_fit_the_sdk_signatures() -> None:
    params = search_params(SearchQuery(text="x", filters=(Eq("status", "published"),), facets=("trl",)), ACHIEVEMENTS)
    inspect.signature(AsyncIndex.search).bind(None, **params)
    dumped = SearchParams(index_uid="achievements", **params).model_dump(by_alias=True)
    assert dumped["q"] == "x"
    assert dumped["hitsPerPage"] == 20
    assert dumped["highlightPreTag"] == PRE_SENTINEL


# ------------------------------------------------------------------------------------------------ search hits

TITLE = "变频压缩机驱动板IPM模块失效分析"
SUMMARY = "对<b>驱动板</b>中的IPM模块开展失效分析"


def em(text: str) -> str:
    return PRE_SENTINEL + text + POST_SENTINEL


def raw_hit() -> dict[str, Any]:
    """A hit as Meilisearch returns it for q="IPM 失效分析" with our highlight, crop and position options.

    ``start`` is in bytes; ``length`` is in characters (what servers send, meilisearch#5429): "失效" starts at
    byte 33 (8 CJK characters, "IPM", 2 more CJK characters) and is 2 characters long. Adjacent matches share
    one emphasis in ``_formatted``, and every retrieved field appears there, highlighted or not.
    """
    return {
        "id": "D-A001",
        "version": 4,
        "title": TITLE,
        "keywords": ["变频压缩机", "驱动板", "IPM", "失效分析"],
        "summary": SUMMARY,
        "description": "提供X射线、声学扫描与功率循环试验。",
        "ip_numbers": ["ZL202310001234.5"],
        "trl": 8,
        "price_fen": None,
        "_formatted": {
            "id": "D-A001",
            "version": "4",
            "title": "变频压缩机驱动板" + em("IPM") + "模块" + em("失效分析"),
            "keywords": ["变频压缩机", "驱动板", em("IPM"), em("失效分析")],
            "summary": "对<b>驱动板</b>中的" + em("IPM") + "模块开展" + em("失效分析"),
            "description": "提供X射线、声学扫描与功率循环试验。",
            "ip_numbers": ["ZL202310001234.5"],
            "trl": "8",
            "price_fen": None,
        },
        "_matchesPosition": {
            "title": [{"start": 24, "length": 3}, {"start": 33, "length": 2}, {"start": 39, "length": 2}],
            "keywords": [
                {"start": 0, "length": 3, "indices": [2]},
                {"start": 0, "length": 2, "indices": [3]},
                {"start": 6, "length": 2, "indices": [3]},
            ],
            "summary": [{"start": 25, "length": 3}, {"start": 40, "length": 2}, {"start": 46, "length": 2}],
        },
        "_rankingScore": 0.8712,
    }


def test_sample_positions_are_byte_starts() -> None:
    assert TITLE.encode()[24:27].decode() == "IPM"
    assert TITLE.encode()[33:39].decode() == "失效"
    assert SUMMARY.encode()[25:28].decode() == "IPM"
    assert SUMMARY.encode()[40:46].decode() == "失效"


def test_hit_document_drops_meilisearch_keys() -> None:
    hit = hit_from_meili(raw_hit(), ACHIEVEMENTS)
    assert not [key for key in hit.document if key.startswith("_")]
    assert hit.document["id"] == "D-A001"
    assert hit.document["price_fen"] is None
    assert hit.score == pytest.approx(0.8712)


def test_highlights_cover_matched_searchable_fields_escaped_with_em_tags() -> None:
    assert hit_from_meili(raw_hit(), ACHIEVEMENTS).highlights == {
        "title": "变频压缩机驱动板<em>IPM</em>模块<em>失效分析</em>",
        "keywords": "<em>IPM</em>、<em>失效分析</em>",
        "summary": "对&lt;b&gt;驱动板&lt;/b&gt;中的<em>IPM</em>模块开展<em>失效分析</em>",
    }


def test_matched_terms_come_from_positions_normalised_in_searchable_order_without_duplicates() -> None:
    assert hit_from_meili(raw_hit(), ACHIEVEMENTS).matched_terms == ("ipm", "失效", "分析")


def test_matched_terms_do_not_depend_on_highlighting() -> None:
    raw = raw_hit()
    del raw["_formatted"]
    hit = hit_from_meili(raw, ACHIEVEMENTS)
    assert hit.highlights == {}
    assert hit.matched_terms == ("ipm", "失效", "分析")


def span_hit(text: str, start: int, length: int, formatted: str | None) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": "x", "version": 1, "title": text, "_matchesPosition": {"title": []}}
    raw["_matchesPosition"]["title"].append({"start": start, "length": length})
    if formatted is not None:
        raw["_formatted"] = {"title": formatted}
    return raw


def test_a_character_length_is_read_as_characters_even_where_the_bytes_would_decode() -> None:
    # "变频器" is 3 characters; its first 3 bytes are "变", a valid but wrong reading.
    raw = span_hit("新型变频器控制方法", 6, 3, None)
    assert hit_from_meili(raw, ACHIEVEMENTS).matched_terms == ("变频器",)


def test_a_byte_length_is_recognised_through_the_emphasis() -> None:
    raw = span_hit("新型变频器控制方法", 6, 9, "新型" + em("变频器") + "控制方法")
    assert hit_from_meili(raw, ACHIEVEMENTS).matched_terms == ("变频器",)


def test_terms_differing_only_in_case_or_script_are_one_term() -> None:
    raw = span_hit("IPM and ipm", 0, 3, None)
    raw["_matchesPosition"]["title"].append({"start": 8, "length": 3})
    assert hit_from_meili(raw, ACHIEVEMENTS).matched_terms == ("ipm",)
    traditional = span_hit("新型變頻器", 6, 3, None)
    assert hit_from_meili(traditional, ACHIEVEMENTS).matched_terms == ("变频器",)


def test_highlights_escape_quotes_too() -> None:
    raw = {"id": "x", "version": 1, "title": 'a "b"', "_formatted": {"title": 'a "' + em("b") + '"'}}
    assert hit_from_meili(raw, ACHIEVEMENTS).highlights == {"title": "a &quot;<em>b</em>&quot;"}


@pytest.mark.parametrize(
    "span",
    [
        {"start": 1, "length": 2},  # starts inside a character
        {"start": 99, "length": 2},  # beyond the text
        {"start": "0", "length": 2},
        {"start": 0},
        {"start": 0, "length": 2, "indices": [5]},
    ],
)
def test_malformed_spans_are_skipped(span: dict[str, Any]) -> None:
    raw = {"id": "x", "version": 1, "title": "失效分析", "_matchesPosition": {"title": [span]}}
    assert hit_from_meili(raw, ACHIEVEMENTS).matched_terms == ()


def test_matches_in_fields_that_are_not_searchable_are_ignored() -> None:
    raw = {
        "id": "x",
        "version": 1,
        "status": "published",
        "_matchesPosition": {"status": [{"start": 0, "length": 9}]},
        "_formatted": {"status": em("published")},
    }
    hit = hit_from_meili(raw, ACHIEVEMENTS)
    assert hit.matched_terms == ()
    assert hit.highlights == {}


def test_a_placeholder_search_hit_has_no_terms_and_no_highlights() -> None:
    raw = {"id": "x", "version": 1, "title": TITLE, "_formatted": {"title": TITLE}, "_rankingScore": 1.0}
    hit = hit_from_meili(raw, ACHIEVEMENTS)
    assert (hit.highlights, hit.matched_terms, hit.score) == ({}, (), 1.0)


def test_search_result_skips_the_hits_before_the_window_and_keeps_totals_and_facets() -> None:
    hits = [{"id": str(number), "version": 1, "_rankingScore": 0.5} for number in range(5)]
    result = search_result_from_meili(hits, 42, {"trl": {"7": 3, "8": 1}}, ACHIEVEMENTS, skip=3)
    assert [hit.document["id"] for hit in result.hits] == ["3", "4"]
    assert result.total == 42
    assert result.facets == {"trl": {"7": 3, "8": 1}}
    assert search_result_from_meili([], None, None, ACHIEVEMENTS).total == 0


# ------------------------------------------------------------------------------------------- the version rule


def test_latest_per_id_keeps_the_highest_version_and_the_later_of_equals() -> None:
    documents = [
        {"id": "a", "version": 2, "title": "old"},
        {"id": "a", "version": 5, "title": "new"},
        {"id": "a", "version": 3, "title": "older"},
        {"id": "b", "version": 1, "title": "first"},
        {"id": "b", "version": 1, "title": "second"},
    ]
    latest = latest_per_id(documents, "id")
    assert {key: document["title"] for key, document in latest.items()} == {"a": "new", "b": "second"}


@pytest.mark.parametrize(
    "document",
    [{"version": 1}, {"id": "", "version": 1}, {"id": "a"}, {"id": "a", "version": "2"}, {"id": "a", "version": True}],
)
def test_documents_need_an_id_and_an_integer_version(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="search document"):
        document_identity(document, "id")


def test_stale_documents_are_dropped_and_equal_versions_rewritten() -> None:
    candidates = {
        "older": {"id": "older", "version": 1},
        "same": {"id": "same", "version": 4},
        "newer": {"id": "newer", "version": 9},
        "unknown": {"id": "unknown", "version": 1},
        "unversioned": {"id": "unversioned", "version": 1},
    }
    stored = stored_versions(
        [
            {"id": "older", "version": 2},
            {"id": "same", "version": 4},
            {"id": "newer", "version": 3},
            {"id": "unversioned"},
        ],
        "id",
    )
    assert [document["id"] for document in not_stale(candidates, stored)] == ["same", "newer", "unknown", "unversioned"]


# ---------------------------------------------------------------------- the adapter against a scripted server

TASK_TIME = "2026-11-27T08:00:00Z"
Reply = httpx2.Response | Callable[[httpx2.Request], httpx2.Response]


@dataclass
class ScriptedMeilisearch:
    """Answers the adapter's requests in Meilisearch's shapes; unscripted routes are a test failure."""

    routes: dict[tuple[str, str], Reply] = field(default_factory=dict)
    fallback: Callable[[httpx2.Request], httpx2.Response] | None = None
    failed_tasks: dict[int, dict[str, str]] = field(default_factory=dict)
    requests: list[httpx2.Request] = field(default_factory=list)
    next_task: int = 0

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if request.method == "GET" and request.url.path.startswith("/tasks/"):
            return self._task(int(request.url.path.rsplit("/", 1)[1]))
        reply = self.routes.get((request.method, request.url.path), self.fallback)
        if reply is None:
            raise AssertionError(f"unscripted request {request.method} {request.url}")
        return reply(request) if callable(reply) else reply

    def enqueue(self, task_type: str, index_uid: str | None = None) -> httpx2.Response:
        self.next_task += 1
        return httpx2.Response(
            202,
            json={
                "taskUid": self.next_task,
                "indexUid": index_uid,
                "status": "enqueued",
                "type": task_type,
                "enqueuedAt": TASK_TIME,
            },
        )

    def _task(self, uid: int) -> httpx2.Response:
        error = self.failed_tasks.get(uid)
        return httpx2.Response(
            200,
            json={
                "uid": uid,
                "status": "failed" if error else "succeeded",
                "type": "settingsUpdate",
                "error": error,
                "enqueuedAt": TASK_TIME,
            },
        )

    def sent(self, method: str, path: str) -> list[httpx2.Request]:
        return [request for request in self.requests if (request.method, request.url.path) == (method, path)]


def index_info(uid: str, primary_key: str | None = "id") -> httpx2.Response:
    body = {"uid": uid, "primaryKey": primary_key, "createdAt": TASK_TIME, "updatedAt": TASK_TIME}
    return httpx2.Response(200, json=body)


def api_error(status: int, code: str, kind: str = "invalid_request") -> httpx2.Response:
    body = {
        "message": f"{code} happened",
        "code": code,
        "type": kind,
        "link": f"https://docs.meilisearch.com/errors#{code}",
    }
    return httpx2.Response(status, json=body)


def body(request: httpx2.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> ScriptedMeilisearch:
    scripted = ScriptedMeilisearch()
    transport = httpx2.MockTransport(scripted.handle)
    monkeypatch.setattr(_async_client, "HttpxAsyncClient", functools.partial(httpx2.AsyncClient, transport=transport))
    return scripted


@pytest.fixture
async def engine(server: ScriptedMeilisearch) -> AsyncIterator[MeilisearchEngine]:
    meili = MeilisearchEngine("http://meili.test", "admin-key", index_prefix="t_", task_timeout=2.0)
    yield meili
    await meili.close()


async def test_upsert_writes_only_documents_not_older_than_the_stored_ones(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    stored = {"results": [{"id": "a", "version": 5}, {"id": "b", "version": 2}], "offset": 0, "limit": 3, "total": 2}
    server.routes[("POST", "/indexes/t_achievements/documents/fetch")] = httpx2.Response(200, json=stored)
    server.routes[("POST", "/indexes/t_achievements/documents")] = lambda _: server.enqueue("documentAdditionOrUpdate")
    documents = [{"id": "a", "version": 4}, {"id": "b", "version": 3}, {"id": "c", "version": 1}]

    await engine.upsert(ACHIEVEMENTS, documents)

    (fetch,) = server.sent("POST", "/indexes/t_achievements/documents/fetch")
    assert body(fetch) == {"offset": 0, "limit": 3, "fields": ["id", "version"], "filter": 'id IN ["a", "b", "c"]'}
    (added,) = server.sent("POST", "/indexes/t_achievements/documents")
    assert added.url.params["primaryKey"] == "id"
    assert body(added) == [{"id": "b", "version": 3}, {"id": "c", "version": 1}]
    assert fetch.headers["Authorization"] == "Bearer admin-key"


async def test_upsert_of_only_stale_documents_writes_nothing(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    stored = {"results": [{"id": "a", "version": 5}], "offset": 0, "limit": 1, "total": 1}
    server.routes[("POST", "/indexes/t_achievements/documents/fetch")] = httpx2.Response(200, json=stored)
    await engine.upsert(ACHIEVEMENTS, [{"id": "a", "version": 4}])
    assert server.sent("POST", "/indexes/t_achievements/documents") == []


async def test_upsert_into_a_missing_index_sets_it_up_first(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    created: list[str] = []

    def get_index(_: httpx2.Request) -> httpx2.Response:
        return index_info("t_demands") if created else api_error(404, "index_not_found")

    def create_index(request: httpx2.Request) -> httpx2.Response:
        created.append(body(request)["primaryKey"])
        return server.enqueue("indexCreation", "t_demands")

    server.routes[("POST", "/indexes/t_demands/documents/fetch")] = api_error(404, "index_not_found")
    server.routes[("GET", "/indexes/t_demands")] = get_index
    server.routes[("POST", "/indexes")] = create_index
    server.routes[("PATCH", "/indexes/t_demands/settings")] = lambda _: server.enqueue("settingsUpdate", "t_demands")
    server.routes[("POST", "/indexes/t_demands/documents")] = lambda _: server.enqueue("documentAdditionOrUpdate")

    await engine.upsert(DEMANDS, [{"id": "d1", "version": 1}])

    assert created == ["id"]
    (settings,) = server.sent("PATCH", "/indexes/t_demands/settings")
    assert body(settings) == index_settings(DEMANDS, synonym_groups())
    assert body(settings)["synonyms"]
    assert len(server.sent("POST", "/indexes/t_demands/documents")) == 1


async def test_apply_settings_raises_when_the_settings_task_fails(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    server.routes[("GET", "/indexes/t_achievements")] = index_info("t_achievements")
    server.routes[("PATCH", "/indexes/t_achievements/settings")] = lambda _: server.enqueue("settingsUpdate")
    server.failed_tasks[1] = {
        "message": "Attribute `x` is not filterable.",
        "code": "invalid_settings_filterable_attributes",
        "type": "invalid_request",
        "link": "",
    }
    with pytest.raises(ValueError, match="invalid_settings_filterable_attributes"):
        await engine.apply_settings(ACHIEVEMENTS)


async def test_apply_settings_refuses_an_index_with_another_primary_key(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    server.routes[("GET", "/indexes/t_achievements")] = index_info("t_achievements", primary_key="uuid")
    with pytest.raises(ValueError, match="primary key"):
        await engine.apply_settings(ACHIEVEMENTS)


async def test_search_sends_the_translated_query_and_converts_the_page(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    hits = [{"id": str(number), "version": 1, "_rankingScore": 0.9} for number in range(25)]
    response = {
        "hits": hits,
        "query": "IPM",
        "processingTimeMs": 3,
        "hitsPerPage": 25,
        "page": 2,
        "totalPages": 3,
        "totalHits": 61,
        "facetDistribution": {"trl": {"8": 40, "7": 21}},
        "facetStats": {"trl": {"min": 7.0, "max": 8.0}},
    }
    server.routes[("POST", "/indexes/t_achievements/search")] = httpx2.Response(200, json=response)

    result = await engine.search(ACHIEVEMENTS, SearchQuery(text="IPM", facets=("trl",), offset=30, limit=20))

    (sent,) = server.sent("POST", "/indexes/t_achievements/search")
    assert (body(sent)["q"], body(sent)["page"], body(sent)["hitsPerPage"]) == ("IPM", 2, 25)
    assert [hit.document["id"] for hit in result.hits] == [str(number) for number in range(5, 25)]
    assert result.total == 61
    assert result.facets == {"trl": {"8": 40, "7": 21}}


async def test_multi_search_is_one_request_with_results_in_order(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    def results(request: httpx2.Request) -> httpx2.Response:
        answers = [
            {
                "indexUid": query["indexUid"],
                "hits": [{"id": query["indexUid"], "version": 1}],
                "query": query["q"],
                "processingTimeMs": 1,
                "hitsPerPage": 20,
                "page": 1,
                "totalPages": 1,
                "totalHits": 1,
            }
            for query in body(request)["queries"]
        ]
        return httpx2.Response(200, json={"results": answers})

    server.routes[("POST", "/multi-search")] = results
    found = await engine.multi_search([(DEMANDS, SearchQuery(text="a")), (ACHIEVEMENTS, SearchQuery(text="b"))])

    assert len(server.sent("POST", "/multi-search")) == 1
    assert [result.hits[0].document["id"] for result in found] == ["t_demands", "t_achievements"]
    assert await engine.multi_search([]) == []


async def test_get_versions_reads_every_page(server: ScriptedMeilisearch, engine: MeilisearchEngine) -> None:
    def page(request: httpx2.Request) -> httpx2.Response:
        offset = int(request.url.params["offset"])
        assert request.url.params["fields"] == "id,version"
        documents = [{"id": f"d{number}", "version": number} for number in range(offset, min(offset + 1000, 1500))]
        return httpx2.Response(200, json={"results": documents, "offset": offset, "limit": 1000, "total": 1500})

    server.routes[("GET", "/indexes/t_demands/documents")] = page
    versions = await engine.get_versions(DEMANDS)
    assert len(versions) == 1500
    assert versions["d1499"] == 1499
    assert len(server.sent("GET", "/indexes/t_demands/documents")) == 2


async def test_get_versions_of_a_missing_index_is_empty(server: ScriptedMeilisearch, engine: MeilisearchEngine) -> None:
    server.routes[("GET", "/indexes/t_demands/documents")] = api_error(404, "index_not_found")
    assert await engine.get_versions(DEMANDS) == {}


async def test_delete_tolerates_a_missing_index(server: ScriptedMeilisearch, engine: MeilisearchEngine) -> None:
    server.routes[("POST", "/indexes/t_demands/documents/delete-batch")] = lambda _: server.enqueue("documentDeletion")
    server.failed_tasks[1] = {
        "message": "Index `t_demands` not found.",
        "code": "index_not_found",
        "type": "invalid_request",
        "link": "",
    }
    await engine.delete(DEMANDS, ["d1", "d2"])
    (sent,) = server.sent("POST", "/indexes/t_demands/documents/delete-batch")
    assert body(sent) == ["d1", "d2"]


async def test_reindex_builds_aside_swaps_and_drops_the_old_generation(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    created: list[str] = []

    def indexes(request: httpx2.Request) -> httpx2.Response:
        uid = request.url.path.removeprefix("/indexes").strip("/").split("/")[0]
        if request.method == "POST" and request.url.path == "/indexes":
            created.append(body(request)["uid"])
            return server.enqueue("indexCreation")
        if request.method == "GET" and "/" not in request.url.path.removeprefix("/indexes/"):
            return index_info(uid) if uid == "t_achievements" or uid in created else api_error(404, "index_not_found")
        return server.enqueue("other", uid)

    async def documents() -> AsyncIterator[dict[str, Any]]:
        for number in range(5):
            yield {"id": f"a{number}", "version": 1}

    server.fallback = indexes
    server.routes[("POST", "/swap-indexes")] = lambda _: server.enqueue("indexSwap")
    await engine.reindex(ACHIEVEMENTS, documents(), batch_size=2)

    (build,) = created
    assert build.startswith("t_achievements_build_")
    assert body(server.sent("PATCH", f"/indexes/{build}/settings")[0]) == index_settings(ACHIEVEMENTS, synonym_groups())
    loads = server.sent("POST", f"/indexes/{build}/documents")
    assert [len(body(request)) for request in loads] == [2, 2, 1]
    (swap,) = server.sent("POST", "/swap-indexes")
    assert body(swap) == [{"indexes": ["t_achievements", build]}]
    assert len(server.sent("DELETE", f"/indexes/{build}")) == 1
    assert server.sent("PATCH", "/indexes/t_achievements/settings") == []


async def test_a_failed_reindex_drops_the_build_and_leaves_the_live_index(
    server: ScriptedMeilisearch, engine: MeilisearchEngine
) -> None:
    def indexes(request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and request.url.path.endswith("/documents"):
            return api_error(400, "missing_document_id")
        if request.method == "GET":
            return index_info(request.url.path.rsplit("/", 1)[1])
        return server.enqueue("other")

    server.fallback = indexes
    with pytest.raises(ValueError, match="missing_document_id"):
        await engine.reindex(ACHIEVEMENTS, [{"title": "no id"}])
    (dropped,) = [request for request in server.requests if request.method == "DELETE"]
    assert dropped.url.path.startswith("/indexes/t_achievements_build_")
    assert server.sent("POST", "/swap-indexes") == []


async def test_scoped_keys(server: ScriptedMeilisearch) -> None:
    def create_key(request: httpx2.Request) -> httpx2.Response:
        sent = body(request)
        key = {
            **sent,
            "uid": "u-" + sent["name"],
            "key": "k-" + "-".join(sent["actions"]),
            "createdAt": TASK_TIME,
            "updatedAt": TASK_TIME,
        }
        return httpx2.Response(201, json=key)

    server.routes[("POST", "/keys")] = create_key
    admin, search = await create_scoped_keys("http://meili.test", "master", "prod_")

    assert search == "k-search"
    assert admin == "k-documents.*-indexes.*-settings.*-tasks.*-search"
    sent = [body(request) for request in server.sent("POST", "/keys")]
    assert [payload["indexes"] for payload in sent] == [["prod_*"], ["prod_*"]]
    assert all(payload["expiresAt"] is None for payload in sent)
    assert all(request.headers["Authorization"] == "Bearer master" for request in server.sent("POST", "/keys"))


# ----------------------------------------------------------------------------------------------------- errors


def raise_inside(error: Exception) -> None:
    with _engine_errors():
        raise error


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (api_error(400, "invalid_search_filter"), ValueError),
        (api_error(400, "invalid_search_sort"), ValueError),
        (api_error(404, "index_not_found"), SearchUnavailable),
        (api_error(401, "missing_authorization_header", "auth"), SearchUnavailable),
        (api_error(403, "invalid_api_key", "auth"), SearchUnavailable),
        (api_error(429, "too_many_search_requests", "system"), SearchUnavailable),
        (api_error(500, "internal", "internal"), SearchUnavailable),
        (api_error(503, "unavailable", "system"), SearchUnavailable),
    ],
)
def test_api_errors_map_to_bad_request_or_unavailable(response: httpx2.Response, expected: type[Exception]) -> None:
    with pytest.raises(expected) as raised:
        raise_inside(MeilisearchApiError("status error", response))
    assert response.json()["code"] in str(raised.value)


@pytest.mark.parametrize(
    "error",
    [
        MeilisearchCommunicationError("connection refused"),
        MeilisearchTimeoutError("task timed out"),
        httpx2.ReadTimeout("read timed out"),
        httpx2.HTTPStatusError(
            "bad gateway",
            request=httpx2.Request("GET", "http://meili.test/health"),
            response=httpx2.Response(502, text="<html>bad gateway</html>"),
        ),
    ],
)
def test_transport_failures_are_unavailable(error: Exception) -> None:
    with pytest.raises(SearchUnavailable):
        raise_inside(error)


async def test_an_unreachable_server_is_unavailable_and_unhealthy() -> None:
    unreachable = MeilisearchEngine("http://127.0.0.1:9", None, timeout=1.0)
    try:
        assert await unreachable.healthy() is False
        with pytest.raises(SearchUnavailable):
            await unreachable.search(ACHIEVEMENTS, SearchQuery(text="x"))
    finally:
        await unreachable.close()


async def test_healthy_reads_the_health_status(server: ScriptedMeilisearch, engine: MeilisearchEngine) -> None:
    server.routes[("GET", "/health")] = httpx2.Response(200, json={"status": "available"})
    assert await engine.healthy() is True
