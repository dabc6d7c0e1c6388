from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.models import User
from tests.support import Actors


def new_user(email: str) -> dict[str, object]:
    return {"email": email, "display_name": "新同事", "password": "long-enough-pw", "roles": ["member"]}


async def count_users(app: FastAPI, email: str) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(User.email == email)) or 0)


async def test_same_key_and_body_returns_the_stored_response(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    url = f"/v1/organisations/{actors.organisations['a']}/users"
    headers = actors["a_admin"].headers | {"Idempotency-Key": "create-user-0001"}
    first = await client.post(url, json=new_user("same@example.cn"), headers=headers)
    second = await client.post(url, json=new_user("same@example.cn"), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await count_users(app, "same@example.cn") == 1


async def test_same_key_with_a_different_body_is_a_conflict(client: httpx.AsyncClient, actors: Actors) -> None:
    url = f"/v1/organisations/{actors.organisations['a']}/users"
    headers = actors["a_admin"].headers | {"Idempotency-Key": "create-user-0002"}
    assert (await client.post(url, json=new_user("one@example.cn"), headers=headers)).status_code == 201
    response = await client.post(url, json=new_user("two@example.cn"), headers=headers)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-key-reused")


async def test_keys_are_scoped_to_the_caller(client: httpx.AsyncClient, actors: Actors) -> None:
    key = {"Idempotency-Key": "shared-key-0003"}
    a = await client.post(
        f"/v1/organisations/{actors.organisations['a']}/users",
        json=new_user("a-side@example.cn"),
        headers=actors["a_admin"].headers | key,
    )
    b = await client.post(
        f"/v1/organisations/{actors.organisations['b']}/users",
        json=new_user("b-side@example.cn"),
        headers=actors["b_admin"].headers | key,
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


async def test_a_failed_request_does_not_burn_the_key(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    url = f"/v1/organisations/{actors.organisations['a']}/users"
    headers = actors["a_admin"].headers | {"Idempotency-Key": "retry-after-fix-04"}
    taken = actors["b_admin"].email
    assert (await client.post(url, json=new_user(taken), headers=headers)).status_code == 409
    retried = await client.post(url, json=new_user("fixed@example.cn"), headers=headers)
    assert retried.status_code == 201


async def test_concurrent_duplicates_create_one_result(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    url = f"/v1/organisations/{actors.organisations['a']}/users"
    headers = actors["a_admin"].headers | {"Idempotency-Key": "concurrent-key-05"}
    responses = await asyncio.gather(
        *(client.post(url, json=new_user("race@example.cn"), headers=headers) for _ in range(5))
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert await count_users(app, "race@example.cn") == 1


async def test_malformed_keys_are_rejected(client: httpx.AsyncClient, actors: Actors) -> None:
    url = f"/v1/organisations/{actors.organisations['a']}/users"
    response = await client.post(
        url, json=new_user("k@example.cn"), headers=actors["a_admin"].headers | {"Idempotency-Key": "short"}
    )
    assert response.status_code == 422
