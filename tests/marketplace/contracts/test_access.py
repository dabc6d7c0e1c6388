"""Who sees which contract: parties, the contract's broker, registrars once submitted, officials once registered."""

from __future__ import annotations

import httpx

from tests.marketplace.contracts.conftest import Deals


async def _status(client: httpx.AsyncClient, deals: Deals, contract_id: str, actor: str) -> int:
    return (await client.get(f"/v1/contracts/{contract_id}", headers=deals.headers(actor))).status_code


async def _listed(client: httpx.AsyncClient, deals: Deals, actor: str) -> set[str]:
    return {item["id"] for item in (await client.get("/v1/contracts", headers=deals.headers(actor))).json()["items"]}


async def test_each_role_sees_the_contracts_it_should(client: httpx.AsyncClient, deals: Deals) -> None:
    broker_id = str(deals.actors["broker"].user_id)
    commission = {"mode": "fixed", "amount_fen": 1_000_000, "payer": "seller"}
    draft = await deals.create(broker_id=broker_id, commission=commission)
    submitted = await deals.submitted()
    registered = await deals.registered()
    expected = {
        "a_member": {draft["id"], submitted["id"], registered["id"]},
        "b_admin": {draft["id"], submitted["id"], registered["id"]},
        "broker": {draft["id"]},
        "registrar": {submitted["id"], registered["id"]},
        "official": {registered["id"]},
        "d_admin": set(),
        "c_admin": set(),
        "platform_admin": set(),
    }
    for actor, visible in expected.items():
        assert await _listed(client, deals, actor) == visible, actor
        for contract in (draft, submitted, registered):
            status = await _status(client, deals, contract["id"], actor)
            assert status == (200 if contract["id"] in visible else 404), (actor, contract["status"])
    assert (await client.get(f"/v1/contracts/{draft['id']}")).status_code == 401
    queue = await client.get("/v1/contracts", params={"status": "submitted"}, headers=deals.headers("registrar"))
    assert [item["id"] for item in queue.json()["items"]] == [submitted["id"]]


async def test_officials_read_registered_contracts_but_change_nothing(client: httpx.AsyncClient, deals: Deals) -> None:
    registered = await deals.registered()
    url = f"/v1/contracts/{registered['id']}"
    official = deals.headers("official")
    assert (await client.get(url, headers=official)).json()["registration_number"] == registered["registration_number"]
    assert (await client.get(f"{url}/amendments", headers=official)).json() == []
    for action in ("start-performance", "complete", "cancel", "register"):
        assert (await client.post(f"{url}/{action}", headers=official)).status_code in (403, 409), action
    assert (await client.patch(url, json={"title": "官员修改"}, headers=official)).status_code == 403


async def test_the_broker_edits_its_contract_but_does_not_sign_or_submit(
    client: httpx.AsyncClient, deals: Deals
) -> None:
    broker_id = str(deals.actors["broker"].user_id)
    contract = await deals.create(broker_id=broker_id, commission={"mode": "rate", "rate_bp": 200, "payer": "buyer"})
    url = f"/v1/contracts/{contract['id']}"
    edited = await client.patch(url, json={"terms": "经纪人补充的保密条款"}, headers=deals.headers("broker"))
    assert edited.status_code == 200
    await deals.act(contract["id"], "request-signatures", "broker")
    await deals.act(contract["id"], "sign", "broker", {"version": 2}, status=403)
    await deals.act(contract["id"], "sign", "a_admin", {"version": 2})
    await deals.act(contract["id"], "sign", "b_admin", {"version": 2})
    await deals.act(contract["id"], "submit", "broker", status=403)
    await deals.act(contract["id"], "cancel", "broker", status=403)
