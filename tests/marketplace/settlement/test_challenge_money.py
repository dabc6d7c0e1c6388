"""The ledger API the challenges domain calls: escrow reserve/post/void and government payables."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.db import unit_of_work
from services.marketplace.kit.errors import IllegalTransition
from services.marketplace.models import OutboxEvent
from services.marketplace.settlement import escrow, ledger
from tests.marketplace.settlement.conftest import Money


async def test_a_reward_is_reserved_paid_by_tranches_and_the_rest_voided(money: Money, app: FastAPI) -> None:
    poster, winner = money.actors.organisations["b"], money.actors.organisations["a"]
    await money.deposit("b_admin", 1_000_000)
    async with unit_of_work(app.state.sessionmaker) as session:
        with pytest.raises(ledger.InsufficientFunds):
            await escrow.reserve_escrow(
                session, organisation_id=poster, payee_organisation_id=winner, amount_fen=1_000_001, reference="x"
            )
    async with unit_of_work(app.state.sessionmaker) as session:
        reward = await escrow.reserve_escrow(
            session,
            organisation_id=poster,
            payee_organisation_id=winner,
            amount_fen=900_000,
            reference="challenge:1:reward",
            details={"challenge_id": "1"},
        )
    accounts = await money.accounts("b_admin")
    assert (accounts["escrow"]["balance_fen"], accounts["escrow"]["held_fen"]) == (1_000_000, 900_000)
    async with unit_of_work(app.state.sessionmaker) as session:
        first = await escrow.post_escrow(session, pending_id=reward.id, amount_fen=300_000)
        assert first.successor is not None
        second = await escrow.post_escrow(session, pending_id=first.successor.id, amount_fen=200_000)
        assert second.successor is not None
        live = await escrow.live_pending(session, reward.id)
        assert live is not None
        assert live.id == second.successor.id
        await escrow.void_escrow(session, pending_id=live.id)
        with pytest.raises(IllegalTransition):
            await escrow.void_escrow(session, pending_id=live.id)
        assert await escrow.live_pending(session, reward.id) is None
    accounts = await money.accounts("b_admin")
    assert (accounts["escrow"]["balance_fen"], accounts["escrow"]["held_fen"]) == (500_000, 0)
    assert await money.balance("a_admin", "payable") == 500_000
    async with app.state.sessionmaker() as session:
        topics = list(
            await session.scalars(
                select(OutboxEvent.topic).where(OutboxEvent.topic.like("settlement.escrow_%")).order_by(OutboxEvent.id)
            )
        )
    assert topics == [
        "settlement.escrow_reserved",
        "settlement.escrow_posted",
        "settlement.escrow_reserved",
        "settlement.escrow_posted",
        "settlement.escrow_reserved",
        "settlement.escrow_voided",
    ]


async def test_a_subsidy_tranche_is_a_government_payable_paid_by_a_confirmed_transfer(
    money: Money, app: FastAPI
) -> None:
    government, team = money.actors.organisations["gov"], money.actors.organisations["a"]
    async with unit_of_work(app.state.sessionmaker) as session:
        payable = await escrow.create_government_payable(
            session,
            government_organisation_id=government,
            payee_organisation_id=team,
            amount_fen=2_500_000,
            reference="challenge:1:subsidy:first",
            description="首笔奖补",
        )
    listed = await money.get("/government-payables", "official")
    assert [(item["id"], item["status"]) for item in listed["items"]] == [(str(payable.id), "open")]
    assert (await money.get("/government-payables", "a_admin"))["items"][0]["amount_fen"] == 2_500_000
    assert (await money.get("/government-payables", "d_admin"))["items"] == []
    wrong = await money.record_transfer(
        "official", purpose="government_payable", government_payable_id=str(payable.id), amount_fen=1, status=422
    )
    assert wrong["errors"][0]["loc"] == ["body", "amount_fen"]
    payment = await money.record_transfer(
        "official", purpose="government_payable", government_payable_id=str(payable.id), amount_fen=2_500_000
    )
    await money.confirm(payment["id"])
    assert (await money.get("/government-payables", "official"))["items"][0]["status"] == "paid"
    assert await money.balance("a_admin", "payable") == 2_500_000
    government_accounts = await money.accounts("official")
    assert government_accounts["subsidies_payable"]["balance_fen"] == 0
    assert government_accounts["receivable"]["balance_fen"] == 0
    again = await money.record_transfer(
        "official",
        purpose="government_payable",
        government_payable_id=str(payable.id),
        amount_fen=2_500_000,
        status=409,
    )
    assert "已支付" in again["detail"]
