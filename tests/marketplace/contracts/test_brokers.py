from __future__ import annotations

import httpx

from services.marketplace.models.identity import OrganisationKind, Role
from tests.marketplace.contracts.conftest import CONTRACT_AMOUNT, Deals, milestones


async def test_a_brokers_public_record_counts_registered_deals(client: httpx.AsyncClient, deals: Deals) -> None:
    broker_id = str(deals.actors["broker"].user_id)
    terms = {"broker_id": broker_id, "commission": {"mode": "rate", "rate_bp": 300, "payer": "buyer"}}
    await deals.create(**terms)
    completed = await deals.registered(**terms)
    await deals.act(completed["id"], "start-performance", "a_admin")
    await deals.act(completed["id"], "complete", "b_admin")
    terminated = await deals.registered(**terms)
    url = f"/v1/contracts/{terminated['id']}/amendments"
    proposal = {
        "kind": "termination",
        "reason": "协商终止",
        "contract_amount_fen": 40_000_000,
        "non_technical_costs": [],
        "milestones": milestones(40_000_000, 1),
    }
    amendment = (await client.post(url, json=proposal, headers=deals.headers("a_admin"))).json()
    await client.post(f"{url}/{amendment['id']}/confirm", headers=deals.headers("b_admin"))
    await client.post(f"{url}/{amendment['id']}/register", headers=deals.headers("registrar"))
    await deals.registered(**terms)

    record = (await client.get(f"/v1/brokers/{broker_id}")).json()
    assert record["certification_number"] == "JSJJR-2026-0001"
    assert record["organisation_id"] == str(deals.actors.organisations["agency"])
    assert record["record"] == {
        "contracts_registered": 3,
        "registered_volume_fen": 2 * CONTRACT_AMOUNT + 40_000_000,
        "registered_volume_fen_text": str(2 * CONTRACT_AMOUNT + 40_000_000),
        "completed": 1,
        "terminated": 1,
        "completion_rate_bp": 5000,
    }
    listed = await client.get("/v1/brokers", params={"field_code": "new_energy", "region": "3401"})
    assert [item["broker_id"] for item in listed.json()["items"]] == [broker_id]
    assert (await client.get("/v1/brokers", params={"region": "31"})).json()["items"] == []


async def test_only_brokers_of_verified_agencies_keep_a_profile(client: httpx.AsyncClient, deals: Deals) -> None:
    body = {"certification_number": "JSJJR-2026-0002", "field_codes": ["electronic_information"], "region_codes": []}
    assert (await client.put("/v1/brokers/me", json=body, headers=deals.headers("a_admin"))).status_code == 403
    await deals.actors.add_organisation("agency2", OrganisationKind.transfer_agency, {"broker2": [Role.broker]})
    taken = body | {"certification_number": "jsjjr-2026-0001"}
    assert (await client.put("/v1/brokers/me", json=taken, headers=deals.headers("broker2"))).status_code == 409
    updated = await client.put("/v1/brokers/me", json=body, headers=deals.headers("broker"))
    assert updated.status_code == 200, updated.text
    assert updated.json()["field_codes"] == ["electronic_information"]
    assert (await client.get(f"/v1/brokers/{deals.actors['a_admin'].user_id}")).status_code == 404
