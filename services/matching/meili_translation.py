"""Pure translation between the engine-neutral search model and Meilisearch: filters, sorts, settings, hits.

Nothing here performs I/O, so every rule of the Meilisearch dialect is unit-tested without a server.
Meilisearch facts relied on (v1.10+):

* filter strings: ``AND`` binds tighter than ``OR``; parentheses group; ``field IN []`` is valid and matches
  nothing; inside a double-quoted value ``\\"`` is a quote and ``\\\\`` a backslash (since v1.4).
* a comparison (``>=``, ``<=``) never matches a document that lacks the field or holds ``null`` there,
  which is exactly the ``Range`` contract.
* ``_matchesPosition`` gives ``start`` in UTF-8 bytes; ``length`` is documented in bytes but servers
  return it in characters (meilisearch#3938, #5429), so both readings are tried.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from services.matching.indexes import IndexDefinition
from services.matching.query import (
    AnyOf,
    Eq,
    Filter,
    FilterValue,
    Hit,
    In,
    Prefix,
    Range,
    SearchQuery,
    SearchResult,
    Sort,
)
from services.matching.text import normalise

CHINESE_LOCALE = "cmn"
MAX_VALUES_PER_FACET = 200
MAX_TOTAL_HITS = 100_000
CROP_LENGTH_WORDS = 40
CROP_MARKER = "…"
LIST_HIGHLIGHT_SEPARATOR = "、"
HIGHLIGHT_PRE = "<em>"
HIGHLIGHT_POST = "</em>"
# Meilisearch does not escape document text in `_formatted`; private-use sentinels let us escape it and
# still tell our emphasis apart from markup that a listing's own text may contain.
PRE_SENTINEL = "\ue000"
POST_SENTINEL = "\ue001"
# Documents are keyed by `id` (see SearchEngine); it is made filterable so this always parses and matches nothing.
MATCH_NOTHING = "id IN []"
# `sort` first: once a user picks an order (price, date) it is strict, as in the embedded engine; without a
# `sort` parameter the rule does nothing and relevance alone decides.
RANKING_RULES = ("sort", "words", "typo", "proximity", "attribute", "exactness")
# Punctuation common in Chinese listings that should split words ("60～100 K", "高校／院所", "张·三").
SEPARATOR_TOKENS = ("～", "／", "·", "•")
RESERVED_HIT_KEYS = frozenset(
    {"_formatted", "_rankingScore", "_rankingScoreDetails", "_matchesPosition", "_federation", "_semanticScore"}
)

_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_FILTER_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "TO", "EXISTS", "IS", "NULL", "EMPTY", "CONTAINS", "STARTS", "WITH"}
)
_EMPHASIS = re.compile(re.escape(PRE_SENTINEL) + "(.*?)" + re.escape(POST_SENTINEL), re.DOTALL)


# --- filters -------------------------------------------------------------------------------------------------


def filter_expression(filters: Sequence[Filter]) -> str:
    """The conjunction of ``filters`` as one Meilisearch filter string ("" when there is none).

    A string (rather than the SDK's nested-array form) is used because the array form cannot express an
    ``AnyOf`` nested inside another one.
    """
    return " AND ".join(clause for item in filters for clause in _clauses(item))


def _clauses(item: Filter) -> list[str]:
    """``item`` as a list of clauses that are ANDed together, each safe to join without parentheses."""
    match item:
        case Eq(field=field, value=value):
            return [f"{_field(field)} = {_literal(value)}"]
        case In(field=field, values=values):
            return [f"{_field(field)} IN [{', '.join(_literal(value) for value in values)}]"]
        case Range(field=field, gte=gte, lte=lte):
            return _range_clauses(_field(field), gte, lte)
        case Prefix(field=field, prefix=prefix):
            return [f"{_field(field + '_prefixes')} = {_literal(prefix)}"]
        case AnyOf(filters=alternatives):
            return [_disjunction(alternatives)]
    raise TypeError(f"not a search filter: {item!r}")


def _range_clauses(field: str, gte: int | None, lte: int | None) -> list[str]:
    clauses = []
    if gte is not None:
        clauses.append(f"{field} >= {_number(gte)}")
    if lte is not None:
        clauses.append(f"{field} <= {_number(lte)}")
    # An unbounded range still requires a value: EXISTS alone would also match an explicit null.
    return clauses or [f"{field} EXISTS", f"{field} IS NOT NULL"]


def _disjunction(alternatives: Sequence[Filter]) -> str:
    if not alternatives:
        return MATCH_NOTHING
    branches = [_conjunction(_clauses(alternative)) for alternative in alternatives]
    if len(branches) == 1:
        return branches[0]
    return "(" + " OR ".join(branches) + ")"


def _conjunction(clauses: list[str]) -> str:
    return clauses[0] if len(clauses) == 1 else "(" + " AND ".join(clauses) + ")"


def _field(name: str) -> str:
    if not _FIELD_NAME.fullmatch(name) or name in _FILTER_KEYWORDS:
        raise ValueError(f"not a usable attribute name in a Meilisearch filter or sort: {name!r}")
    return name


def _literal(value: FilterValue) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"filter values are strings, integers or booleans, not {value!r}")


def _number(value: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"range bounds are integers, not {value!r}")
    return str(value)


def quote(value: str) -> str:
    """A double-quoted Meilisearch filter value: backslashes first, then quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- sorting -------------------------------------------------------------------------------------------------


def sort_expression(sorts: Sequence[Sort]) -> list[str]:
    return [f"{_field(item.field)}:{item.direction}" for item in sorts]


# --- settings ------------------------------------------------------------------------------------------------


def index_settings(index: IndexDefinition, synonyms: Sequence[Sequence[str]] = ()) -> dict[str, Any]:
    """The complete settings object of ``index`` in Meilisearch's (camelCase) JSON shape."""
    return {
        "searchableAttributes": list(index.searchable),
        "filterableAttributes": _unique([index.primary_key, *index.filterable, *index.facets]),
        "sortableAttributes": list(index.sortable),
        "rankingRules": list(RANKING_RULES),
        "synonyms": expand_synonyms(synonyms),
        "typoTolerance": {"enabled": True, "disableOnAttributes": list(index.exact)},
        "faceting": {"maxValuesPerFacet": MAX_VALUES_PER_FACET, "sortFacetValuesBy": {"*": "count"}},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
        "localizedAttributes": [{"attributePatterns": ["*"], "locales": [CHINESE_LOCALE]}],
        "proximityPrecision": "byWord",
        "separatorTokens": list(SEPARATOR_TOKENS),
    }


def expand_synonyms(groups: Iterable[Sequence[str]]) -> dict[str, list[str]]:
    """Groups of equivalent terms as Meilisearch's one-way map: every term maps to every other of its groups."""
    expanded: dict[str, list[str]] = {}
    for group in groups:
        terms = _unique(term.strip() for term in group if term.strip())
        for term in terms:
            targets = expanded.setdefault(term, [])
            targets.extend(other for other in terms if other != term and other not in targets)
    return {term: targets for term, targets in expanded.items() if targets}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- search requests -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageWindow:
    """A Meilisearch page that covers ``offset .. offset+limit``; ``skip`` hits of it precede the window.

    Page mode (``page``/``hitsPerPage``) is used because only it returns an exact ``totalHits``; offset/limit
    mode returns ``estimatedTotalHits``.
    """

    page: int
    hits_per_page: int
    skip: int


def page_window(offset: int, limit: int) -> PageWindow:
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")
    if limit == 0:
        return PageWindow(page=1, hits_per_page=0, skip=0)
    end = offset + limit
    size = limit
    while (offset // size + 1) * size < end:  # the smallest page that holds the whole window
        size += 1
    page = offset // size + 1
    return PageWindow(page=page, hits_per_page=size, skip=offset - (page - 1) * size)


def search_params(query: SearchQuery, index: IndexDefinition) -> dict[str, Any]:
    """Keyword arguments of the SDK's ``AsyncIndex.search`` (and fields of its ``SearchParams``)."""
    check_query(query, index)
    window = page_window(query.offset, query.limit)
    params: dict[str, Any] = {
        "query": query.text,
        "facets": list(query.facets) or None,
        "sort": sort_expression(query.sort) or None,
        "page": window.page,
        "hits_per_page": window.hits_per_page,
        "matching_strategy": "frequency",
        "show_ranking_score": True,
        "show_matches_position": True,
        "locales": [CHINESE_LOCALE],
    }
    expression = filter_expression(query.filters)
    if expression:
        params["filter"] = expression
    if query.highlight:
        params |= {
            "attributes_to_highlight": list(index.searchable),
            "attributes_to_crop": list(index.searchable),
            "crop_length": CROP_LENGTH_WORDS,
            "crop_marker": CROP_MARKER,
            "highlight_pre_tag": PRE_SENTINEL,
            "highlight_post_tag": POST_SENTINEL,
        }
    return params


def check_query(query: SearchQuery, index: IndexDefinition) -> None:
    """Refuse attributes the index does not declare for their role, as the embedded engine does."""
    for name in _filter_fields(query.filters):
        _check_role(index, name, index.filterable, "filterable")
    for item in query.sort:
        _check_role(index, item.field, index.sortable, "sortable")
    for name in query.facets:
        _check_role(index, name, index.facets, "facet")


def _filter_fields(filters: Iterable[Filter]) -> Iterator[str]:
    for item in filters:
        match item:
            case AnyOf(filters=alternatives):
                yield from _filter_fields(alternatives)
            case Prefix(field=field):
                yield field + "_prefixes"
            case Eq(field=field) | In(field=field) | Range(field=field):
                yield field


def _check_role(index: IndexDefinition, name: str, allowed: Sequence[str], role: str) -> None:
    if name not in allowed:
        raise ValueError(f"{name!r} is not a {role} attribute of index {index.name!r}")


# --- search responses ----------------------------------------------------------------------------------------


def search_result_from_meili(
    hits: Sequence[Mapping[str, Any]],
    total: int | None,
    facet_distribution: Mapping[str, Mapping[str, int]] | None,
    index: IndexDefinition,
    skip: int = 0,
) -> SearchResult:
    return SearchResult(
        hits=[hit_from_meili(raw, index) for raw in hits[skip:]],
        total=total or 0,
        facets={name: dict(counts) for name, counts in (facet_distribution or {}).items()},
    )


def hit_from_meili(raw: Mapping[str, Any], index: IndexDefinition) -> Hit:
    formatted: Mapping[str, Any] = raw.get("_formatted") or {}
    document = {key: value for key, value in raw.items() if key not in RESERVED_HIT_KEYS}
    return Hit(
        document=document,
        score=float(raw.get("_rankingScore") or 0.0),
        highlights=highlights(formatted, index),
        matched_terms=matched_terms(document, raw.get("_matchesPosition") or {}, formatted, index),
    )


def highlights(formatted: Mapping[str, Any], index: IndexDefinition) -> dict[str, str]:
    """Searchable fields whose formatted text has a match, HTML-escaped, matches wrapped in ``<em>``."""
    found: dict[str, str] = {}
    for field in index.searchable:
        fragments = [text for text in _strings(formatted.get(field)) if PRE_SENTINEL in text]
        if fragments:
            found[field] = LIST_HIGHLIGHT_SEPARATOR.join(_to_html(text) for text in fragments)
    return found


def _to_html(text: str) -> str:
    return html.escape(text).replace(PRE_SENTINEL, HIGHLIGHT_PRE).replace(POST_SENTINEL, HIGHLIGHT_POST)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def matched_terms(
    document: Mapping[str, Any],
    matches_position: Mapping[str, Any],
    formatted: Mapping[str, Any],
    index: IndexDefinition,
) -> tuple[str, ...]:
    """The document's words that matched, normalised as the embedded engine reports them (lower-case Latin,
    simplified Chinese), in searchable-attribute order, from ``_matchesPosition`` spans.

    Where ``_formatted`` is present its emphasised fragments decide between the character and the byte
    reading of a span's length; without it the character reading (what servers send today) wins.
    """
    terms: list[str] = []
    for field in index.searchable:
        emphasised = {fragment for text in _strings(formatted.get(field)) for fragment in _EMPHASIS.findall(text)}
        for span in matches_position.get(field) or []:
            term = _span_term(document.get(field), span, emphasised)
            if term:
                terms.append(normalise(term))
    return tuple(_unique(terms))


def _span_term(value: Any, span: Mapping[str, Any], emphasised: set[str]) -> str | None:
    text = _span_source(value, span.get("indices"))
    start, length = span.get("start"), span.get("length")
    if text is None or not isinstance(start, int) or not isinstance(length, int):
        return None
    readings = [reading for reading in _span_readings(text, start, length) if reading.strip()]
    # Adjacent matches share one emphasis ("<em>Winter Feast</em>"), so containment also confirms a reading.
    readings.sort(key=lambda reading: _emphasis_rank(reading, emphasised))
    return readings[0].strip() if readings else None


def _emphasis_rank(reading: str, emphasised: set[str]) -> int:
    if reading in emphasised:
        return 0
    return 1 if any(reading in fragment for fragment in emphasised) else 2


def _span_source(value: Any, indices: Any) -> str | None:
    """The string a span points into: the field itself, or the list element named by ``indices``."""
    for position in indices or []:
        if not isinstance(value, list) or not isinstance(position, int) or not 0 <= position < len(value):
            return None
        value = value[position]
    return value if isinstance(value, str) else None


def _span_readings(text: str, start: int, length: int) -> list[str]:
    """The span read with ``length`` in characters (what servers send) and in bytes (what the docs say)."""
    encoded = text.encode()
    try:
        char_start = len(encoded[:start].decode())
    except UnicodeDecodeError:
        return []
    readings = [text[char_start : char_start + length]]
    with suppress(UnicodeDecodeError):
        readings.append(encoded[start : start + length].decode())
    return _unique(readings)


# --- the version rule ----------------------------------------------------------------------------------------


def latest_per_id(documents: Iterable[Mapping[str, Any]], primary_key: str) -> dict[str, dict[str, Any]]:
    """One document per id, keyed by the id as a string: the highest version wins, the later one on a tie."""
    latest: dict[str, dict[str, Any]] = {}
    for document in documents:
        key, version = document_identity(document, primary_key)
        current = latest.get(key)
        if current is None or version >= current["version"]:
            latest[key] = dict(document)
    return latest


def document_identity(document: Mapping[str, Any], primary_key: str) -> tuple[str, int]:
    key, version = document.get(primary_key), document.get("version")
    if isinstance(key, bool) or not isinstance(key, str | int) or key == "":
        raise ValueError(f"a search document needs a string or integer {primary_key!r}: {document!r:.200}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"a search document needs an integer 'version': {document!r:.200}")
    return str(key), version


def stored_versions(documents: Iterable[Mapping[str, Any]], primary_key: str) -> dict[str, int | None]:
    """Versions of documents fetched with fields [id, version]; None where a stored document has none."""
    return {str(document[primary_key]): _version_or_none(document.get("version")) for document in documents}


def _version_or_none(version: Any) -> int | None:
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def not_stale(candidates: Mapping[str, dict[str, Any]], stored: Mapping[str, int | None]) -> list[dict[str, Any]]:
    """Candidates whose version is at least the stored one (equal versions are rewritten: idempotent)."""
    fresh = []
    for key, document in candidates.items():
        current = stored.get(key)
        if current is None or document["version"] >= current:
            fresh.append(document)
    return fresh
