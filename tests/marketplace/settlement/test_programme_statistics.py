"""Money that arrived through the platform appears in the officials' programme figures, net of refunds."""

from __future__ import annotations

import httpx

from tests.marketplace.settlement.conftest import Money


async def test_confirmed_payments_count_as_money_settled(client: httpx.AsyncClient, money: Money) -> None:
    official = money.actors["official"].headers
    before = (await client.get("/v1/statistics/programme", headers=official)).json()
    await money.deposit("b_admin", 123_456)
    pending = await money.record_transfer(
        "b_admin", amount_fen=5_000, purpose="escrow_deposit", bank_reference="HF-STAT-0001"
    )
    after = (await client.get("/v1/statistics/programme", headers=official)).json()
    assert after["money_settled_fen"] - before["money_settled_fen"] == 123_456
    assert after["payments_settled"] - before["payments_settled"] == 1
    assert pending["status"] == "pending"
