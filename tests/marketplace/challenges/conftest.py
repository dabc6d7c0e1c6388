"""A 揭榜挂帅 board: B (enterprise) posts, A (university) and D (enterprise) apply, a panel of experts reviews.

The board drives challenges over HTTP; the worker's steps (closing at the deadline, awarding after 公示) run
through the same service functions the timers call, at a chosen instant.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.challenges import service
from services.marketplace.db import unit_of_work
from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models import Challenge, OutboxEvent
from services.marketplace.models.identity import OrganisationKind, Role
from services.marketplace.outbox.relay import OutboxRelay
from services.marketplace.worker import build_handler_registry
from tests.marketplace.contracts.conftest import contract_body
from tests.support import Actors

REWARD = 300_000_000  # 300 万元
POSTER_FUNDED = 200_000_000  # 200 万元 of it self-funded
CRITERIA = [
    {"code": "technical", "name": "技术方案", "weight": 60},
    {"code": "team", "name": "团队能力", "weight": 40},
]
ATTACHMENT = {
    "file_name": "三方协议.pdf",
    "media_type": "application/pdf",
    "size_bytes": 102400,
    "sha256": "a" * 64,
}

SCORE = {"scores": {"technical": 50, "team": 50}}
# Well-formed bodies of the challenge routes, so an access check is never answered by a 422.
CHALLENGE_BODIES: dict[str, Any] = {
    "update_challenge": {"title": "越权修改"},
    "return_challenge": {"comment": "越权"},
    "cancel_challenge": {"reason": "越权"},
    "assign_challenge_expert": {"expert_id": str(uuid.UUID(int=1))},
    "shortlist_challenge_applications": {"application_ids": [str(uuid.UUID(int=1))], "reason": "越权"},
    "start_challenge_public_notice": {"winner_application_id": str(uuid.UUID(int=1))},
    "file_challenge_objection": {"body": "越权"},
    "resolve_challenge_objection": {"upheld": True, "resolution": "越权"},
    "link_challenge_contract": {"contract_id": str(uuid.UUID(int=1)), "agreement": ATTACHMENT},
    "deliver_challenge_milestone": {"note": "越权", "attachments": []},
    "return_challenge_milestone": {"comment": "越权"},
    "decide_challenge_acceptance": {"passed": True, "comment": "越权"},
    "terminate_challenge": {"reason": "越权"},
    "create_challenge_application": {"proposal": "越权"},
    "update_challenge_application": {"proposal": "越权"},
    "return_challenge_application": {"comment": "越权"},
    "reject_challenge_application": {"reason": "越权"},
    "declare_challenge_conflict": {"reason": "越权"},
    "score_challenge_application": SCORE,
}


def today() -> date:
    return shanghai_date(utcnow())


def challenge_body(**overrides: Any) -> dict[str, Any]:
    """A complete challenge whose applications close at the end of today (Asia/Shanghai)."""
    start = today()
    body: dict[str, Any] = {
        "title": "高镍正极材料循环寿命提升技术攻关",
        "problem": "现有高镍三元正极材料在 45℃ 循环 1000 次后容量保持率不足 80%，需要解决表面副反应与微裂纹问题。",
        "technical_indicators": "45℃ 1C/1C 循环 1000 次容量保持率 ≥ 90%；首效 ≥ 90%；成本增加 ≤ 5%",
        "field_code": "new_energy",
        "industry_code": "new_energy_vehicles",
        "keywords": ["高镍正极", "循环寿命", "固态电解质"],
        "delivery_deadline": (start + timedelta(days=400)).isoformat(),
        "ip_ownership": "shared",
        "reward_fen": REWARD,
        "poster_funded_fen": POSTER_FUNDED,
        "eligibility": {"organisation_kinds": [], "region_prefixes": [], "min_qualifications": "具有省级以上研发平台"},
        "application_deadline": start.isoformat(),
        "notice_days": 5,
        "milestones": [
            {"title": "首付款：签约启动", "due_on": (start + timedelta(days=30)).isoformat(), "amount_fen": 90_000_000},
            {"title": "中期：小试验证", "due_on": (start + timedelta(days=180)).isoformat(), "amount_fen": 90_000_000},
            {"title": "验收：中试验证", "due_on": (start + timedelta(days=360)).isoformat(), "amount_fen": 120_000_000},
        ],
        "review_criteria": CRITERIA,
    }
    body.update(overrides)
    return body


def application_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "proposal": "采用单晶化与快离子导体包覆相结合的技术路线，已完成实验室验证。",
        "team": [{"name": "李教授", "title": "教授", "role": "负责人"}],
        "qualifications": "省级重点实验室",
        "attachments": [
            {"file_name": "方案.pdf", "media_type": "application/pdf", "size_bytes": 2048, "sha256": "b" * 64}
        ],
    }
    body.update(overrides)
    return body


@dataclass
class Board:
    app: FastAPI
    client: httpx.AsyncClient
    actors: Actors
    programme_id: str

    def headers(self, name: str) -> dict[str, str]:
        return self.actors[name].headers

    async def call(self, method: str, path: str, actor: str | None, body: object = None, status: int = 200) -> Any:
        headers = self.headers(actor) if actor else {}
        response = await self.client.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (method, path, actor, response.text)
        return response.json() if response.content else None

    async def act(self, challenge_id: str, action: str, actor: str, body: object = None, status: int = 200) -> Any:
        return await self.call("POST", f"/v1/challenges/{challenge_id}/{action}", actor, body, status)

    async def get(self, challenge_id: str, actor: str | None = "b_admin", suffix: str = "", status: int = 200) -> Any:
        return await self.call("GET", f"/v1/challenges/{challenge_id}{suffix}", actor, status=status)

    async def create(self, poster: str = "b_member", **overrides: Any) -> dict[str, Any]:
        overrides.setdefault("subsidy_programme_id", self.programme_id)
        created: dict[str, Any] = await self.call("POST", "/v1/challenges", poster, challenge_body(**overrides), 201)
        return created

    async def publish(self, poster: str = "b_member", **overrides: Any) -> dict[str, Any]:
        challenge = await self.create(poster, **overrides)
        await self.act(challenge["id"], "submit", poster)
        published: dict[str, Any] = await self.act(challenge["id"], "approve", "platform_admin")
        assert published["status"] == "published"
        return published

    async def apply(
        self, challenge_id: str, applicant: str, *, submit: bool = True, **overrides: Any
    ) -> dict[str, Any]:
        path = f"/v1/challenges/{challenge_id}/applications"
        application: dict[str, Any] = await self.call("POST", path, applicant, application_body(**overrides), 201)
        if submit:
            application = await self.call("POST", f"{path}/{application['id']}/submit", applicant)
            assert application["status"] == "submitted"
        return application

    async def close_at_deadline(self, challenge_id: str, now: datetime | None = None) -> int:
        async with unit_of_work(self.app.state.sessionmaker) as session:
            challenge = await session.get(Challenge, uuid.UUID(challenge_id))
            assert challenge is not None
            return await service.close_due_challenges(session, now or challenge.applications_close_at)

    async def end_public_notice(self, challenge_id: str) -> int:
        async with unit_of_work(self.app.state.sessionmaker) as session:
            challenge = await session.get(Challenge, uuid.UUID(challenge_id))
            assert challenge is not None
            assert challenge.notice_ends_at is not None
            return await service.finalize_public_notices(session, challenge.notice_ends_at)

    async def score(self, challenge_id: str, application_id: str, expert: str, technical: int, team: int) -> Any:
        path = f"/v1/challenges/{challenge_id}/applications/{application_id}/scores"
        return await self.call("PUT", path, expert, {"scores": {"technical": technical, "team": team}})

    async def reviewed(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """A challenge closed with A's and D's applications, both experts' scores in (A ranks first)."""
        challenge = await self.publish()
        cid = challenge["id"]
        first = await self.apply(cid, "a_member")
        second = await self.apply(cid, "d_admin")
        assert await self.close_at_deadline(cid) == 1
        for expert in ("expert1", "expert2"):
            await self.act(cid, "experts", "platform_admin", {"expert_id": str(self.actors[expert].user_id)}, 201)
        await self.act(cid, "start-review", "platform_admin")
        for expert in ("expert1", "expert2"):
            await self.score(cid, first["id"], expert, 90, 80)
            await self.score(cid, second["id"], expert, 70, 75)
        return challenge, first, second

    async def awarded(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """The reviewed challenge with A shortlisted, publicly noticed and awarded."""
        challenge, first, second = await self.reviewed()
        cid = challenge["id"]
        await self.act(cid, "shortlist", "b_admin", {"application_ids": [first["id"]]})
        await self.act(cid, "public-notice", "b_admin", {"winner_application_id": first["id"]})
        assert await self.end_public_notice(cid) == 1
        awarded = await self.get(cid)
        assert awarded["status"] == "awarded"
        return awarded, first, second

    async def signed_contract(self) -> str:
        """A technology contract in which B (the poster) commissions A (the winner), signed by both."""
        body = contract_body(
            self.actors.organisations["a"],
            self.actors.organisations["b"],
            contract_type="development",
            contract_subtype="commissioned",
            contract_amount_fen=REWARD,
            non_technical_costs=[],
            milestones=[{"title": "全款", "amount_fen": REWARD}],
        )
        contract = await self.call("POST", "/v1/contracts", "b_member", body, 201)
        await self.call("POST", f"/v1/contracts/{contract['id']}/request-signatures", "b_member")
        await self.call("POST", f"/v1/contracts/{contract['id']}/sign", "a_admin", {"version": 1})
        signed = await self.call("POST", f"/v1/contracts/{contract['id']}/sign", "b_admin", {"version": 1})
        assert signed["status"] == "signed"
        return str(contract["id"])

    async def in_progress(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        challenge, _, _ = await self.awarded()
        cid = challenge["id"]
        await self.act(
            cid, "contract", "b_admin", {"contract_id": await self.signed_contract(), "agreement": ATTACHMENT}
        )
        started = await self.act(cid, "start-delivery", "b_member")
        milestones: list[dict[str, Any]] = await self.get(cid, suffix="/milestones")
        return started, milestones

    async def deliver(self, challenge_id: str, milestone_id: str, actor: str = "a_member") -> Any:
        return await self.act(
            challenge_id, f"milestones/{milestone_id}/deliver", actor, {"note": "交付报告与测试数据", "attachments": []}
        )


@pytest.fixture
async def board(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> Board:
    """The standard cast plus an institute with two experts, an academy (which may apply) with a third, and a
    subsidy programme: 20% of the poster's payments, at most 50万, first tranche ≤ 50% of the first payment."""
    await actors.add_organisation(
        "institute", OrganisationKind.research_institute, {"expert1": [Role.expert], "expert3": [Role.expert]}
    )
    await actors.add_organisation(
        "academy", OrganisationKind.research_institute, {"academy_admin": [Role.org_admin], "expert2": [Role.expert]}
    )
    programme = await client.post(
        "/v1/subsidy-programmes",
        json={
            "name": "合肥市揭榜挂帅奖补（测试）",
            "rate_bp": 2000,
            "cap_fen": 50_000_000,
            "first_tranche_bp": 5000,
            "payee": "poster",
        },
        headers=actors["official"].headers,
    )
    assert programme.status_code == 201, programme.text
    return Board(app, client, actors, programme.json()["id"])


async def topics(app: FastAPI, aggregate_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == aggregate_id).order_by(OutboxEvent.id)
        )
        return list(rows)


Relay = Callable[[], Awaitable[int]]


@pytest.fixture
def relay(app: FastAPI) -> Relay:
    async def run() -> int:
        outbox = OutboxRelay(
            app.state.sessionmaker, build_handler_registry(app.state.search), max_attempts=3, backoff_base_seconds=1
        )
        return await outbox.relay_batch(1000)

    return run
