from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.models import OutboxEvent
from services.marketplace.models.identity import OrganisationKind, Role
from tests.support import Actors, achievement_body

CONTRACT_AMOUNT = 100_000_000  # 100 万元


def milestones(total: int, parts: int = 2) -> list[dict[str, Any]]:
    share = total // parts
    amounts = [share] * (parts - 1) + [total - share * (parts - 1)]
    return [{"title": f"第 {index + 1} 期", "amount_fen": amount} for index, amount in enumerate(amounts)]


def contract_body(seller: object, buyer: object, **overrides: object) -> dict[str, Any]:
    """A complete contract body: seller and buyer are organisation ids or outside-party dicts."""
    amount = overrides.get("contract_amount_fen", CONTRACT_AMOUNT)

    def party(value: object) -> object:
        return value if isinstance(value, dict) else {"organisation_id": str(value)}

    body: dict[str, Any] = {
        "title": "固态电解质制备技术专利实施许可合同",
        "contract_type": "license",
        "contract_subtype": "patent_license",
        "subject": "许可买方在合肥市实施专利 ZL201811564288.X，独占许可，期限五年。",
        "seller": party(seller),
        "buyer": party(buyer),
        "contract_amount_fen": amount,
        "non_technical_costs": [{"kind": "equipment", "description": "中试设备一套", "amount_fen": 20_000_000}],
        "milestones": milestones(amount if isinstance(amount, int) else CONTRACT_AMOUNT),
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
    }
    body.update(overrides)
    return body


async def topics(app: FastAPI, aggregate_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == aggregate_id).order_by(OutboxEvent.id)
        )
        return list(rows)


async def payload(app: FastAPI, aggregate_id: str, topic: str) -> dict[str, Any]:
    async with app.state.sessionmaker() as session:
        found = await session.scalar(
            select(OutboxEvent.payload)
            .where(OutboxEvent.aggregate_id == aggregate_id, OutboxEvent.topic == topic)
            .order_by(OutboxEvent.id.desc())
        )
    assert found is not None, topic
    return found


@dataclass
class Deals:
    """Drives contracts through their lifecycle over HTTP; A (university) sells to B (enterprise) by default."""

    client: httpx.AsyncClient
    actors: Actors

    def headers(self, name: str) -> dict[str, str]:
        return self.actors[name].headers

    async def create(self, author: str = "a_member", **overrides: object) -> dict[str, Any]:
        seller = overrides.pop("seller", self.actors.organisations["a"])
        buyer = overrides.pop("buyer", self.actors.organisations["b"])
        response = await self.client.post(
            "/v1/contracts", json=contract_body(seller, buyer, **overrides), headers=self.headers(author)
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def act(self, contract_id: str, action: str, actor: str, body: object = None, status: int = 200) -> Any:
        response = await self.client.post(
            f"/v1/contracts/{contract_id}/{action}", json=body, headers=self.headers(actor)
        )
        assert response.status_code == status, (action, actor, response.text)
        return response.json()

    async def signed(self, **overrides: object) -> dict[str, Any]:
        contract = await self.create(**overrides)
        await self.act(contract["id"], "request-signatures", "a_member")
        await self.act(contract["id"], "sign", "a_admin", {"version": contract["version"]})
        signed: dict[str, Any] = await self.act(contract["id"], "sign", "b_admin", {"version": contract["version"]})
        assert signed["status"] == "signed"
        return signed

    async def submitted(self, **overrides: object) -> dict[str, Any]:
        contract = await self.signed(**overrides)
        submitted: dict[str, Any] = await self.act(contract["id"], "submit", "a_member")
        return submitted

    async def registered(self, **overrides: object) -> dict[str, Any]:
        contract = await self.submitted(**overrides)
        registered: dict[str, Any] = await self.act(contract["id"], "register", "registrar")
        return registered


@pytest.fixture
async def deals(client: httpx.AsyncClient, actors: Actors) -> Deals:
    """The standard cast plus a contract registry (registrar) and the broker's certified profile."""
    await actors.add_organisation("registry", OrganisationKind.government, {"registrar": [Role.registrar]})
    profile = await client.put(
        "/v1/brokers/me",
        json={"certification_number": "JSJJR-2026-0001", "field_codes": ["new_energy"], "region_codes": ["340100"]},
        headers=actors["broker"].headers,
    )
    assert profile.status_code == 200, profile.text
    return Deals(client, actors)


@pytest.fixture
def publish_achievement(client: httpx.AsyncClient, actors: Actors) -> Any:
    async def run(owner: str = "a_admin") -> dict[str, Any]:
        created = await client.post("/v1/achievements", json=achievement_body(), headers=actors[owner].headers)
        assert created.status_code == 201, created.text
        url = f"/v1/achievements/{created.json()['id']}"
        assert (await client.post(f"{url}/submit", headers=actors[owner].headers)).status_code == 200
        approved = await client.post(f"{url}/approve", headers=actors["platform_admin"].headers)
        assert approved.status_code == 200, approved.text
        published: dict[str, Any] = approved.json()
        return published

    return run
