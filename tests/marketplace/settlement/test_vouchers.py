"""Innovation vouchers (合创券): issued on the fund, spent on a service contract, expired back to the fund."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import FastAPI

from services.marketplace.db import unit_of_work
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.settlement import vouchers
from tests.marketplace.settlement.conftest import Money


async def service_contract(money: Money) -> dict[str, Any]:
    return await money.deals.registered(
        title="电池包热失控检测技术服务合同",
        contract_type="service",
        contract_subtype="general",
        contract_amount_fen=300_000,
        non_technical_costs=[],
        milestones=[{"title": "服务费", "amount_fen": 300_000}],
    )


async def issue(money: Money, budget: int, **overrides: Any) -> dict[str, Any]:
    today = shanghai_date(utcnow())
    body = {
        "holder_organisation_id": str(money.actors.organisations["b"]),
        "title": "2026 年度合创券",
        "budget_fen": budget,
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=90)).isoformat(),
    } | overrides
    return await money.post("/vouchers", "official", body, status=201)


async def test_a_voucher_pays_the_provider_when_the_sme_accepts_the_service(money: Money) -> None:
    await money.deposit("official", 1_000_000, purpose="voucher_fund")
    voucher = await issue(money, 400_000)
    fund = (await money.accounts("official"))["voucher_fund"]
    assert (fund["balance_fen"], fund["held_fen"]) == (1_000_000, 400_000)
    contract = await service_contract(money)
    redemption = await money.post(
        f"/vouchers/{voucher['id']}/redemptions", "b_admin", {"contract_id": contract["id"], "amount_fen": 250_000}, 201
    )
    too_much = await money.post(
        f"/vouchers/{voucher['id']}/redemptions", "b_admin", {"contract_id": contract["id"], "amount_fen": 150_001}, 422
    )
    assert "余额" in too_much["detail"]
    await money.post(f"/vouchers/{voucher['id']}/redemptions/{redemption['id']}/accept", "b_member", status=403)
    paid = await money.post(f"/vouchers/{voucher['id']}/redemptions/{redemption['id']}/accept", "b_admin")
    assert paid["status"] == "paid"
    assert await money.balance("a_admin", "payable") == 250_000
    fund = (await money.accounts("official"))["voucher_fund"]
    assert (fund["balance_fen"], fund["held_fen"]) == (750_000, 150_000)
    shown = await money.get(f"/vouchers/{voucher['id']}", "b_admin")
    assert (shown["committed_fen"], shown["paid_fen"]) == (250_000, 250_000)
    await money.post(f"/vouchers/{voucher['id']}/redemptions/{redemption['id']}/accept", "b_admin", status=409)


async def test_a_voucher_needs_a_funded_fund_and_an_official(money: Money) -> None:
    refused = await money.post(
        "/vouchers",
        "official",
        {
            "holder_organisation_id": str(money.actors.organisations["b"]),
            "title": "没有资金的合创券",
            "budget_fen": 1,
            "valid_from": "2026-01-01",
            "valid_until": "2099-12-31",
        },
        status=409,
    )
    assert refused["type"].endswith("/insufficient-funds")
    await money.post(
        "/vouchers",
        "b_admin",
        {
            "holder_organisation_id": str(money.actors.organisations["b"]),
            "title": "自己发的合创券",
            "budget_fen": 1,
            "valid_from": "2026-01-01",
            "valid_until": "2099-12-31",
        },
        status=409,
    )


async def test_an_expired_voucher_returns_what_no_contract_was_assigned(money: Money, app: FastAPI) -> None:
    await money.deposit("official", 1_000_000, purpose="voucher_fund")
    voucher = await issue(money, 600_000)
    contract = await service_contract(money)
    redemption = await money.post(
        f"/vouchers/{voucher['id']}/redemptions", "b_admin", {"contract_id": contract["id"], "amount_fen": 200_000}, 201
    )
    valid_until = date.fromisoformat(voucher["valid_until"])
    async with unit_of_work(app.state.sessionmaker) as session:
        assert await vouchers.expire_due_vouchers(session, valid_until) == 0
        assert await vouchers.expire_due_vouchers(session, valid_until + timedelta(days=1)) == 1
    assert (await money.get(f"/vouchers/{voucher['id']}", "official"))["status"] == "expired"
    fund = (await money.accounts("official"))["voucher_fund"]
    assert (fund["balance_fen"], fund["held_fen"]) == (1_000_000, 200_000)
    await money.post(f"/vouchers/{voucher['id']}/redemptions/{redemption['id']}/accept", "b_admin")
    fund = (await money.accounts("official"))["voucher_fund"]
    assert (fund["balance_fen"], fund["held_fen"]) == (800_000, 0)
    assert await money.balance("a_admin", "payable") == 200_000
