"""What an attacker or a broken client sends gets a clear 4xx problem, and nothing is written.

Complements ``test_problems.py`` (malformed bodies, oversized bodies, unknown routes): money fields refuse
negative, fractional, textual and out-of-range amounts on every create route that takes money; every list
caps its page size; JSON routes refuse other content types.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.models import AuditEvent, OutboxEvent
from services.marketplace.models.identity import OrganisationKind, Role
from tests.marketplace.contracts.conftest import contract_body
from tests.marketplace.test_problems import assert_problem
from tests.support import Actors, achievement_body, demand_body

HOSTILE_AMOUNTS: list[object] = [-1, -(2**63), 1.5, 100.0, 1e30, "100", "1e3", True, 2**63, [], {}]


async def written_rows(app: FastAPI) -> tuple[int, int]:
    async with app.state.sessionmaker() as session:
        audit = await session.scalar(select(func.count()).select_from(AuditEvent))
        outbox = await session.scalar(select(func.count()).select_from(OutboxEvent))
    return int(audit or 0), int(outbox or 0)


async def refuse_every_amount(
    app: FastAPI, client: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    before = await written_rows(app)
    for amount in HOSTILE_AMOUNTS:
        response = await client.post(url, json={**body, field: amount}, headers=headers)
        problem = assert_problem(response, 422)
        locations = [error["loc"] for error in problem["errors"]]  # type: ignore[union-attr]
        assert any(field in loc for loc in locations), (field, amount, problem)
    assert await written_rows(app) == before, f"{url} wrote something for a refused amount"


async def test_listing_prices_and_budgets_refuse_hostile_amounts(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    await refuse_every_amount(
        app, client, "/v1/achievements", actors["a_admin"].headers, achievement_body(), "price_fen"
    )
    for field in ("budget_min_fen", "budget_max_fen"):
        await refuse_every_amount(app, client, "/v1/demands", actors["b_admin"].headers, demand_body(), field)
    assert (await client.get("/v1/achievements", params={"mine": True}, headers=actors["a_admin"].headers)).json()[
        "items"
    ] == []


async def test_contract_amounts_refuse_hostile_amounts(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    await actors.add_organisation("registry", OrganisationKind.government, {"registrar": [Role.registrar]})
    a, b = actors.organisations["a"], actors.organisations["b"]
    await refuse_every_amount(
        app, client, "/v1/contracts", actors["a_admin"].headers, contract_body(a, b), "contract_amount_fen"
    )


def paged_list_routes(app: FastAPI) -> list[tuple[str, int]]:
    """Every GET of the served document with a ``limit`` query parameter, and its documented maximum."""
    routes = []
    for path, operations in app.openapi()["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        for parameter in get.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] == "limit":
                routes.append((path, int(parameter["schema"]["maximum"])))
    return routes


async def test_every_list_caps_its_page_size(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    routes = paged_list_routes(app)
    assert len(routes) >= 20, routes
    for path, maximum in routes:
        url = path
        for name in {segment for segment in path.split("/") if segment.startswith("{")}:
            url = url.replace(name, str(uuid.uuid4()))
        assert maximum <= 100, path
        for limit in (maximum + 1, 10**6, 10**30, -1, 0, "all"):
            response = await client.get(url, params={"limit": limit}, headers=actors["platform_admin"].headers)
            assert 400 <= response.status_code < 500, (path, limit, response.status_code)
            assert response.headers["content-type"] == "application/problem+json"
            if response.status_code == 422:
                locations = [error["loc"] for error in response.json()["errors"]]
                assert ["query", "limit"] in locations, (path, limit, locations)
    deep_offset = await client.get("/v1/search/achievements", params={"q": "电池", "offset": 10**9})
    assert_problem(deep_offset, 422)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/octet-stream", ""],
)
async def test_json_routes_refuse_other_content_types(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, content_type: str
) -> None:
    import json

    before = await written_rows(app)
    headers = {**actors["a_admin"].headers, "content-type": content_type}
    response = await client.post("/v1/achievements", content=json.dumps(achievement_body()), headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await written_rows(app) == before
