from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.models import AuditEvent, OutboxEvent, Payment
from tests.marketplace.settlement.conftest import Money

AMOUNT = 100_000_000  # 100 万元, two milestones of 50 万元


async def registered(money: Money, **overrides: Any) -> dict[str, Any]:
    return await money.deals.registered(**overrides)


async def test_a_bank_transfer_confirmed_by_finance_funds_the_milestone_in_escrow(money: Money) -> None:
    contract = await registered(money)
    payment = await money.record_transfer(
        "b_member", purpose="milestone", contract_id=contract["id"], milestone_index=0, amount_fen=50_000_000
    )
    assert payment["status"] == "pending"
    assert await money.balance("b_admin", "escrow") == 0
    confirmed = await money.confirm(payment["id"])
    assert confirmed["status"] == "succeeded"
    assert confirmed["confirmed_via"] == "finance"
    assert await money.balance("b_admin", "escrow") == 50_000_000
    assert await money.platform_balance("bank_clearing") == 50_000_000
    schedule = await money.get(f"/contracts/{contract['id']}/milestones", "a_admin")
    assert [(m["status"], m["funded_fen"]) for m in schedule] == [("funded", 50_000_000), ("open", 0)]


async def test_acceptance_releases_escrow_less_commission_and_fee_exactly(
    money: Money, app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"platform_fee_bp": 125})
    broker_id = str(money.actors["broker"].user_id)
    amount = 100_000_001  # odd, so the split must round
    contract = await registered(
        money,
        contract_amount_fen=amount,
        milestones=[
            {"title": "首付", "amount_fen": 33_333_334},
            {"title": "验收", "amount_fen": amount - 33_333_334},
        ],
        broker_id=broker_id,
        commission={"mode": "rate", "rate_bp": 333, "payer": "seller"},
    )
    for index, milestone in enumerate(await money.get(f"/contracts/{contract['id']}/milestones", "b_admin")):
        await money.pay_milestone(contract["id"], index, milestone["gross_fen"])
    released = [
        await money.post(f"/contracts/{contract['id']}/milestones/{index}/accept", "b_admin") for index in (0, 1)
    ]
    for milestone in released:
        assert milestone["status"] == "released"
        assert milestone["commission_fen"] + milestone["fee_fen"] + milestone["payee_fen"] == milestone["gross_fen"]
    assert sum(m["commission_fen"] for m in released) == contract["commission"]["amount_fen"]
    assert released[0]["fee_fen"] == 416_667  # 33,333,334 × 1.25 % = 416,666.675 → half-up
    assert await money.balance("b_admin", "escrow") == 0
    assert await money.balance("a_admin", "payable") == sum(m["payee_fen"] for m in released)
    assert await money.platform_balance("commissions_payable") == contract["commission"]["amount_fen"]
    assert await money.platform_balance("fee_income") == sum(m["fee_fen"] for m in released)
    again = await client.post(
        f"/v1/settlement/contracts/{contract['id']}/milestones/0/accept", headers=money.headers("b_admin")
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("/illegal-transition")


async def test_a_buyer_paid_commission_is_added_to_what_the_buyer_pays(money: Money) -> None:
    contract = await registered(
        money,
        broker_id=str(money.actors["broker"].user_id),
        commission={"mode": "fixed", "amount_fen": 3_000_001, "payer": "buyer"},
    )
    schedule = await money.get(f"/contracts/{contract['id']}/milestones", "b_admin")
    assert [m["commission_fen"] for m in schedule] == [1_500_001, 1_500_000]
    assert [m["gross_fen"] - m["amount_fen"] for m in schedule] == [1_500_001, 1_500_000]
    await money.pay_milestone(contract["id"], 0, schedule[0]["gross_fen"])
    released = await money.post(f"/contracts/{contract['id']}/milestones/0/accept", "b_admin")
    assert released["payee_fen"] == schedule[0]["amount_fen"]
    assert released["commission_fen"] == 1_500_001


async def test_who_may_pay_accept_and_confirm(money: Money, client: httpx.AsyncClient) -> None:
    contract = await registered(money)
    body = {
        "rail": "bank_transfer",
        "purpose": "milestone",
        "contract_id": contract["id"],
        "milestone_index": 0,
        "amount_fen": 1000,
        "bank_reference": "REF-SELLER-0001",
    }
    seller = await client.post("/v1/settlement/payments", json=body, headers=money.headers("a_member"))
    assert seller.status_code == 403
    stranger = await client.post("/v1/settlement/payments", json=body, headers=money.headers("d_admin"))
    assert stranger.status_code == 404
    payment = await money.record_transfer(
        "b_member", purpose="milestone", contract_id=contract["id"], milestone_index=0, amount_fen=50_000_000
    )
    for actor in ("b_admin", "a_admin", "official"):
        denied = await client.post(
            f"/v1/settlement/payments/{payment['id']}/confirm", headers=money.actors[actor].headers
        )
        assert denied.status_code in (403, 404), actor
    await money.confirm(payment["id"])
    member = await client.post(
        f"/v1/settlement/contracts/{contract['id']}/milestones/0/accept", headers=money.headers("b_member")
    )
    assert member.status_code == 403
    seller_accepts = await client.post(
        f"/v1/settlement/contracts/{contract['id']}/milestones/0/accept", headers=money.headers("a_admin")
    )
    assert seller_accepts.status_code == 403
    hidden = await client.get(f"/v1/settlement/payments/{payment['id']}", headers=money.actors["d_admin"].headers)
    assert hidden.status_code == 404


async def test_a_milestone_cannot_be_overpaid_even_with_transfers_awaiting_confirmation(money: Money) -> None:
    contract = await registered(money)
    kwargs = {"purpose": "milestone", "contract_id": contract["id"], "milestone_index": 1}
    await money.record_transfer("b_member", amount_fen=30_000_000, **kwargs)
    refused = await money.record_transfer("b_member", amount_fen=20_000_001, status=422, **kwargs)
    assert refused["errors"][0]["type"] == "amount_above_outstanding"
    await money.record_transfer("b_member", amount_fen=20_000_000, **kwargs)


async def test_a_rejected_transfer_frees_its_reference_and_its_share(money: Money) -> None:
    contract = await registered(money)
    kwargs = {"purpose": "milestone", "contract_id": contract["id"], "milestone_index": 0}
    payment = await money.record_transfer("b_member", amount_fen=50_000_000, bank_reference="REF-TYPO-0001", **kwargs)
    duplicate = await money.record_transfer(
        "b_admin", purpose="service_fee", amount_fen=1, bank_reference="REF-TYPO-0001", status=409
    )
    assert "流水号" in duplicate["detail"]
    rejected = await money.post(f"/payments/{payment['id']}/reject", "platform_admin", {"reason": "未到账"})
    assert rejected["status"] == "rejected"
    await money.record_transfer("b_member", amount_fen=50_000_000, bank_reference="REF-TYPO-0001", **kwargs)


async def test_a_bank_refund_returns_escrow_and_reopens_the_milestone(money: Money) -> None:
    contract = await registered(money)
    payment = await money.pay_milestone(contract["id"], 0, 50_000_000)
    without_reference = await money.post(
        f"/payments/{payment['id']}/refunds", "platform_admin", {"reason": "合同变更"}, status=422
    )
    assert without_reference["errors"][0]["loc"] == ["body", "bank_reference"]
    refund = await money.post(
        f"/payments/{payment['id']}/refunds",
        "platform_admin",
        {"reason": "合同变更", "amount_fen": 20_000_000, "bank_reference": "REFUND-0001"},
        status=201,
    )
    assert refund["status"] == "succeeded"
    assert (await money.get(f"/payments/{payment['id']}", "b_admin"))["status"] == "partially_refunded"
    assert await money.balance("b_admin", "escrow") == 30_000_000
    schedule = await money.get(f"/contracts/{contract['id']}/milestones", "b_admin")
    assert (schedule[0]["status"], schedule[0]["funded_fen"]) == ("open", 30_000_000)
    await money.pay_milestone(contract["id"], 0, 20_000_000)
    await money.post(f"/contracts/{contract['id']}/milestones/0/accept", "b_admin")
    refused = await money.post(
        f"/payments/{payment['id']}/refunds",
        "platform_admin",
        {"reason": "太晚了", "bank_reference": "REFUND-0002"},
        status=409,
    )
    assert "放款" in refused["detail"]


async def test_every_money_change_is_audited_and_evented(money: Money, app: FastAPI) -> None:
    contract = await registered(money)
    payment = await money.pay_milestone(contract["id"], 0, 50_000_000)
    await money.post(f"/contracts/{contract['id']}/milestones/0/accept", "b_admin")
    async with app.state.sessionmaker() as session:
        topics = list(
            await session.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.topic.like("settlement.%")).order_by(OutboxEvent.id)
            )
        )
        audited = set(await session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == payment["id"])))
    assert topics == [
        "settlement.payment_created",
        "settlement.milestone_funded",
        "settlement.payment_succeeded",
        "settlement.milestone_released",
    ]
    assert audited == {"settlement.payment_created", "settlement.payment_succeeded"}


async def test_the_same_idempotency_key_sent_concurrently_creates_one_payment(
    money: Money, client: httpx.AsyncClient, app: FastAPI
) -> None:
    contract = await registered(money)
    key = uuid.uuid4().hex
    body = {
        "rail": "bank_transfer",
        "purpose": "milestone",
        "contract_id": contract["id"],
        "milestone_index": 0,
        "amount_fen": 50_000_000,
        "bank_reference": "REF-CONCURRENT-01",
    }
    headers = money.headers("b_member", key)
    responses = await asyncio.gather(
        *(client.post("/v1/settlement/payments", json=body, headers=headers) for _ in range(8))
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    assert sum(response.headers.get("Idempotent-Replayed") == "true" for response in responses) == 7
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1


@pytest.mark.parametrize("amount_fen", [0, -1, 1.5, "100"])
async def test_money_is_a_positive_integer_of_fen(money: Money, amount_fen: object) -> None:
    response = await money.client.post(
        "/v1/settlement/payments",
        json={"purpose": "service_fee", "amount_fen": amount_fen, "bank_reference": "REF-X-0001"},
        headers=money.headers("b_admin"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
