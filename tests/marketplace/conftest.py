from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.support import Actors, achievement_body, demand_body

Publish = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def publish(client: httpx.AsyncClient, actors: Actors) -> Publish:
    """Create, submit and approve a listing; returns the published listing."""

    async def run(kind: str = "achievements", owner: str = "a_admin", **overrides: object) -> dict[str, Any]:
        body = achievement_body(**overrides) if kind == "achievements" else demand_body(**overrides)
        created = await client.post(f"/v1/{kind}", json=body, headers=actors[owner].headers)
        assert created.status_code == 201, created.text
        listing_id = created.json()["id"]
        submitted = await client.post(f"/v1/{kind}/{listing_id}/submit", headers=actors[owner].headers)
        assert submitted.status_code == 200, submitted.text
        approved = await client.post(f"/v1/{kind}/{listing_id}/approve", headers=actors["platform_admin"].headers)
        assert approved.status_code == 200, approved.text
        published: dict[str, Any] = approved.json()
        return published

    return run
