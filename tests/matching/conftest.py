"""The search engines under contract: the embedded one always, Meilisearch when ``MEILI_URL`` points at a server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.matching.embedded import EmbeddedEngine
from services.matching.engine import SearchEngine


@pytest.fixture(params=["embedded", "meilisearch"])
def engine_location(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Which engine, and where it is: a fresh migrated database, or the Meilisearch server."""
    if request.param == "embedded":
        return "embedded", str(request.getfixturevalue("database_url"))
    meili_url = os.environ.get("MEILI_URL")
    if not meili_url:
        pytest.skip("MEILI_URL is not set: Meilisearch contract tests skipped")
    return "meilisearch", meili_url


@pytest.fixture
async def engine(engine_location: tuple[str, str]) -> AsyncIterator[SearchEngine]:
    kind, url = engine_location
    if kind == "embedded":
        database = create_async_engine(url)
        embedded = EmbeddedEngine(database)
        yield embedded
        await embedded.close()
        await database.dispose()
        return
    from services.matching.meili import MeilisearchEngine

    meili = MeilisearchEngine(url, os.environ.get("MEILI_API_KEY"), index_prefix=f"test_{uuid.uuid4().hex[:12]}_")
    yield meili
    await meili.close()
