from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.marketplace.contracts import terms
from services.marketplace.kit.errors import ValidationProblem
from tests.marketplace.contracts.conftest import CONTRACT_AMOUNT, Deals, contract_body, milestones


def test_the_technology_amount_is_the_contract_amount_less_non_technical_costs() -> None:
    lines = [{"amount_fen": 30_000_000}, {"amount_fen": 12_345}]
    amounts = terms.check_amounts(CONTRACT_AMOUNT, lines, milestones(CONTRACT_AMOUNT), ["body"])
    assert (amounts.non_technical_amount_fen, amounts.technology_amount_fen) == (30_012_345, 69_987_655)
    assert terms.check_amounts(500, [{"amount_fen": 500}], [], ["body"]).technology_amount_fen == 0
    with pytest.raises(ValidationProblem) as above:
        terms.check_amounts(500, [{"amount_fen": 501}], [], ["body"])
    assert above.value.errors is not None
    assert above.value.errors[0].loc == ["body", "non_technical_costs"]
    with pytest.raises(ValidationProblem) as unbalanced:
        terms.check_amounts(500, [], [{"amount_fen": 250}, {"amount_fen": 249}], ["body"])
    assert unbalanced.value.errors is not None
    assert unbalanced.value.errors[0].loc == ["body", "milestones"]


def test_a_commission_rate_applies_to_the_contract_amount_half_up() -> None:
    assert terms.commission_fen("rate", 250, None, 1_000_001) == 25_000  # 25 000.025 fen
    assert terms.commission_fen("rate", 250, None, 1_000_020) == 25_001  # 25 000.5 fen rounds up
    assert terms.commission_fen("fixed", None, 88_800, 1_000_000) == 88_800
    assert terms.commission_fen(None, None, None, 1_000_000) is None


async def test_the_api_refuses_impossible_amounts_and_writes_nothing(client: httpx.AsyncClient, deals: Deals) -> None:
    a, b = deals.actors.organisations["a"], deals.actors.organisations["b"]
    headers = deals.headers("a_admin")
    cases = [
        (
            contract_body(
                a, b, non_technical_costs=[{"kind": "equipment", "description": "设备", "amount_fen": 10**8 + 1}]
            ),
            "non_technical_costs",
        ),
        (contract_body(a, b, milestones=milestones(CONTRACT_AMOUNT - 1)), "milestones"),
        (contract_body(a, b, contract_amount_fen=1000.0), "contract_amount_fen"),
        (contract_body(a, b, contract_amount_fen="1000"), "contract_amount_fen"),
        (contract_body(a, b, contract_amount_fen=0, milestones=[]), "contract_amount_fen"),
        (contract_body(a, b, contract_subtype="patent_right"), "contract_subtype"),
        (contract_body(a, b, valid_from="2027-01-01", valid_until="2026-01-01"), "valid_until"),
        (contract_body(a, b, commission={"mode": "rate", "rate_bp": 300, "payer": "buyer"}), "commission"),
    ]
    for body, field in cases:
        response = await client.post("/v1/contracts", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        assert any(field in error["loc"] for error in response.json()["errors"]), (field, response.json())
    assert (await client.get("/v1/contracts", headers=headers)).json()["items"] == []


async def test_editing_the_amount_keeps_the_schedule_exact(client: httpx.AsyncClient, deals: Deals) -> None:
    contract = await deals.create()
    url = f"/v1/contracts/{contract['id']}"
    headers = deals.headers("a_member")
    alone = await client.patch(url, json={"contract_amount_fen": 120_000_000}, headers=headers)
    assert alone.status_code == 422
    assert alone.json()["errors"][0]["loc"] == ["body", "milestones"]
    together = await client.patch(
        url, json={"contract_amount_fen": 120_000_000, "milestones": milestones(120_000_000, 4)}, headers=headers
    )
    assert together.status_code == 200, together.text
    assert (together.json()["contract_amount_fen"], together.json()["technology_amount_fen"]) == (
        120_000_000,
        100_000_000,
    )
    costs_above = await client.patch(
        url,
        json={"non_technical_costs": [{"kind": "materials", "description": "材料", "amount_fen": 120_000_001}]},
        headers=headers,
    )
    assert costs_above.status_code == 422
    nulls = await client.patch(url, json={"contract_amount_fen": None}, headers=headers)
    assert nulls.status_code == 422


async def test_a_brokers_commission_is_part_of_the_signed_terms(client: httpx.AsyncClient, deals: Deals) -> None:
    broker_id = str(deals.actors["broker"].user_id)
    commission = {"mode": "rate", "rate_bp": 300, "payer": "buyer"}
    contract = await deals.create(broker_id=broker_id, commission=commission)
    assert contract["commission"] == {"mode": "rate", "rate_bp": 300, "amount_fen": 3_000_000, "payer": "buyer"}
    url = f"/v1/contracts/{contract['id']}"
    too_much = {"mode": "fixed", "amount_fen": CONTRACT_AMOUNT + 1, "payer": "seller"}
    refused = await client.patch(url, json={"commission": too_much}, headers=deals.headers("broker"))
    assert refused.status_code == 422
    fixed = await client.patch(
        url,
        json={"commission": {"mode": "fixed", "amount_fen": 5_000_000, "payer": "seller"}},
        headers=deals.headers("broker"),
    )
    assert fixed.json()["commission"]["amount_fen"] == 5_000_000
    assert fixed.json()["version"] == 2
    not_a_broker = await client.patch(
        url, json={"broker_id": str(deals.actors["d_admin"].user_id)}, headers=deals.headers("a_admin")
    )
    assert not_a_broker.status_code == 422
    broker_swaps = await client.patch(url, json={"broker_id": None}, headers=deals.headers("broker"))
    assert broker_swaps.status_code == 403
    dropped = await client.patch(url, json={"broker_id": None, "commission": None}, headers=deals.headers("a_admin"))
    assert (dropped.json()["broker_id"], dropped.json()["commission"]) == (None, None)


async def test_the_database_holds_the_amount_rules_too(app: FastAPI, deals: Deals) -> None:
    contract = await deals.create()
    statements = [
        "UPDATE contracts SET technology_amount_fen = technology_amount_fen + 1 WHERE id = :id",
        "UPDATE contracts SET contract_amount_fen = contract_amount_fen + 1 WHERE id = :id",
        "UPDATE contracts SET non_technical_costs = '[]'::jsonb WHERE id = :id",
    ]
    for statement in statements:
        async with app.state.sessionmaker() as session:
            with pytest.raises(IntegrityError, match="ck_contracts_"):
                await session.execute(text(statement), {"id": contract["id"]})
