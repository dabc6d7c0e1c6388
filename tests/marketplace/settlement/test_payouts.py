"""Payouts: an organisation's payable or a broker's commissions leave the platform on a rail.

Stripe Connect transfers are not implemented by localstripe; they are checked against stripe-mock (Stripe's
own mock of its API) and skip with the reason when it is not installed.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tests.marketplace.settlement.conftest import STRIPE_API_KEY, Money


async def released_deal(money: Money) -> dict[str, Any]:
    contract = await money.deals.registered(
        broker_id=str(money.actors["broker"].user_id),
        commission={"mode": "fixed", "amount_fen": 2_000_000, "payer": "seller"},
    )
    schedule = await money.get(f"/contracts/{contract['id']}/milestones", "b_admin")
    await money.pay_milestone(contract["id"], 0, schedule[0]["gross_fen"])
    await money.post(f"/contracts/{contract['id']}/milestones/0/accept", "b_admin")
    return contract


async def test_finance_pays_out_a_payable_and_a_brokers_commission_by_bank_transfer(money: Money) -> None:
    await released_deal(money)
    payable = await money.balance("a_admin", "payable")
    assert payable == 50_000_000 - 1_000_000
    too_much = await money.post(
        "/payouts",
        "platform_admin",
        {"organisation_id": str(money.actors.organisations["a"]), "amount_fen": payable + 1, "bank_reference": "OUT-1"},
        status=409,
    )
    assert too_much["type"].endswith("/insufficient-funds")
    paid = await money.post(
        "/payouts",
        "platform_admin",
        {"organisation_id": str(money.actors.organisations["a"]), "amount_fen": payable, "bank_reference": "OUT-2"},
        status=201,
    )
    assert paid["status"] == "paid"
    assert await money.balance("a_admin", "payable") == 0
    broker = str(money.actors["broker"].user_id)
    refused = await money.post(
        "/payouts",
        "platform_admin",
        {"source": "commissions", "broker_id": broker, "amount_fen": 1_000_001, "bank_reference": "OUT-3"},
        status=409,
    )
    assert refused["owed_fen"] == 1_000_000
    await money.post(
        "/payouts",
        "platform_admin",
        {"source": "commissions", "broker_id": broker, "amount_fen": 1_000_000, "bank_reference": "OUT-4"},
        status=201,
    )
    assert await money.platform_balance("commissions_payable") == 0
    assert [p["amount_fen"] for p in (await money.get("/payouts", "broker"))["items"]] == [1_000_000]
    assert [p["amount_fen"] for p in (await money.get("/payouts", "a_admin"))["items"]] == [payable]
    await money.post(
        "/payouts",
        "a_admin",
        {"organisation_id": str(money.actors.organisations["a"]), "amount_fen": 1, "bank_reference": "OUT-5"},
        status=403,
    )


async def test_a_stripe_connect_payout_against_stripe_mock(money: Money, app: FastAPI, stripe_mock: str) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"stripe_api_key": SecretStr(STRIPE_API_KEY), "stripe_api_base": stripe_mock}
    )
    await released_deal(money)
    paid = await money.post(
        "/payouts",
        "platform_admin",
        {
            "rail": "stripe",
            "organisation_id": str(money.actors.organisations["a"]),
            "amount_fen": 10_000_000,
            "stripe_account_id": "acct_1TechMarketSeller",
        },
        status=201,
    )
    assert paid["status"] == "paid"
    assert paid["stripe_transfer_id"].startswith("tr_")
    assert await money.balance("a_admin", "payable") == 49_000_000 - 10_000_000
    assert await money.platform_balance("stripe_clearing") == -10_000_000


@pytest.mark.parametrize("rail_fields", [{"rail": "stripe"}, {"rail": "stripe", "bank_reference": "X-0001"}])
async def test_a_stripe_payout_names_a_connected_account(money: Money, rail_fields: dict[str, str]) -> None:
    body = {"organisation_id": str(money.actors.organisations["a"]), "amount_fen": 1, **rail_fields}
    problem = await money.post("/payouts", "platform_admin", body, status=422)
    assert "stripe_account_id" in problem["errors"][0]["msg"]
