"""Translating an engine-neutral ``SearchQuery`` into SQL over ``search_documents``.

Text search works in tiers, like Meilisearch's ``frequency`` matching strategy: documents that match every
query unit (a term with its synonyms) first, then those that match all but the most frequent units, and so on
down to any unit, then documents found only through a mistyped term. Tiers are read in order until enough
candidates are found, so a common word never makes PostgreSQL rank a large part of the index.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Float,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.matching import text
from services.matching.embedded_schema import search_documents
from services.matching.indexes import IndexDefinition
from services.matching.query import AnyOf, Eq, Filter, FilterValue, In, Prefix, Range, SearchQuery, Sort

SIMPLE: ColumnElement[str] = literal_column("'simple'::regconfig")
# pg_trgm's default word_similarity_threshold, used by the ``<%`` operator; highlighting applies the same bar.
FUZZY_THRESHOLD = 0.6
# A document found only through a mistyped term gets at most this rank within its (last) tier.
FUZZY_WEIGHT = 0.3
MIN_FUZZY_LENGTH = 5
# Trigram lookups cost more than tsvector lookups; a handful of the longest terms is enough to catch a typo.
MAX_FUZZY_TERMS = 4
# A long query (a whole demand, for recommendations) rarely matches in full: its strictest tier asks for this many
# of its rarest units, which is what tells its best matches apart, and keeps each tier's index lookup cheap.
MAX_UNITS_TOGETHER = 8
_RANK_NORMALISATION = 32  # rank / (rank + 1): ranks in [0, 1), below the one-point gap between tiers

_documents = search_documents.c


@dataclass(frozen=True)
class TextMatch:
    """What a query's text becomes: units (a term and its synonyms) as tsqueries, and trigram candidates."""

    terms: tuple[str, ...]
    unit_queries: tuple[str, ...]
    # per unit, the lexemes that must all be present for each alternative: for frequency estimates
    unit_alternatives: tuple[tuple[tuple[str, ...], ...], ...]
    fuzzy_terms: tuple[str, ...]

    @property
    def any_query(self) -> str:
        return " | ".join(self.unit_queries)


def _lexeme(term: str) -> str:
    quoted = "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
    return quoted + ":*" if text.is_prefix_term(term) else quoted


def _term_lexemes(term: str) -> tuple[str, ...]:
    """The tokens a document holds for a term: itself, or all its parts (低温制热 → 低温 制热)."""
    parts = text.term_parts(term)
    if term in parts:
        return (term,)
    return tuple(parts)


def _conjunction(lexemes: Sequence[str]) -> str:
    joined = " & ".join(_lexeme(lexeme) for lexeme in lexemes)
    return f"({joined})" if len(lexemes) > 1 else joined


def _is_fuzzy_candidate(term: str) -> bool:
    # Latin letters only, five or more (Meilisearch's minimum for one typo): a Chinese term's trigrams, a code's
    # ("000") or a short word's match thousands of rows, each to be rechecked; search-mode segmentation already
    # finds a Chinese word inside a longer one.
    return term.isascii() and term.isalpha() and len(term) >= MIN_FUZZY_LENGTH


def text_match(query_text: str) -> TextMatch | None:
    """None when the text has no searchable term (empty, punctuation, stop words only)."""
    units = [
        alternatives
        for unit in text.query_units(query_text)
        if (alternatives := tuple(lexemes for lexemes in map(_term_lexemes, unit) if lexemes))
    ]
    if not units:
        return None
    unit_queries = tuple("(" + " | ".join(map(_conjunction, alternatives)) + ")" for alternatives in units)
    own_terms = text.query_terms(query_text)
    # A long text (a whole listing, for recommendations) has words enough without guessing at typos.
    candidates = own_terms if len(units) <= MAX_UNITS_TOGETHER else []
    fuzzy = sorted((term for term in candidates if _is_fuzzy_candidate(term)), key=len, reverse=True)
    return TextMatch(
        terms=tuple(text.expand(own_terms)),
        unit_queries=unit_queries,
        unit_alternatives=tuple(units),
        fuzzy_terms=tuple(fuzzy[:MAX_FUZZY_TERMS]),
    )


def _unit_frequency(alternatives: Sequence[Sequence[str]], frequencies: Mapping[str, float]) -> float:
    # An alternative needs all its lexemes (so it is as rare as the rarest); a unit takes any alternative.
    return max(min(frequencies.get(lexeme, 0.0) for lexeme in lexemes) for lexemes in alternatives)


def _tier_sizes(units: int) -> list[int]:
    """How many of the rarest units each tier requires: one fewer at a time, halving for long queries."""
    sizes: list[int] = []
    size = min(units, MAX_UNITS_TOGETHER)
    while size >= 1:
        sizes.append(size)
        size = size - 1 if size <= 4 else size // 2
    return sizes


def units_to_probe(match: TextMatch, frequencies: Mapping[str, float]) -> list[int]:
    """Units the statistics do not list: rare, or absent from the index altogether (a typo, a foreign word)."""
    return [
        unit
        for unit, alternatives in enumerate(match.unit_alternatives)
        if _unit_frequency(alternatives, frequencies) == 0.0
    ]


def presence_statement(index: IndexDefinition, match: TextMatch, units: Sequence[int]) -> Select[int]:
    """Which of ``units`` some document of the index holds (one index probe each, stopping at the first row)."""
    probe = (
        func.unnest(
            bindparam(None, [match.unit_queries[unit] for unit in units], type_=ARRAY(Text)),
            bindparam(None, list(units), type_=ARRAY(Integer)),
        )
        .table_valued("tsquery", "unit")
        .render_derived("probe")
    )
    holder = (
        select(literal(1))
        .where(
            _documents.index_name == index.name,
            _documents.tsv.bool_op("@@")(func.to_tsquery(SIMPLE, probe.c.tsquery)),
        )
        .exists()
    )
    return select(probe.c.unit).where(holder)


def tier_queries(match: TextMatch, frequencies: Mapping[str, float], absent: Collection[int] = ()) -> list[str]:
    """tsqueries from strictest to loosest: the rarest units all together, then fewer of them, then any unit.

    ``absent`` units (no document holds them) take no part in the tiers: they would empty every one.
    """
    present = [unit for unit in range(len(match.unit_queries)) if unit not in absent]
    rarest_first = sorted(present, key=lambda unit: (_unit_frequency(match.unit_alternatives[unit], frequencies), unit))
    tiers = [
        " & ".join(match.unit_queries[unit] for unit in sorted(rarest_first[:size]))
        for size in _tier_sizes(len(rarest_first))
    ]
    if len(match.unit_queries) > 1 or not tiers:
        tiers.append(match.any_query)
    return tiers


def _check_field(index: IndexDefinition, field: str, allowed: Sequence[str], role: str) -> None:
    if field not in allowed:
        raise ValueError(f"{field!r} is not a {role} attribute of index {index.name!r}")


def filter_term(field: str, value: FilterValue) -> str:
    """How a filterable value is stored in ``filter_terms``: ``status=published``, ``trl=7``, ``verified=true``."""
    if isinstance(value, bool):
        return f"{field}={'true' if value else 'false'}"
    return f"{field}={value}"


def _has_any(field: str, values: Sequence[FilterValue]) -> ColumnElement[bool]:
    terms = [filter_term(field, value) for value in values]
    if not terms:
        return false()
    return _documents.filter_terms.bool_op("&&")(bindparam(None, terms, type_=ARRAY(Text)))


def _in_range(field: str, gte: int | None, lte: int | None) -> ColumnElement[bool]:
    value = _documents.numbers[field].astext.cast(Numeric)
    bounds = [value >= int(gte)] if gte is not None else []
    bounds += [value <= int(lte)] if lte is not None else []
    return and_(value.is_not(None), *bounds)


def filter_clause(index: IndexDefinition, item: Filter) -> ColumnElement[bool]:
    match item:
        case Eq(field, value):
            _check_field(index, field, index.filterable, "filterable")
            return _has_any(field, [value])
        case In(field, values):
            _check_field(index, field, index.filterable, "filterable")
            return _has_any(field, values)
        case Range(field, gte, lte):
            _check_field(index, field, index.filterable, "filterable")
            return _in_range(field, gte, lte)
        case Prefix(field, prefix):
            prefixes = f"{field}_prefixes"
            _check_field(index, prefixes, index.filterable, "filterable")
            return _has_any(prefixes, [prefix])
        case AnyOf(filters):
            return or_(false(), *(filter_clause(index, sub) for sub in filters))
    raise TypeError(f"unknown filter {item!r}")


def base_clause(index: IndexDefinition, query: SearchQuery) -> ColumnElement[bool]:
    """The index and the filters: what every statement of one search shares."""
    return and_(_documents.index_name == index.name, *(filter_clause(index, item) for item in query.filters))


def _matches(tsquery: str) -> ColumnElement[bool]:
    return _documents.tsv.bool_op("@@")(func.to_tsquery(SIMPLE, bindparam(None, tsquery, type_=Text)))


def text_clause(match: TextMatch, fuzzy_ids: Sequence[str]) -> ColumnElement[bool]:
    """Any unit, or one of the documents the trigram lookup found (ids, so no row re-runs trigram checks)."""
    found = _matches(match.any_query)
    return or_(found, _documents.doc_id.in_(list(fuzzy_ids))) if fuzzy_ids else found


def fuzzy_ids_statement(index: IndexDefinition, match: TextMatch, limit: int) -> Select[str]:
    """Documents whose title or keywords hold a word like one of the query's longer Latin words (a typo)."""
    similar = [literal(term, Text).bool_op("<%")(_documents.search_text) for term in match.fuzzy_terms]
    return select(_documents.doc_id).where(_documents.index_name == index.name, or_(*similar)).limit(limit)


def _rank(match: TextMatch) -> ColumnElement[float]:
    tsquery = func.to_tsquery(SIMPLE, bindparam(None, match.any_query, type_=Text))
    # ts_rank, not ts_rank_cd: cover density costs several times more with the long queries of recommendations,
    # and the tiers already reward documents that hold all the units.
    return func.ts_rank(_documents.tsv, tsquery, _RANK_NORMALISATION)


def _fuzzy_rank(match: TextMatch) -> ColumnElement[float]:
    similarities = (func.word_similarity(term, _documents.search_text) for term in match.fuzzy_terms)
    return literal(FUZZY_WEIGHT, Float) * func.greatest(*similarities)


def _tier_arm(
    base: ColumnElement[bool], tier: int, condition: ColumnElement[bool], rank: ColumnElement[float]
) -> Select[Any]:
    return select(
        _documents.doc_id,
        _documents.document,
        _documents.search_text,
        literal(tier, Integer).label("tier"),
        rank.label("rank"),
    ).where(base, condition)


def ranked_candidates(
    index: IndexDefinition,
    query: SearchQuery,
    match: TextMatch,
    tiers: Sequence[str],
    fuzzy_ids: Sequence[str],
    cap: int,
) -> CompoundSelect[Any]:
    """Up to ``cap`` candidates, tier by tier; PostgreSQL stops reading tiers once it has enough."""
    base = base_clause(index, query)
    arms: list[Select[Any]] = []
    for tier, tsquery in enumerate(tiers):
        condition = _matches(tsquery) if tier == 0 else and_(_matches(tsquery), not_(_matches(tiers[tier - 1])))
        arms.append(_tier_arm(base, tier, condition, _rank(match)))
    if fuzzy_ids and match.fuzzy_terms:
        only_fuzzy = and_(_documents.doc_id.in_(list(fuzzy_ids)), not_(_matches(match.any_query)))
        arms.append(_tier_arm(base, len(tiers), only_fuzzy, _fuzzy_rank(match)))
    return union_all(*arms).limit(cap)


def relevance_statement(
    index: IndexDefinition,
    query: SearchQuery,
    match: TextMatch,
    tiers: Sequence[str],
    fuzzy_ids: Sequence[str],
    cap: int,
) -> Select[Any]:
    candidates = ranked_candidates(index, query, match, tiers, fuzzy_ids, cap).subquery("candidate")
    # One point per tier above the last, plus the rank within the tier: the order, as a number.
    score = (literal(len(tiers), Float) - candidates.c.tier + candidates.c.rank).label("score")
    return (
        select(candidates.c.doc_id, candidates.c.document, candidates.c.search_text, score)
        .order_by(score.desc(), candidates.c.doc_id)
        .limit(query.limit)
        .offset(query.offset)
    )


def sort_value(field: str) -> ColumnElement[Any]:
    """``numbers -> 'field'``, spelt as in the index on ``published_at`` so the planner can use it."""
    if not field.isidentifier():
        raise ValueError(f"invalid sort field {field!r}")
    return _documents.numbers.op("->", return_type=JSONB)(literal_column(f"'{field}'"))


def _sort_key(index: IndexDefinition, sort: Sort) -> ColumnElement[Any]:
    _check_field(index, sort.field, index.sortable, "sortable")
    value = sort_value(sort.field)
    return (value.asc() if sort.direction == "asc" else value.desc()).nulls_last()


def sorted_statement(
    index: IndexDefinition, query: SearchQuery, text_condition: ColumnElement[bool] | None
) -> Select[Any]:
    """Every matching document in the requested order (or by id), without ranking: browsing and sorted search."""
    conditions = [base_clause(index, query)] if text_condition is None else [base_clause(index, query), text_condition]
    return (
        select(_documents.doc_id, _documents.document, _documents.search_text, literal(0.0, Float).label("score"))
        .where(*conditions)
        .order_by(*(_sort_key(index, sort) for sort in query.sort), _documents.doc_id)
        .limit(query.limit)
        .offset(query.offset)
    )


def totals_statement(
    index: IndexDefinition, query: SearchQuery, text_condition: ColumnElement[bool] | None, cap: int
) -> CompoundSelect[Any]:
    """One pass over (up to ``cap``) matching documents: a ``(None, None, total)`` row, then one row per facet
    value with its count (list fields count each element)."""
    for facet in query.facets:
        _check_field(index, facet, index.facets, "facet")
    conditions = [base_clause(index, query)] if text_condition is None else [base_clause(index, query), text_condition]
    matching = select(_documents.filter_terms).where(*conditions).limit(cap).cte("matching")
    total = select(null().label("facet"), null().label("value"), func.count().label("count")).select_from(matching)
    if not query.facets:
        return union_all(total)
    terms = func.unnest(matching.c.filter_terms).table_valued("term", joins_implicitly=True)
    term = terms.render_derived("filter_term")
    name = func.split_part(term.c.term, "=", 1, type_=Text)
    value = func.substr(term.c.term, func.strpos(term.c.term, "=") + 1, type_=Text)
    counts = (
        select(name, value, func.count())
        .select_from(matching)
        .join(term, true())
        .where(name.in_(list(query.facets)))
        .group_by(name, value)
    )
    return union_all(total, counts)
