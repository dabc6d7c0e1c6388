"""The Meilisearch adapter of the ``SearchEngine`` port, on meilisearch-python-sdk's ``AsyncClient``.

Errors: connection failures, timeouts, 5xx, refused credentials and a missing index surface as
``SearchUnavailable`` (a 503 for clients); requests Meilisearch rejects as invalid (unknown filter attribute,
bad sort, malformed document) surface as ``ValueError`` carrying Meilisearch's message.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import httpx2
from meilisearch_python_sdk import AsyncClient, AsyncIndex
from meilisearch_python_sdk.errors import MeilisearchApiError, MeilisearchError
from meilisearch_python_sdk.models.client import KeyCreate
from meilisearch_python_sdk.models.search import SearchParams, SearchResults
from meilisearch_python_sdk.models.settings import MeilisearchSettings
from meilisearch_python_sdk.models.task import TaskResult

from services.matching.engine import SearchUnavailable
from services.matching.indexes import IndexDefinition
from services.matching.meili_translation import (
    filter_expression,
    index_settings,
    latest_per_id,
    not_stale,
    page_window,
    search_params,
    search_result_from_meili,
    stored_versions,
)
from services.matching.query import In, SearchQuery, SearchResult
from services.matching.text import synonym_groups

Document = dict[str, Any]
Documents = Iterable[Document] | AsyncIterable[Document]

VERSION_FIELD = "version"
VERSIONS_PAGE_SIZE = 1000
ADMIN_KEY_ACTIONS = ("documents.*", "indexes.*", "settings.*", "tasks.*", "search")
SEARCH_KEY_ACTIONS = ("search",)
# Codes of Meilisearch API errors that are the engine's state, not a mistake in the request.
_UNAVAILABLE_CODES = frozenset({"index_not_found", "missing_authorization_header", "invalid_api_key"})
_UNAVAILABLE_STATUSES = frozenset({401, 403, 408, 429})


class MeilisearchEngine:
    """One ``AsyncClient`` (one connection pool) per engine; index uids are ``index_prefix + index.name``."""

    name = "meilisearch"

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        index_prefix: str = "",
        timeout: float = 5.0,
        task_timeout: float = 120.0,
        synonyms: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """``synonyms`` are groups of equivalent terms; by default the shared list the embedded engine uses."""
        self._client = AsyncClient(url, api_key)
        # The SDK types its own timeout as whole seconds; the pool it wraps takes fractions.
        self._client.http_client.timeout = httpx2.Timeout(timeout)
        self._prefix = index_prefix
        self._task_timeout_ms = max(1, round(task_timeout * 1000))
        self._synonyms = [list(group) for group in (synonym_groups() if synonyms is None else synonyms)]

    def uid(self, index: IndexDefinition) -> str:
        return self._prefix + index.name

    async def apply_settings(self, index: IndexDefinition) -> None:
        await self._apply_settings(self.uid(index), index)

    async def upsert(self, index: IndexDefinition, documents: Sequence[dict[str, Any]]) -> None:
        """Add or replace documents, never replacing a stored document with one of a lower version.

        Best-effort under concurrency: the stored versions are read, then the fresh documents written, and
        Meilisearch has no conditional write, so two writers racing on one id between the read and the write
        can still let the lower version land last. Index sync runs one writer per listing and reads the
        current row (not the event), which keeps that window harmless; ``get_versions`` can verify.
        """
        candidates = latest_per_id(documents, index.primary_key)
        if not candidates:
            return
        stored = await self._stored_versions(index, list(candidates))
        fresh = not_stale(candidates, stored)
        if not fresh:
            return
        with _engine_errors():
            task = await self._index(index).add_documents(fresh, primary_key=index.primary_key)
        await self._wait(task.task_uid)

    async def delete(self, index: IndexDefinition, document_ids: Sequence[str]) -> None:
        if not document_ids:
            return
        with _engine_errors():
            task = await self._index(index).delete_documents(list(document_ids))
        await self._wait(task.task_uid, missing_index_ok=True)

    async def search(self, index: IndexDefinition, query: SearchQuery) -> SearchResult:
        with _engine_errors():
            found = await self._index(index).search(**search_params(query, index))
        return _result(found, index, query)

    async def multi_search(self, requests: Sequence[tuple[IndexDefinition, SearchQuery]]) -> list[SearchResult]:
        """All searches in one ``POST /multi-search`` request, results in the order of ``requests``."""
        if not requests:
            return []
        queries = [SearchParams(index_uid=self.uid(index), **search_params(query, index)) for index, query in requests]
        with _engine_errors():
            found = await self._client.multi_search(queries)
        if not isinstance(found, list):  # only a federated multi-search returns one merged result
            raise TypeError("expected one result per query from a non-federated multi-search")
        return [_result(results, index, query) for results, (index, query) in zip(found, requests, strict=True)]

    async def get_versions(self, index: IndexDefinition) -> dict[str, int]:
        """Every document id with its version, read page by page (not a snapshot while writes go on)."""
        versions: dict[str, int] = {}
        async for page in self._document_pages(index, [index.primary_key, VERSION_FIELD]):
            versions.update({key: version for key, version in page.items() if version is not None})
        return versions

    async def healthy(self) -> bool:
        try:
            with _engine_errors():
                health = await self._client.health()
        except (SearchUnavailable, ValueError):
            return False
        return health.status == "available"

    async def close(self) -> None:
        await self._client.aclose()

    async def reindex(self, index: IndexDefinition, documents: Documents, batch_size: int = 1000) -> None:
        """Rebuild ``index`` from ``documents`` without downtime: build aside, swap in, drop the old one.

        Searches keep using the live index until the atomic swap. Writes that reach the live index after
        ``documents`` was read are not in the new generation: replay the events since the read began (the
        version rule makes replays harmless) or compare ``get_versions`` with the source of truth afterwards.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        live = self.uid(index)
        build = f"{live}_build_{secrets.token_hex(4)}"
        await self._apply_settings(build, index)
        try:
            await self._load(build, index, documents, batch_size)
            with _engine_errors():
                await self._ensure_index(live, index.primary_key)
                task = await self._client.swap_indexes([(live, build)])
            await self._wait(task.task_uid)
        except Exception:
            await self._drop_quietly(build)
            raise
        await self._drop(build)  # after the swap it holds the previous generation

    # --- internals ---------------------------------------------------------------------------------------------

    def _index(self, index: IndexDefinition) -> AsyncIndex:
        return self._client.index(self.uid(index))

    async def _apply_settings(self, uid: str, index: IndexDefinition) -> None:
        settings = _settings_model(index_settings(index, self._synonyms))
        with _engine_errors():
            target = await self._ensure_index(uid, index.primary_key)
            task = await target.update_settings(settings)
        await self._wait(task.task_uid)

    async def _ensure_index(self, uid: str, primary_key: str) -> AsyncIndex:
        """The index ``uid``, created with ``primary_key`` when missing; a different primary key is refused."""
        try:
            found = await self._client.get_index(uid)
        except MeilisearchApiError as error:
            if error.code != "index_not_found":
                raise
            # The SDK ignores a failed creation task (a concurrent creator won) and reads the index back.
            found = await self._client.create_index(uid, primary_key, timeout_in_ms=self._task_timeout_ms)
        if found.primary_key is None:
            return await found.update(primary_key)
        if found.primary_key != primary_key:
            raise ValueError(f"index {uid!r} has primary key {found.primary_key!r}, expected {primary_key!r}")
        return found

    async def _stored_versions(self, index: IndexDefinition, keys: list[str]) -> dict[str, int | None]:
        selection = filter_expression([In(index.primary_key, tuple(keys))])
        try:
            with _engine_errors():
                page = await self._index(index).get_documents(
                    filter=selection, fields=[index.primary_key, VERSION_FIELD], limit=len(keys)
                )
        except SearchUnavailable as unavailable:
            if not _is_missing_index(unavailable):
                raise
            # Writing to a missing index would let Meilisearch create it without our settings.
            await self.apply_settings(index)
            return {}
        return stored_versions(page.results, index.primary_key)

    async def _document_pages(self, index: IndexDefinition, fields: list[str]) -> AsyncIterator[dict[str, int | None]]:
        offset = 0
        while True:
            try:
                with _engine_errors():
                    page = await self._index(index).get_documents(
                        offset=offset, limit=VERSIONS_PAGE_SIZE, fields=fields
                    )
            except SearchUnavailable as unavailable:
                if _is_missing_index(unavailable):
                    return
                raise
            yield stored_versions(page.results, index.primary_key)
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return

    async def _load(self, uid: str, index: IndexDefinition, documents: Documents, batch_size: int) -> None:
        """Enqueue every batch first (Meilisearch merges queued additions), then wait for each task."""
        target = self._client.index(uid)
        task_uids = []
        async for batch in _batches(documents, batch_size):
            with _engine_errors():
                task = await target.add_documents(batch, primary_key=index.primary_key)
            task_uids.append(task.task_uid)
        for task_uid in task_uids:
            await self._wait(task_uid)

    async def _drop(self, uid: str) -> None:
        with _engine_errors():
            task = await self._client.index(uid).delete()
        await self._wait(task.task_uid, missing_index_ok=True)

    async def _drop_quietly(self, uid: str) -> None:
        # The original failure matters more; a leftover *_build_* index is harmless.
        with suppress(SearchUnavailable, ValueError):
            await self._drop(uid)

    async def _wait(self, task_uid: int, *, missing_index_ok: bool = False) -> None:
        """Wait for a task and raise unless it succeeded."""
        with _engine_errors():
            result = await self._client.wait_for_task(task_uid, timeout_in_ms=self._task_timeout_ms)
        _raise_for_task(result, missing_index_ok=missing_index_ok)


async def create_scoped_keys(master_client_url: str, master_key: str, prefix: str) -> tuple[str, str]:
    """Create (admin key, search-only key) limited to the indexes whose uid starts with ``prefix``.

    The admin key can manage documents, settings, tasks and the indexes themselves (create, swap, delete),
    which is all ``MeilisearchEngine`` needs; neither key can create other keys. Each call creates new keys.
    """
    patterns = [f"{prefix}*"]
    label = prefix or "all indexes"
    admin = KeyCreate(
        name=f"techmarket admin: {label}",
        description="Index sync and reindexing by the techmarket worker",
        actions=list(ADMIN_KEY_ACTIONS),
        indexes=patterns,
    )
    search = KeyCreate(
        name=f"techmarket search: {label}",
        description="Searches by the techmarket API",
        actions=list(SEARCH_KEY_ACTIONS),
        indexes=patterns,
    )
    async with AsyncClient(master_client_url, master_key) as client:
        with _engine_errors():
            admin_key = await client.create_key(admin)
            search_key = await client.create_key(search)
    return admin_key.key, search_key.key


def _result(found: SearchResults[Any], index: IndexDefinition, query: SearchQuery) -> SearchResult:
    skip = page_window(query.offset, query.limit).skip
    total = found.total_hits if found.total_hits is not None else found.estimated_total_hits
    return search_result_from_meili(found.hits, total, found.facet_distribution, index, skip)


def _settings_model(settings: dict[str, Any]) -> MeilisearchSettings:
    """The SDK's settings model, refusing to run if it would silently drop one of our settings."""
    model = MeilisearchSettings.model_validate(settings)
    dropped = set(settings) - set(model.model_dump(by_alias=True, exclude_none=True))
    if dropped:
        raise RuntimeError(f"meilisearch-python-sdk cannot express the settings {sorted(dropped)}")
    return model


async def _batches(documents: Documents, size: int) -> AsyncIterator[list[Document]]:
    batch: list[Document] = []
    async for document in _each(documents):
        batch.append(document)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _each(documents: Documents) -> AsyncIterator[Document]:
    if isinstance(documents, AsyncIterable):
        async for document in documents:
            yield document
    else:
        for document in documents:
            yield document


@contextmanager
def _engine_errors() -> Iterator[None]:
    """Translate the SDK's and the HTTP layer's exceptions into the port's."""
    try:
        yield
    except MeilisearchApiError as error:
        raise _api_error(error) from error
    except (MeilisearchError, httpx2.HTTPError) as error:  # communication errors, timeouts, non-JSON 5xx
        raise SearchUnavailable(f"Meilisearch is unavailable: {error}") from error


def _api_error(error: MeilisearchApiError) -> Exception:
    message = f"{error.code}: {error.message.removeprefix('Error message: ')}"
    if error.status_code >= 500 or error.status_code in _UNAVAILABLE_STATUSES or error.code in _UNAVAILABLE_CODES:
        return SearchUnavailable(f"Meilisearch refused the request: {message}")
    return ValueError(message)


def _raise_for_task(result: TaskResult, *, missing_index_ok: bool) -> None:
    if result.status == "succeeded":
        return
    error: Mapping[str, Any] = result.error or {}
    code, text = str(error.get("code", "")), str(error.get("message", f"task {result.uid} {result.status}"))
    if missing_index_ok and code == "index_not_found":
        return
    if error.get("type") == "invalid_request":
        raise ValueError(f"{code}: {text}")
    raise SearchUnavailable(f"Meilisearch task {result.uid} failed: {code}: {text}")


def _is_missing_index(unavailable: SearchUnavailable) -> bool:
    cause = unavailable.__cause__
    return isinstance(cause, MeilisearchApiError) and cause.code == "index_not_found"
