from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.models import AuditEvent
from tests.marketplace.conftest import Publish
from tests.support import Actors


async def visible_ids(client: httpx.AsyncClient, headers: dict[str, str] | None) -> set[str]:
    response = await client.get("/v1/demands", params={"limit": 100}, headers=headers or {})
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


async def count(client: httpx.AsyncClient, headers: dict[str, str] | None) -> int:
    return int((await client.get("/v1/demands/count", headers=headers or {})).json()["count"])


async def test_demand_confidentiality_holds_in_reads_lists_and_counts(
    client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    public = await publish("demands", owner="b_admin", confidentiality="public")
    members = await publish("demands", owner="b_admin", confidentiality="members")
    brokers = await publish("demands", owner="b_admin", confidentiality="brokers")
    expectations = {
        "anonymous": (None, {public["id"]}),
        "unverified": (actors["c_admin"].headers, {public["id"]}),
        "verified member": (actors["a_member"].headers, {public["id"], members["id"]}),
        "verified broker": (actors["broker"].headers, {public["id"], members["id"], brokers["id"]}),
        "owner": (actors["b_member"].headers, {public["id"], members["id"], brokers["id"]}),
        "platform staff": (actors["platform_admin"].headers, {public["id"], members["id"], brokers["id"]}),
    }
    for who, (headers, expected) in expectations.items():
        assert await visible_ids(client, headers) == expected, who
        assert await count(client, headers) == len(expected), who
        for listing in (public, members, brokers):
            status = (await client.get(f"/v1/demands/{listing['id']}", headers=headers or {})).status_code
            assert status == (200 if listing["id"] in expected else 404), (who, listing["confidentiality"])


async def test_filters_combine_and_respect_visibility(
    client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    low = await publish(trl=3, price_fen=1_000_000, transfer_modes=["license"], region_code="340104")
    high = await publish(trl=8, price_fen=90_000_000, transfer_modes=["equity"], region_code="310104")
    await client.post("/v1/achievements", json={"title": "x"}, headers=actors["a_admin"].headers)

    async def ids(**params: object) -> list[str]:
        response = await client.get("/v1/achievements", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids(trl_min=5) == [high["id"]]
    assert await ids(trl_max=5, region="3401") == [low["id"]]
    assert await ids(region="31") == [high["id"]]
    assert await ids(transfer_mode=["equity", "transfer"]) == [high["id"]]
    assert await ids(price_max_fen=5_000_000) == [low["id"]]
    assert await ids(owner_kind="university", sort="trl") == [low["id"], high["id"]]
    assert await ids(owner_kind="enterprise") == []
    assert await ids(sort="-trl", limit=1) == [high["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"region": "3"},
        {"trl_min": 0},
        {"sort": "price"},
        {"transfer_mode": "gift"},
        {"price_min_fen": -5},
        {"trl_min": "1.5"},
    ],
)
async def test_bad_filters_are_422(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    response = await client.get("/v1/achievements", params=params)
    assert response.status_code == 422


async def test_contact_is_revealed_only_after_the_owner_accepts_and_only_to_the_requester(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    listing = await publish()
    url = f"/v1/achievements/{listing['id']}"
    requester, third = actors["b_member"].headers, actors["d_admin"].headers
    assert (await client.get(f"{url}/contact", headers=requester)).status_code == 403
    assert (await client.get(f"{url}/contact", headers=actors["a_member"].headers)).json()["name"] == "王老师"

    created = await client.post(f"{url}/contact-requests", json={"message": "希望洽谈许可"}, headers=requester)
    assert created.status_code == 201
    duplicate = await client.post(f"{url}/contact-requests", json={"message": "再问一次"}, headers=requester)
    assert duplicate.status_code == 409
    request_id = created.json()["id"]
    incoming = (await client.get("/v1/contact-requests", headers=actors["a_admin"].headers)).json()["items"]
    assert [item["id"] for item in incoming] == [request_id]
    outgoing = await client.get("/v1/contact-requests", params={"direction": "outgoing"}, headers=requester)
    assert [item["id"] for item in outgoing.json()["items"]] == [request_id]

    assert (await client.post(f"/v1/contact-requests/{request_id}/accept", headers=requester)).status_code == 404
    accepted = await client.post(f"/v1/contact-requests/{request_id}/accept", headers=actors["a_admin"].headers)
    assert accepted.json()["status"] == "accepted"
    revealed = await client.get(f"{url}/contact", headers=actors["b_admin"].headers)
    assert revealed.status_code == 200
    assert revealed.json()["phone"] == "0551-63600000"
    assert (await client.get(f"{url}/contact", headers=third)).status_code == 403
    assert (await client.get(f"{url}/contact")).status_code == 401
    async with app.state.sessionmaker() as session:
        reveals = list(
            await session.scalars(select(AuditEvent.after).where(AuditEvent.action == "achievement.contact_revealed"))
        )
    assert reveals == [{"revealed_to_organisation": str(actors.organisations["b"])}]


async def test_declined_requests_reveal_nothing(client: httpx.AsyncClient, actors: Actors, publish: Publish) -> None:
    listing = await publish("demands", owner="b_admin")
    url = f"/v1/demands/{listing['id']}"
    request = (
        await client.post(f"{url}/contact-requests", json={"message": "可合作"}, headers=actors["a_admin"].headers)
    ).json()
    declined = await client.post(f"/v1/contact-requests/{request['id']}/decline", headers=actors["b_admin"].headers)
    assert declined.json()["status"] == "declined"
    assert (await client.get(f"{url}/contact", headers=actors["a_admin"].headers)).status_code == 403
    again = await client.post(f"/v1/contact-requests/{request['id']}/accept", headers=actors["b_admin"].headers)
    assert again.status_code == 409


async def test_public_representations_never_include_contacts(
    client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    listing = await publish()
    for response in (await client.get(f"/v1/achievements/{listing['id']}"), await client.get("/v1/achievements")):
        assert "0551-63600000" not in response.text
        assert "tt@univ.example.cn" not in response.text
