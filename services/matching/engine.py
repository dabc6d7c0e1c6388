"""The search port: one interface, two engines (Meilisearch, and the embedded engine in PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from services.matching.indexes import IndexDefinition
from services.matching.query import SearchQuery, SearchResult


class SearchUnavailable(Exception):
    """The engine cannot be reached or refused the request for reasons of its own."""


class SearchEngine(Protocol):
    """Documents are plain JSON objects keyed by ``id`` with an integer ``version``.

    ``upsert`` never replaces a document with one of a lower version, so replayed or reordered
    events cannot overwrite newer data.
    """

    name: str

    async def apply_settings(self, index: IndexDefinition) -> None:
        """Create the index if needed and apply its settings; returns when they are in force."""

    async def upsert(self, index: IndexDefinition, documents: Sequence[dict[str, Any]]) -> None: ...

    async def delete(self, index: IndexDefinition, document_ids: Sequence[str]) -> None: ...

    async def search(self, index: IndexDefinition, query: SearchQuery) -> SearchResult: ...

    async def multi_search(self, requests: Sequence[tuple[IndexDefinition, SearchQuery]]) -> list[SearchResult]: ...

    async def get_versions(self, index: IndexDefinition) -> dict[str, int]:
        """Every document id in the index with its version (for consistency checks)."""

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...
