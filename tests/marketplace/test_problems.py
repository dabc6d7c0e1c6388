"""Every error is RFC 9457 problem+json, and no client input produces a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.kit.nul_characters import MESSAGE
from services.marketplace.models import Organisation
from tests.support import Actors

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nothing-here"), 404)
    assert body["title"] == "资源不存在"


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/v1/organisations"), 405)


async def test_validation_errors_list_every_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/organisations", json={"kind": "spaceship", "name": ""})
    body = assert_problem(response, 422)
    locations = {tuple(error["loc"]) for error in body["errors"]}  # type: ignore[union-attr]
    assert {
        ("body", "kind"),
        ("body", "name"),
        ("body", "uscc"),
        ("body", "region_code"),
        ("body", "admin"),
    } <= locations


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\xfa", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b"kind=university", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (b"null", "application/json"),
    ],
)
async def test_malformed_bodies_are_4xx_and_write_nothing(
    app: FastAPI, client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post("/v1/organisations", content=content, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == PROBLEM
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Organisation)) == 0


async def test_oversized_bodies_are_refused_with_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    limit = app.state.settings.max_body_bytes
    declared = await client.post(
        "/v1/organisations", content=b"x" * (limit + 1), headers={"content-type": "application/json"}
    )
    assert_problem(declared, 413)

    async def stream() -> object:
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    streamed = await client.post("/v1/organisations", content=stream(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


async def test_huge_integers_in_paths_are_rejected_not_crashing(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.post(
        "/v1/admin/outbox/dead-letters/99999999999999999999999/replay", headers=actors["platform_admin"].headers
    )
    assert_problem(response, 422)


@pytest.mark.parametrize(
    ("method", "path", "request_kwargs", "location"),
    [
        ("GET", "/v1/search/achievements", {"params": {"field_code": "\x00"}}, ["query", "field_code"]),
        ("POST", "/v1/auth/token", {"data": {"username": "a\x00b", "password": "x"}}, ["body", "username"]),
        ("POST", "/v1/auth/revoke", {"json": {"refresh_token": "a\x00b"}}, ["body", "refresh_token"]),
        ("POST", "/v1/organisations", {"json": {"admin": {"name": ["\x00"]}}}, ["body", "admin", "name", 0]),
    ],
)
async def test_nul_characters_are_refused_before_they_reach_the_database(
    client: httpx.AsyncClient, method: str, path: str, request_kwargs: dict[str, object], location: list[object]
) -> None:
    """PostgreSQL cannot store U+0000 in text; the fuzzer found it answered 500 wherever a string reached it."""
    body = assert_problem(await client.request(method, path, **request_kwargs), 422)  # type: ignore[arg-type]
    assert body["errors"] == [{"loc": location, "msg": MESSAGE, "type": "string_nul_character"}]


async def test_an_api_key_with_a_nul_character_is_a_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/users/me", headers={"X-API-Key": "tmk_" + "\x00" * 12 + "_secret"})
    assert_problem(response, 401)


async def test_missing_credentials_are_a_401_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/users/me"), 401)
    assert body["type"].endswith("/unauthorized")


async def test_incoming_request_ids_are_kept_and_unsafe_ones_replaced(client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"x-request-id": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
