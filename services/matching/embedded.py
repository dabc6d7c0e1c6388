"""The embedded search engine: documents in PostgreSQL, found through a weighted tsvector and pg_trgm.

Segmentation happens here in Python (jieba), so PostgreSQL only sees space-separated tokens and needs
no Chinese parser: ``to_tsvector('simple', …)`` keeps them as they are.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
from sqlalchemy import Row, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.matching import text as analysis
from services.matching.embedded_query import (
    FUZZY_THRESHOLD,
    TextMatch,
    filter_term,
    fuzzy_ids_statement,
    presence_statement,
    relevance_statement,
    sorted_statement,
    text_clause,
    text_match,
    tier_queries,
    totals_statement,
    units_to_probe,
)
from services.matching.embedded_schema import search_documents
from services.matching.engine import SearchUnavailable
from services.matching.indexes import IndexDefinition
from services.matching.query import Hit, SearchQuery, SearchResult

# Joins a row's filter terms into one text (a text[][] parameter cannot be unnested row by row).
TERM_SEPARATOR = "\x1f"
# Rows per INSERT statement: large enough to amortise the round trip, small enough for modest parameters.
UPSERT_CHUNK = 500
# Like Meilisearch's default maxTotalHits: totals and facet counts are exact up to here and stop there, so a
# common word costs no more than a rare one (the API pages no further than this anyway).
MAX_TOTAL_HITS = 1_000
# Documents ranked for one text search (at least offset + limit): the best tiers fill it first.
MAX_CANDIDATES = 200
# Documents a mistyped term may bring in.
MAX_FUZZY_MATCHES = 100
# How long lexeme frequencies (PostgreSQL's statistics of the tsvector column) are reused.
STATISTICS_TTL_SECONDS = 300.0
WEIGHTS = ("A", "B", "C", "D")
TRIGRAM_SLOTS = 2

_LEXEME_FREQUENCIES = text(
    """
    SELECT most_common_elems::text::text[] AS lexemes, most_common_elem_freqs AS frequencies
    FROM pg_stats
    WHERE schemaname = current_schema() AND tablename = 'search_documents' AND attname = 'tsv'
    """
)

# For counting text matches only (SET LOCAL ends with the search's transaction): the planner reads a broad OR
# of terms as most of the table and scans it, fetching every row's tsvector from TOAST to test it; the GIN
# bitmap is exact and needs none of them (measured 73 ms against 19 ms on 100,000 documents).
_PREFER_INDEX_SCANS = text("SET LOCAL enable_seqscan = off")

_UNAVAILABLE = (OSError, asyncpg.PostgresConnectionError, OperationalError, InterfaceError)
# Connection exceptions, the server shutting down, not taking connections yet (57P03) or full (53300).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")

_UPSERT = text(
    """
    INSERT INTO search_documents AS stored
        (index_name, doc_id, version, document, filter_terms, numbers, tsv, search_text)
    SELECT :index_name, incoming.doc_id, incoming.version, CAST(incoming.document AS jsonb),
           string_to_array(incoming.filter_terms, :separator), CAST(incoming.numbers AS jsonb),
           setweight(to_tsvector('simple', incoming.a), 'A') || setweight(to_tsvector('simple', incoming.b), 'B')
           || setweight(to_tsvector('simple', incoming.c), 'C') || setweight(to_tsvector('simple', incoming.d), 'D'),
           incoming.search_text
    FROM unnest(
        CAST(:doc_ids AS text[]), CAST(:versions AS bigint[]), CAST(:documents AS text[]),
        CAST(:filter_terms AS text[]), CAST(:numbers AS text[]),
        CAST(:a AS text[]), CAST(:b AS text[]), CAST(:c AS text[]), CAST(:d AS text[]), CAST(:search_texts AS text[])
    ) AS incoming (doc_id, version, document, filter_terms, numbers, a, b, c, d, search_text)
    ON CONFLICT (index_name, doc_id) DO UPDATE
    SET version = excluded.version, document = excluded.document, filter_terms = excluded.filter_terms,
        numbers = excluded.numbers, tsv = excluded.tsv, search_text = excluded.search_text, updated_at = now()
    WHERE excluded.version >= stored.version
    """
)


@dataclass(frozen=True)
class IndexedRow:
    """A document as stored: its JSON, its tokens by weight (A–D, space-joined) and its trigram text."""

    doc_id: str
    version: int
    document: str
    filter_terms: str
    numbers: str
    weighted: tuple[str, str, str, str]
    search_text: str


def _field_values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _field_tokens(value: Any, exact: bool) -> list[str]:
    values = _field_values(value)
    if exact:
        return [token for token in map(analysis.exact_token, values) if token]
    return [token for item in values for token in analysis.tokens(item)]


def _filter_terms(index: IndexDefinition, document: dict[str, Any]) -> list[str]:
    terms: list[str] = []
    for field in dict.fromkeys((*index.filterable, *index.facets)):
        value = document.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str | int | bool):
                terms.append(filter_term(field, item).replace(TERM_SEPARATOR, " "))
    return terms


def _numbers(index: IndexDefinition, document: dict[str, Any]) -> dict[str, int | float]:
    fields = dict.fromkeys((*index.filterable, *index.sortable))
    return {
        field: value
        for field in fields
        if isinstance(value := document.get(field), int | float) and not isinstance(value, bool)
    }


def indexed_row(index: IndexDefinition, document: dict[str, Any]) -> IndexedRow:
    """Title weighs A, the next field B, the next C, the rest D (``index.searchable`` is in that order)."""
    weighted: list[list[str]] = [[], [], [], []]
    trigram_words: list[str] = []
    for position, field in enumerate(index.searchable):
        exact = field in index.exact
        field_tokens = _field_tokens(document.get(field), exact)
        slot = min(position, len(WEIGHTS) - 1)
        weighted[slot].extend(field_tokens)
        # Trigrams cover the title and keywords only: longer text makes every lookup slow and vague.
        if slot < TRIGRAM_SLOTS and not exact:
            trigram_words.extend(field_tokens)
    a, b, c, d = (" ".join(tokens) for tokens in weighted)
    try:
        doc_id, version = str(document[index.primary_key]), int(document["version"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"a {index.name} document needs {index.primary_key!r} and an integer 'version'") from exc
    return IndexedRow(
        doc_id=doc_id,
        version=version,
        document=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        filter_terms=TERM_SEPARATOR.join(_filter_terms(index, document)),
        numbers=json.dumps(_numbers(index, document)),
        weighted=(a, b, c, d),
        search_text=" ".join(dict.fromkeys(trigram_words)),
    )


def indexed_rows(index: IndexDefinition, documents: Sequence[dict[str, Any]]) -> list[IndexedRow]:
    """One row per id, the highest version winning, in id order so concurrent batches lock rows alike."""
    latest: dict[str, IndexedRow] = {}
    for document in documents:
        row = indexed_row(index, document)
        current = latest.get(row.doc_id)
        if current is None or row.version >= current.version:
            latest[row.doc_id] = row
    return [latest[doc_id] for doc_id in sorted(latest)]


def _upsert_parameters(index: IndexDefinition, rows: Sequence[IndexedRow]) -> dict[str, Any]:
    return {
        "index_name": index.name,
        "doc_ids": [row.doc_id for row in rows],
        "versions": [row.version for row in rows],
        "documents": [row.document for row in rows],
        "filter_terms": [row.filter_terms for row in rows],
        "numbers": [row.numbers for row in rows],
        "separator": TERM_SEPARATOR,
        "a": [row.weighted[0] for row in rows],
        "b": [row.weighted[1] for row in rows],
        "c": [row.weighted[2] for row in rows],
        "d": [row.weighted[3] for row in rows],
        "search_texts": [row.search_text for row in rows],
    }


def _highlight_fields(index: IndexDefinition, document: dict[str, Any]) -> list[str]:
    """The title and the first other searchable field holding plain text (summary, problem)."""
    title, *others = index.searchable
    first_text = next(
        (field for field in others if field not in index.exact and isinstance(document.get(field), str)), None
    )
    return [title] if first_text is None else [title, first_text]


def _searchable_text(index: IndexDefinition, document: dict[str, Any]) -> str:
    values = (value for field in index.searchable for value in _field_values(document.get(field)))
    return analysis.normalise("\n".join(values))


def _hit(index: IndexDefinition, query: SearchQuery, match: TextMatch | None, row: Row[str, Any, str, float]) -> Hit:
    document: dict[str, Any] = row.document
    if match is None:
        return Hit(document=document, score=float(row.score))
    terms = [term for term in match.terms if len(term) > 1] or list(match.terms)
    found = analysis.matched_words(_searchable_text(index, document), terms)
    missed = [term for term in match.fuzzy_terms if term not in found]
    if missed:
        # A mistyped term matched through trigrams: show the document's words it resembles.
        words = row.search_text.split()
        terms += [word for term in missed for word in analysis.similar_words(term, words, FUZZY_THRESHOLD)]
        found = analysis.matched_words(_searchable_text(index, document), terms)
    highlights: dict[str, str] = {}
    if query.highlight:
        for field in _highlight_fields(index, document):
            value = document.get(field)
            if isinstance(value, str):
                highlights[field] = analysis.highlight(value, terms)[0]
    return Hit(document=document, score=float(row.score), highlights=highlights, matched_terms=tuple(found))


async def _analysed_chunks(
    index: IndexDefinition, documents: Sequence[dict[str, Any]]
) -> AsyncGenerator[list[IndexedRow], None]:
    """Rows chunk by chunk, in id order across chunks so concurrent batches lock rows alike.

    Segmentation is the CPU cost of indexing: it runs in a thread, one chunk ahead, so it overlaps with
    PostgreSQL writing the previous chunk and the event loop stays free.
    """
    ordered = sorted(documents, key=lambda document: str(document.get(index.primary_key, "")))
    chunks = [ordered[start : start + UPSERT_CHUNK] for start in range(0, len(ordered), UPSERT_CHUNK)]
    ahead = asyncio.ensure_future(asyncio.to_thread(indexed_rows, index, chunks[0]))
    try:
        for following in chunks[1:]:
            rows = await ahead
            ahead = asyncio.ensure_future(asyncio.to_thread(indexed_rows, index, following))
            yield rows
        yield await ahead
    finally:
        if not ahead.done():
            await asyncio.wait([ahead])


def _unreachable(exc: Exception) -> bool:
    if isinstance(exc, _UNAVAILABLE):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        return exc.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    return False


@asynccontextmanager
async def _translating_connection_errors() -> AsyncIterator[None]:
    try:
        yield
    except Exception as exc:
        if _unreachable(exc):
            raise SearchUnavailable(f"PostgreSQL is unreachable for search: {exc}") from exc
        raise


class EmbeddedEngine:
    """The ``SearchEngine`` inside PostgreSQL, for machines without Meilisearch."""

    name = "embedded"

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_total_hits: int = MAX_TOTAL_HITS,
        max_candidates: int = MAX_CANDIDATES,
        owns_engine: bool = False,
    ) -> None:
        self._engine = engine
        self._owns_engine = owns_engine
        self._max_total_hits = max_total_hits
        self._max_candidates = max_candidates
        self._frequencies: dict[str, float] | None = None
        self._frequencies_read_at = 0.0

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        async with _translating_connection_errors(), self._engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with _translating_connection_errors(), self._engine.begin() as connection:
            yield connection

    async def apply_settings(self, index: IndexDefinition) -> None:
        """Nothing to configure: the migration made the table; check that it is there."""
        async with self._connect() as connection:
            exists = await connection.scalar(text("SELECT to_regclass('search_documents') IS NOT NULL"))
        if not exists:
            raise SearchUnavailable("the search_documents table is missing: run the migrations")

    async def upsert(self, index: IndexDefinition, documents: Sequence[dict[str, Any]]) -> None:
        if not documents:
            return
        async with self._transaction() as connection, aclosing(_analysed_chunks(index, documents)) as chunks:
            async for rows in chunks:
                await connection.execute(_UPSERT, _upsert_parameters(index, rows))

    async def delete(self, index: IndexDefinition, document_ids: Sequence[str]) -> None:
        if not document_ids:
            return
        table = search_documents
        statement = table.delete().where(table.c.index_name == index.name, table.c.doc_id.in_(list(document_ids)))
        async with self._transaction() as connection:
            await connection.execute(statement)

    async def search(self, index: IndexDefinition, query: SearchQuery) -> SearchResult:
        match = text_match(query.text) if query.text.strip() else None
        async with self._connect() as connection:
            if match is None:
                condition = None
                statement = sorted_statement(index, query, None)
            else:
                frequencies = await self._lexeme_frequencies(connection)
                # A word the statistics list is in the index: no typo to look for.
                match = replace(match, fuzzy_terms=tuple(t for t in match.fuzzy_terms if t not in frequencies))
                fuzzy_ids: list[str] = []
                if match.fuzzy_terms:
                    fuzzy_ids = list(await connection.scalars(fuzzy_ids_statement(index, match, MAX_FUZZY_MATCHES)))
                condition = text_clause(match, fuzzy_ids)
                if query.sort:
                    statement = sorted_statement(index, query, condition)
                else:
                    tiers = await self._tiers(connection, index, match, frequencies)
                    cap = max(self._max_candidates, query.offset + query.limit)
                    statement = relevance_statement(index, query, match, tiers, fuzzy_ids, cap)
            rows = (await connection.execute(statement)).all()
            if condition is not None:
                await connection.execute(_PREFER_INDEX_SCANS)
            totals = await connection.execute(totals_statement(index, query, condition, self._max_total_hits))
            total = 0
            facets: dict[str, dict[str, int]] = {facet: {} for facet in query.facets}
            for facet, value, count in totals:
                if facet is None:
                    total = int(count)
                else:
                    facets[facet][value] = int(count)
        hits = [_hit(index, query, match, row) for row in rows]
        return SearchResult(hits=hits, total=total, facets=facets)

    async def _tiers(
        self, connection: AsyncConnection, index: IndexDefinition, match: TextMatch, frequencies: dict[str, float]
    ) -> list[str]:
        unknown = units_to_probe(match, frequencies)
        if len(match.unit_queries) == 1 or not unknown:
            return tier_queries(match, frequencies)
        present = set(await connection.scalars(presence_statement(index, match, unknown)))
        return tier_queries(match, frequencies, absent={unit for unit in unknown if unit not in present})

    async def _lexeme_frequencies(self, connection: AsyncConnection) -> dict[str, float]:
        """Share of documents holding each common lexeme (ANALYZE keeps the most common ones)."""
        if self._frequencies is None or time.monotonic() - self._frequencies_read_at > STATISTICS_TTL_SECONDS:
            row = (await connection.execute(_LEXEME_FREQUENCIES)).first()
            self._frequencies = dict(zip(row.lexemes, row.frequencies, strict=False)) if row and row.lexemes else {}
            self._frequencies_read_at = time.monotonic()
        return self._frequencies

    async def multi_search(self, requests: Sequence[tuple[IndexDefinition, SearchQuery]]) -> list[SearchResult]:
        return list(await asyncio.gather(*(self.search(index, query) for index, query in requests)))

    async def get_versions(self, index: IndexDefinition) -> dict[str, int]:
        table = search_documents
        statement = table.select().with_only_columns(table.c.doc_id, table.c.version)
        async with self._connect() as connection:
            rows = await connection.execute(statement.where(table.c.index_name == index.name))
            return {doc_id: int(version) for doc_id, version in rows}

    async def healthy(self) -> bool:
        try:
            async with self._connect() as connection:
                await connection.execute(text("SELECT 1"))
        except SearchUnavailable:
            return False
        return True

    async def close(self) -> None:
        """Dispose of the SQLAlchemy engine when it is this engine's own pool; otherwise its owner does."""
        if self._owns_engine:
            await self._engine.dispose()
