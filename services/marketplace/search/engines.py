"""Choosing the search engine: Meilisearch when configured, the embedded engine in PostgreSQL otherwise."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from services.marketplace.db import create_engine
from services.marketplace.settings import Settings
from services.matching.engine import SearchEngine, SearchUnavailable
from services.matching.indexes import INDEXES

logger = logging.getLogger(__name__)


def create_search_engine(settings: Settings, database: AsyncEngine) -> SearchEngine:
    """The engine to search with; its ``close()`` releases what it owns (the caller still owns ``database``).

    The embedded engine shares ``database`` unless ``search_database_url`` gives it a pool of its own (a replica,
    or another endpoint of the same server), so that search failing never takes the writes down with it.
    """
    if settings.meili_url:
        from services.matching.meili import MeilisearchEngine

        api_key = settings.meili_api_key.get_secret_value() if settings.meili_api_key else None
        return MeilisearchEngine(settings.meili_url, api_key, index_prefix=settings.meili_index_prefix)
    from services.matching.embedded import EmbeddedEngine

    if settings.search_database_url:
        own = create_engine(settings, settings.search_database_url, application_name="techmarket-search")
        return EmbeddedEngine(own, owns_engine=True)
    return EmbeddedEngine(database)


async def prepare_indexes(engine: SearchEngine) -> None:
    """Apply index settings at start-up; an unreachable engine is logged, not fatal (search answers 503)."""
    try:
        for index in INDEXES.values():
            await engine.apply_settings(index)
    except SearchUnavailable as exc:
        logger.warning("search engine unavailable at start-up: %s", exc)
