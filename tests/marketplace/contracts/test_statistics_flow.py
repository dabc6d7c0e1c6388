"""Registered contracts reach the statistics through the outbox, and `stats verify` agrees with the contracts."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from services.marketplace.cli import app as cli
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.outbox.relay import OutboxRelay
from services.marketplace.statistics.verify import verify_statistics
from services.marketplace.worker import build_handler_registry
from tests.marketplace.contracts.conftest import Deals, milestones


async def relay(app: FastAPI) -> None:
    await OutboxRelay(
        app.state.sessionmaker, build_handler_registry(app.state.search), max_attempts=3, backoff_base_seconds=1
    ).relay_batch(1000)


async def test_registrations_and_amendments_flow_into_statistics_and_verify(
    app: FastAPI, client: httpx.AsyncClient, deals: Deals, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await deals.registered()
    await deals.registered(contract_amount_fen=300_000_000, milestones=milestones(300_000_000))
    url = f"/v1/contracts/{first['id']}/amendments"
    change = {
        "kind": "amount_change",
        "reason": "增加服务内容",
        "contract_amount_fen": 150_000_000,
        "non_technical_costs": [{"kind": "materials", "description": "耗材", "amount_fen": 30_000_000}],
        "milestones": milestones(150_000_000, 3),
    }
    proposed = (await client.post(url, json=change, headers=deals.headers("a_admin"))).json()
    await client.post(f"{url}/{proposed['id']}/confirm", headers=deals.headers("b_admin"))
    assert (
        await client.post(f"{url}/{proposed['id']}/register", headers=deals.headers("registrar"))
    ).status_code == 200
    await relay(app)

    async with app.state.sessionmaker() as session:
        report = await verify_statistics(session)
    assert report.consistent, report
    year = shanghai_date(utcnow()).year
    figures = (
        await client.get(
            "/v1/statistics/contracts", params={"region": "3401", "year": year}, headers=deals.headers("official")
        )
    ).json()
    # A (340104) sells to B (340104 region of the cast): both inside Hefei, so gross counts each twice.
    exported = figures["totals"]["exported"]
    assert exported["contract_count"] == 2
    assert exported["contract_amount_fen"] == 100_000_000 + 300_000_000 + 50_000_000
    assert figures["totals"]["gross"]["contract_amount_fen_text"] == str(2 * exported["contract_amount_fen"])
    assert figures["totals"]["union"]["contract_count"] == 2
    dashboard = (await client.get("/v1/statistics/dashboard", headers=deals.headers("official"))).json()
    value = next(item for item in dashboard["indicators"] if item["code"] == "tech_contract_absorbed_exported")
    assert value["value"] == "0.0900"  # 9,000,000 元 = 0.09 亿元

    monkeypatch.setenv("TECHMARKET_DATABASE_URL", database_url)
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["stats", "verify"])
    assert result.exit_code == 0, result.output
    assert "statistics match" in result.output
