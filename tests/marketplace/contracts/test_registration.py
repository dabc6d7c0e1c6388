from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.marketplace.contracts.registration import format_registration_number, issue_registration_number
from services.marketplace.kit.timeutil import shanghai_date
from services.marketplace.models.identity import OrganisationKind, Role
from tests.marketplace.contracts.conftest import CONTRACT_AMOUNT, Deals, contract_body, milestones, payload, topics


async def test_concurrent_registrations_get_distinct_consecutive_numbers(
    deals: Deals, client: httpx.AsyncClient
) -> None:
    submitted = [await deals.submitted() for _ in range(6)]
    responses = await asyncio.gather(
        *(
            client.post(f"/v1/contracts/{contract['id']}/register", headers=deals.headers("registrar"))
            for contract in submitted
        )
    )
    assert [response.status_code for response in responses] == [200] * 6
    numbers = sorted(response.json()["registration_number"] for response in responses)
    year = shanghai_date(datetime.fromisoformat(responses[0].json()["registered_at"])).year
    assert numbers == [format_registration_number("3401", year, serial) for serial in range(1, 7)]


async def test_the_counter_serialises_separate_transactions_and_gives_back_rolled_back_serials(app: FastAPI) -> None:
    sessionmaker = app.state.sessionmaker
    async with sessionmaker() as first, sessionmaker() as second:
        number_one = await issue_registration_number(first, "3402", 2030)
        waiting = asyncio.create_task(issue_registration_number(second, "3402", 2030))
        await asyncio.sleep(0.2)
        assert not waiting.done(), "the second registration must wait for the first transaction"
        await first.rollback()
        number_two = await waiting
        await second.commit()
    assert number_one == number_two == "3402203000000001"
    with pytest.raises(ValueError, match="8 digits"):
        format_registration_number("3401", 2026, 10**8)


async def test_the_registration_number_is_unique_in_the_database(app: FastAPI, deals: Deals) -> None:
    first, second = await deals.registered(), await deals.registered()
    async with app.state.sessionmaker() as session:
        with pytest.raises(IntegrityError, match="uq_contracts_registration_number"):
            await session.execute(
                text("UPDATE contracts SET registration_number = :number WHERE id = :id"),
                {"number": first["registration_number"], "id": second["id"]},
            )


async def test_registration_emits_a_complete_statistics_event_and_marks_the_achievement_transacted(
    app: FastAPI, deals: Deals, client: httpx.AsyncClient, publish_achievement: Any
) -> None:
    achievement = await publish_achievement()
    contract = await deals.registered(achievement_id=achievement["id"])
    assert contract["field_code"] == achievement["field_code"]
    event = await payload(app, contract["id"], "contract.registered")
    assert event == {
        "schema_version": 1,
        "contract_id": contract["id"],
        "registration_number": contract["registration_number"],
        "registered_at": datetime.fromisoformat(contract["registered_at"]).isoformat(),
        "registered_on": contract["registered_on"],
        "registration_year": int(contract["registered_on"][:4]),
        "signed_on": contract["signed_on"],
        "contract_type": "license",
        "contract_subtype": "patent_license",
        "field_code": "new_energy",
        "industry_code": "new_energy_vehicles",
        "seller": {
            "organisation_id": str(deals.actors.organisations["a"]),
            "name": "测试机构 a",
            "region_code": "340104",
            "country_code": None,
            "cross_border": False,
            "legal_nature": "university",
        },
        "buyer": {
            "organisation_id": str(deals.actors.organisations["b"]),
            "name": "测试机构 b",
            "region_code": "340104",
            "country_code": None,
            "cross_border": False,
            "legal_nature": "enterprise",
        },
        "registering_side": "seller",
        "local_conversion": True,
        "local_conversion_academic": True,
        "achievement_id": achievement["id"],
        "demand_id": None,
        "broker_id": None,
        "currency": "CNY",
        "amount_unit": "fen",
        "contract_amount_fen": CONTRACT_AMOUNT,
        "technology_amount_fen": CONTRACT_AMOUNT - 20_000_000,
        "commission_fen": None,
    }
    listing = (await client.get(f"/v1/achievements/{achievement['id']}")).json()
    assert listing["status"] == "transacted"
    assert "achievement.transacted" in await topics(app, achievement["id"])


async def test_registration_succeeds_when_the_linked_listing_was_withdrawn_meanwhile(
    deals: Deals, client: httpx.AsyncClient, publish_achievement: Any
) -> None:
    achievement = await publish_achievement()
    contract = await deals.submitted(achievement_id=achievement["id"])
    withdrawn = await client.post(f"/v1/achievements/{achievement['id']}/withdraw", headers=deals.headers("a_admin"))
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await deals.act(contract["id"], "register", "registrar"))["status"] == "registered"
    listing = await client.get(f"/v1/achievements/{achievement['id']}", headers=deals.headers("a_admin"))
    assert listing.json()["status"] == "withdrawn"


async def test_a_listing_must_belong_to_the_right_party(
    deals: Deals, client: httpx.AsyncClient, publish_achievement: Any
) -> None:
    foreign = await publish_achievement(owner="b_admin")
    body = contract_body(deals.actors.organisations["a"], deals.actors.organisations["b"], achievement_id=foreign["id"])
    response = await client.post("/v1/contracts", json=body, headers=deals.headers("a_admin"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "achievement_id"]


async def test_a_registrar_does_not_register_their_own_organisations_contract(deals: Deals) -> None:
    bureau = await deals.actors.add_organisation(
        "bureau", OrganisationKind.government, {"bureau_admin": [Role.org_admin], "bureau_registrar": [Role.registrar]}
    )
    contract = await deals.create(buyer=bureau)
    await deals.act(contract["id"], "request-signatures", "a_member")
    await deals.act(contract["id"], "sign", "a_admin", {"version": 1})
    await deals.act(contract["id"], "sign", "bureau_admin", {"version": 1})
    await deals.act(contract["id"], "submit", "a_member")
    await deals.act(contract["id"], "register", "bureau_registrar", status=403)
    await deals.act(contract["id"], "register", "a_admin", status=403)
    await deals.act(contract["id"], "register", "official", status=404)
    assert (await deals.act(contract["id"], "register", "registrar"))["status"] == "registered"


async def test_a_registered_amount_change_counts_from_its_own_date(
    app: FastAPI, deals: Deals, client: httpx.AsyncClient
) -> None:
    contract = await deals.registered()
    contract_id = contract["id"]
    new_amount = 150_000_000
    change = {
        "kind": "amount_change",
        "reason": "增加第二期技术服务内容",
        "contract_amount_fen": new_amount,
        "non_technical_costs": [{"kind": "materials", "description": "试剂耗材", "amount_fen": 30_000_000}],
        "milestones": milestones(new_amount, 3),
    }
    url = f"/v1/contracts/{contract_id}/amendments"
    bad = await client.post(
        url, json=change | {"milestones": milestones(CONTRACT_AMOUNT)}, headers=deals.headers("a_admin")
    )
    assert bad.status_code == 422
    assert (await client.post(url, json=change, headers=deals.headers("a_member"))).status_code == 403
    proposed = await client.post(url, json=change, headers=deals.headers("a_admin"))
    assert proposed.status_code == 201, proposed.text
    amendment = proposed.json()
    assert (amendment["status"], amendment["sequence"]) == ("proposed", 1)
    assert amendment["contract_amount_delta_fen"] == 50_000_000
    assert amendment["technology_amount_delta_fen"] == 40_000_000
    assert (await client.post(url, json=change, headers=deals.headers("b_admin"))).status_code == 409
    amendment_url = f"{url}/{amendment['id']}"
    assert (await client.post(f"{amendment_url}/confirm", headers=deals.headers("a_admin"))).status_code == 403
    assert (await client.post(f"{amendment_url}/register", headers=deals.headers("registrar"))).status_code == 409
    confirmed = await client.post(f"{amendment_url}/confirm", headers=deals.headers("b_admin"))
    assert confirmed.json()["status"] == "submitted"
    registered = await client.post(f"{amendment_url}/register", headers=deals.headers("registrar"))
    assert registered.status_code == 200, registered.text
    after = (await client.get(f"/v1/contracts/{contract_id}", headers=deals.headers("a_admin"))).json()
    assert (after["contract_amount_fen"], after["technology_amount_fen"]) == (150_000_000, 120_000_000)
    assert (after["registered_contract_amount_fen"], after["registered_technology_amount_fen"]) == (
        100_000_000,
        80_000_000,
    )
    assert after["registered_at"] == contract["registered_at"]
    assert after["status"] == "registered"
    event = await payload(app, contract_id, "contract.amended")
    assert event["contract_amount_delta_fen"] == 50_000_000
    assert event["technology_amount_delta_fen"] == 40_000_000
    assert event["registered_at"] == datetime.fromisoformat(registered.json()["registered_at"]).isoformat()
    assert event["contract_registered_at"] == datetime.fromisoformat(contract["registered_at"]).isoformat()
    assert (event["seller"]["region_code"], event["kind"], event["sequence"]) == ("340104", "amount_change", 1)
    assert (await payload(app, contract_id, "contract.registered"))["contract_amount_fen"] == 100_000_000


async def test_a_registered_termination_ends_the_contract_and_reduces_the_figures(
    app: FastAPI, deals: Deals, client: httpx.AsyncClient
) -> None:
    contract = await deals.registered()
    contract_id = contract["id"]
    await deals.act(contract_id, "start-performance", "a_admin")
    url = f"/v1/contracts/{contract_id}/amendments"
    termination = {
        "kind": "termination",
        "reason": "买方战略调整，双方协商终止，已履行第一期",
        "contract_amount_fen": 50_000_000,
        "milestones": milestones(50_000_000, 1),
    }
    more = termination | {"contract_amount_fen": 200_000_000, "milestones": milestones(200_000_000, 1)}
    assert (await client.post(url, json=more, headers=deals.headers("b_admin"))).status_code == 422
    proposed = (await client.post(url, json=termination, headers=deals.headers("b_admin"))).json()
    await client.post(f"{url}/{proposed['id']}/confirm", headers=deals.headers("a_admin"))
    rejected = await client.post(
        f"{url}/{proposed['id']}/reject", json={"comment": "缺少终止协议"}, headers=deals.headers("registrar")
    )
    assert rejected.json()["status"] == "rejected"
    assert (await client.get(f"/v1/contracts/{contract_id}", headers=deals.headers("a_admin"))).json()[
        "status"
    ] == "performing"
    again = (await client.post(url, json=termination, headers=deals.headers("b_admin"))).json()
    assert again["sequence"] == 2
    await client.post(f"{url}/{again['id']}/confirm", headers=deals.headers("a_admin"))
    await client.post(f"{url}/{again['id']}/register", headers=deals.headers("registrar"))
    ended = (await client.get(f"/v1/contracts/{contract_id}", headers=deals.headers("a_admin"))).json()
    assert ended["status"] == "terminated"
    assert (ended["contract_amount_fen"], ended["technology_amount_fen"]) == (50_000_000, 50_000_000)
    event = await payload(app, contract_id, "contract.amended")
    assert (event["contract_amount_delta_fen"], event["technology_amount_delta_fen"]) == (-50_000_000, -30_000_000)
    assert event["status_after"] == "terminated"
    assert "contract.terminated" in await topics(app, contract_id)
    listed = (await client.get(url, headers=deals.headers("official"))).json()
    assert [item["status"] for item in listed] == ["rejected", "registered"]
    deltas = sum(item["contract_amount_delta_fen"] for item in listed if item["status"] == "registered")
    assert ended["registered_contract_amount_fen"] + deltas == ended["contract_amount_fen"]
    assert (await client.post(url, json=termination, headers=deals.headers("b_admin"))).status_code == 409


async def test_an_amendment_with_an_outside_party_needs_its_paper_signature(
    deals: Deals, client: httpx.AsyncClient
) -> None:
    outside = {"name": "杭州某科技有限公司", "region_code": "330106", "legal_nature": "enterprise"}
    contract = await deals.create(buyer=outside)
    await deals.act(contract["id"], "request-signatures", "a_member")
    await deals.act(contract["id"], "offline-signatures", "a_admin", {"side": "buyer", "version": 1, "note": "纸质"})
    await deals.act(contract["id"], "sign", "a_admin", {"version": 1})
    await deals.act(contract["id"], "submit", "a_admin")
    await deals.act(contract["id"], "register", "registrar")
    url = f"/v1/contracts/{contract['id']}/amendments"
    change = {
        "kind": "amount_change",
        "reason": "追加服务",
        "contract_amount_fen": 120_000_000,
        "milestones": milestones(120_000_000),
    }
    assert (await client.post(url, json=change, headers=deals.headers("a_admin"))).status_code == 422
    submitted = await client.post(
        url, json=change | {"counterparty_signed_offline": True}, headers=deals.headers("a_admin")
    )
    assert submitted.json()["status"] == "submitted"
    assert (await client.post(f"{url}/{submitted.json()['id']}/register", headers=deals.headers("registrar"))).json()[
        "status"
    ] == "registered"
