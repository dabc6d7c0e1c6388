from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.marketplace.contracts.conftest import Deals, topics


async def open_room(client: httpx.AsyncClient, deals: Deals, **overrides: object) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "固态电解质技术许可洽谈",
        "side": "buyer",
        "counterpart_organisation_id": str(deals.actors.organisations["a"]),
    }
    body.update(overrides)
    response = await client.post("/v1/deal-rooms", json=body, headers=deals.headers("b_member"))
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


async def test_parties_negotiate_and_accepting_an_offer_prefills_a_contract(
    app: FastAPI, client: httpx.AsyncClient, deals: Deals, publish_achievement: Any
) -> None:
    achievement = await publish_achievement()
    room = await open_room(client, deals, achievement_id=achievement["id"])
    assert (room["seller_organisation_id"], room["buyer_organisation_id"]) == (
        str(deals.actors.organisations["a"]),
        str(deals.actors.organisations["b"]),
    )
    url = f"/v1/deal-rooms/{room['id']}"
    broker_id = str(deals.actors["broker"].user_id)
    invited = await client.post(f"{url}/brokers", json={"broker_id": broker_id}, headers=deals.headers("a_admin"))
    assert invited.json()["broker_ids"] == [broker_id]
    again = await client.post(f"{url}/brokers", json={"broker_id": broker_id}, headers=deals.headers("b_admin"))
    assert again.status_code == 409
    not_broker = {"broker_id": str(deals.actors["d_admin"].user_id)}
    assert (await client.post(f"{url}/brokers", json=not_broker, headers=deals.headers("a_admin"))).status_code == 422
    attachment = {"file_name": "技术说明.pdf", "media_type": "application/pdf", "size_bytes": 2048, "sha256": "b" * 64}
    message = await client.post(
        f"{url}/messages",
        json={"body": "请介绍电解质的中试数据", "attachments": [attachment]},
        headers=deals.headers("b_member") | {"Idempotency-Key": "room-message-0001"},
    )
    assert message.status_code == 201
    brokered = await client.post(f"{url}/messages", json={"body": "我来协调"}, headers=deals.headers("broker"))
    assert brokered.status_code == 201
    first = await client.post(
        f"{url}/offers",
        json={"price_fen": 80_000_000, "transfer_mode": "license", "terms": "普通许可五年"},
        headers=deals.headers("b_member"),
    )
    assert first.status_code == 201
    broker_offer = await client.post(
        f"{url}/offers",
        json={"price_fen": 1, "transfer_mode": "license", "terms": "x"},
        headers=deals.headers("broker"),
    )
    assert broker_offer.status_code == 403
    own = await client.post(f"{url}/offers/{first.json()['id']}/accept", headers=deals.headers("b_admin"))
    assert own.status_code == 403
    counter = await client.post(
        f"{url}/offers",
        json={"price_fen": 95_000_000, "transfer_mode": "license", "terms": "独占许可五年，首付 50%"},
        headers=deals.headers("a_admin"),
    )
    assert counter.json()["counter_to_offer_id"] == first.json()["id"]
    offers = (await client.get(f"{url}/offers", headers=deals.headers("broker"))).json()["items"]
    assert [offer["status"] for offer in offers] == ["open", "countered"]
    stale = await client.post(f"{url}/offers/{first.json()['id']}/accept", headers=deals.headers("a_admin"))
    assert stale.status_code == 409
    accepted = await client.post(f"{url}/offers/{counter.json()['id']}/accept", headers=deals.headers("b_admin"))
    assert accepted.status_code == 201, accepted.text
    contract = accepted.json()["contract"]
    assert accepted.json()["offer"]["status"] == "accepted"
    assert (contract["status"], contract["contract_type"], contract["contract_amount_fen"]) == (
        "draft",
        "license",
        95_000_000,
    )
    assert (contract["achievement_id"], contract["broker_id"], contract["terms"]) == (
        achievement["id"],
        broker_id,
        "独占许可五年，首付 50%",
    )
    assert contract["seller"]["organisation_id"] == str(deals.actors.organisations["a"])
    assert (await client.get(url, headers=deals.headers("a_member"))).json()["contract_id"] == contract["id"]
    another = await client.post(
        f"{url}/offers",
        json={"price_fen": 90_000_000, "transfer_mode": "license", "terms": "再议"},
        headers=deals.headers("a_admin"),
    )
    refused = await client.post(f"{url}/offers/{another.json()['id']}/accept", headers=deals.headers("b_admin"))
    assert refused.status_code == 409
    assert await topics(app, room["id"]) == [
        "deal_room.opened",
        "deal_room.broker_invited",
        "deal_room.message_posted",
        "deal_room.message_posted",
        "deal_room.offer_made",
        "deal_room.offer_made",
        "deal_room.offer_accepted",
        "deal_room.offer_made",
    ]


async def test_only_participants_see_a_room_and_officials_see_none_of_it(
    client: httpx.AsyncClient, deals: Deals
) -> None:
    room = await open_room(client, deals)
    url = f"/v1/deal-rooms/{room['id']}"
    for outsider in ("d_admin", "official", "registrar", "platform_admin", "broker", "c_admin"):
        headers = deals.headers(outsider)
        assert (await client.get(url, headers=headers)).status_code == 404, outsider
        assert (await client.get(f"{url}/messages", headers=headers)).status_code == 404, outsider
        posted = await client.post(f"{url}/messages", json={"body": "窥探"}, headers=headers)
        assert posted.status_code == 404, outsider
        assert (await client.get("/v1/deal-rooms", headers=headers)).json()["items"] == [], outsider
    for participant in ("a_admin", "a_member", "b_admin", "b_member"):
        assert (await client.get(url, headers=deals.headers(participant))).status_code == 200, participant


async def test_a_closed_room_takes_no_more_messages_or_offers(client: httpx.AsyncClient, deals: Deals) -> None:
    room = await open_room(client, deals)
    url = f"/v1/deal-rooms/{room['id']}"
    offer = await client.post(
        f"{url}/offers",
        json={"price_fen": 10_000_000, "transfer_mode": "consulting", "terms": "咨询报告一份"},
        headers=deals.headers("b_member"),
    )
    withdrawn = await client.post(f"{url}/offers/{offer.json()['id']}/withdraw", headers=deals.headers("a_admin"))
    assert withdrawn.status_code == 403
    assert (await client.post(f"{url}/close", headers=deals.headers("a_admin"))).json()["status"] == "closed"
    late = await client.post(f"{url}/messages", json={"body": "还在吗"}, headers=deals.headers("b_member"))
    assert late.status_code == 409
    accept = await client.post(f"{url}/offers/{offer.json()['id']}/accept", headers=deals.headers("a_admin"))
    assert accept.status_code == 409
    offers = (await client.get(f"{url}/offers", headers=deals.headers("a_admin"))).json()["items"]
    assert offers[0]["status"] == "withdrawn"


async def test_a_room_needs_verified_counterparts_and_matching_listings(
    client: httpx.AsyncClient, deals: Deals, publish_achievement: Any
) -> None:
    b_achievement = await publish_achievement("b_admin")
    cases = [
        {"counterpart_organisation_id": str(deals.actors.organisations["c"])},
        {"counterpart_organisation_id": str(deals.actors.organisations["b"])},
        {"achievement_id": b_achievement["id"]},
    ]
    for overrides in cases:
        body = {"title": "洽谈", "side": "buyer", "counterpart_organisation_id": str(deals.actors.organisations["a"])}
        response = await client.post("/v1/deal-rooms", json=body | overrides, headers=deals.headers("b_member"))
        assert response.status_code == 422, overrides
    unverified = await client.post(
        "/v1/deal-rooms",
        json={"title": "洽谈", "side": "seller", "counterpart_organisation_id": str(deals.actors.organisations["b"])},
        headers=deals.headers("c_admin"),
    )
    assert unverified.status_code == 403
