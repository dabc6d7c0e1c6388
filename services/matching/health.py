"""Reachability of the search engine, for readiness probes."""

from __future__ import annotations

import httpx


async def meilisearch_available(client: httpx.AsyncClient, base_url: str) -> bool:
    try:
        response = await client.get(base_url.rstrip("/") + "/health", timeout=2.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("status") == "available"
