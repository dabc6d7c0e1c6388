from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.listings.specs import ACHIEVEMENTS
from services.marketplace.models import Achievement, AuditEvent, OutboxEvent
from tests.marketplace.conftest import Publish
from tests.support import Actors, achievement_body, demand_body


async def topics_for(app: FastAPI, listing_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == listing_id).order_by(OutboxEvent.id)
        )
        return list(rows)


async def test_a_draft_is_visible_to_its_organisation_only(client: httpx.AsyncClient, actors: Actors) -> None:
    created = await client.post("/v1/achievements", json=achievement_body(), headers=actors["a_member"].headers)
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft"
    assert "contact" not in draft
    url = f"/v1/achievements/{draft['id']}"
    assert (await client.get(url, headers=actors["a_admin"].headers)).status_code == 200
    assert (await client.get(url, headers=actors["b_admin"].headers)).status_code == 404
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=actors["platform_admin"].headers)).status_code == 200


async def test_submit_approve_publishes_with_events_and_audit(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    published = await publish()
    assert published["status"] == "published"
    assert published["published_at"] is not None
    assert published["last_verified_at"] is not None
    public = await client.get(f"/v1/achievements/{published['id']}")
    assert public.status_code == 200
    assert public.json()["title"] == published["title"]
    assert await topics_for(app, published["id"]) == ["achievement.submitted", "achievement.published"]
    async with app.state.sessionmaker() as session:
        payload = await session.scalar(select(OutboxEvent.payload).where(OutboxEvent.topic == "achievement.published"))
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.object_id == published["id"]).order_by(AuditEvent.id)
            )
        )
    assert payload == {
        "listing_id": published["id"],
        "kind": "achievement",
        "version": 1,
        "organisation_id": str(actors.organisations["a"]),
        "status": "published",
    }
    assert actions == ["achievement.create", "achievement.submit", "achievement.approve"]


async def test_a_returned_listing_carries_comments_and_can_be_resubmitted(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    draft = (await client.post("/v1/demands", json=demand_body(), headers=actors["b_admin"].headers)).json()
    url = f"/v1/demands/{draft['id']}"
    await client.post(f"{url}/submit", headers=actors["b_admin"].headers)
    returned = await client.post(
        f"{url}/return", json={"comment": "请补充技术指标的测试方法"}, headers=actors["platform_admin"].headers
    )
    assert returned.json()["status"] == "returned"
    assert returned.json()["review_comment"] == "请补充技术指标的测试方法"
    edited = await client.patch(
        url, json={"technical_indicators": "预警提前量 ≥ 5 min（按 GB 38031 测试）"}, headers=actors["b_admin"].headers
    )
    assert edited.status_code == 200
    assert (await client.post(f"{url}/submit", headers=actors["b_admin"].headers)).json()["status"] == "submitted"


async def test_unverified_organisations_cannot_submit(client: httpx.AsyncClient, actors: Actors) -> None:
    draft = (await client.post("/v1/achievements", json=achievement_body(), headers=actors["c_admin"].headers)).json()
    response = await client.post(f"/v1/achievements/{draft['id']}/submit", headers=actors["c_admin"].headers)
    assert response.status_code == 403


async def test_only_platform_staff_review(client: httpx.AsyncClient, actors: Actors) -> None:
    draft = (await client.post("/v1/achievements", json=achievement_body(), headers=actors["a_admin"].headers)).json()
    await client.post(f"/v1/achievements/{draft['id']}/submit", headers=actors["a_admin"].headers)
    response = await client.post(f"/v1/achievements/{draft['id']}/approve", headers=actors["a_admin"].headers)
    assert response.status_code == 403


async def test_kinds_of_organisation_are_limited_to_their_listing_kind(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    assert (await client.post("/v1/demands", json=demand_body(), headers=actors["a_admin"].headers)).status_code == 403
    official = await client.post("/v1/achievements", json=achievement_body(), headers=actors["official"].headers)
    assert official.status_code == 403


ILLEGAL = [
    ("draft", "approve"),
    ("draft", "return"),
    ("submitted", "submit"),
    ("submitted", "withdraw"),
    ("published", "submit"),
    ("published", "approve"),
    ("published", "return"),
    ("withdrawn", "submit"),
    ("withdrawn", "withdraw"),
    ("withdrawn", "approve"),
    ("returned", "approve"),
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
async def test_illegal_transitions_are_409_and_change_nothing(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, state: str, action: str
) -> None:
    owner, staff = actors["a_admin"].headers, actors["platform_admin"].headers
    listing_id = (await client.post("/v1/achievements", json=achievement_body(), headers=owner)).json()["id"]
    url = f"/v1/achievements/{listing_id}"
    steps = {
        "draft": [],
        "submitted": ["submit"],
        "published": ["submit", "approve"],
        "withdrawn": ["withdraw"],
        "returned": ["submit", "return"],
    }[state]
    for step in steps:
        response = await client.post(
            f"{url}/{step}",
            json={"comment": "请修改"} if step == "return" else None,
            headers=staff if step in ("approve", "return") else owner,
        )
        assert response.status_code == 200, response.text
    before = (await client.get(url, headers=owner)).json()
    response = await client.post(
        f"{url}/{action}",
        json={"comment": "x"} if action == "return" else None,
        headers=staff if action in ("approve", "return") else owner,
    )
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/illegal-transition")
    assert (await client.get(url, headers=owner)).json() == before


async def test_every_allowed_transition_is_in_one_table() -> None:
    table = ACHIEVEMENTS.lifecycle.transitions
    assert table[("published", "expire")] == "expired"
    assert table[("published", "transact")] == "transacted"
    assert ("expired", "approve") not in table


@pytest.mark.parametrize(
    "extra",
    [
        {"status": "published"},
        {"organisation_id": "00000000-0000-0000-0000-000000000001"},
        {"review_comment": "ok"},
        {"version": 7},
        {"published_at": "2026-01-01T00:00:00Z"},
    ],
)
async def test_mass_assignment_is_refused_and_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, extra: dict[str, object]
) -> None:
    response = await client.post("/v1/achievements", json=achievement_body(**extra), headers=actors["a_admin"].headers)
    assert response.status_code == 422
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Achievement)) == 0
    draft = (await client.post("/v1/achievements", json=achievement_body(), headers=actors["a_admin"].headers)).json()
    patched = await client.patch(f"/v1/achievements/{draft['id']}", json=extra, headers=actors["a_admin"].headers)
    assert patched.status_code == 422
    assert (await client.get(f"/v1/achievements/{draft['id']}", headers=actors["a_admin"].headers)).json() == draft


async def test_editing_a_published_listing_makes_a_revision_until_approved(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    published = await publish()
    url = f"/v1/achievements/{published['id']}"
    owner = actors["a_admin"].headers
    patched = await client.patch(
        url, json={"title": "高比能固态锂电池电解质制备技术（第二代）", "price_mode": "negotiable"}, headers=owner
    )
    assert patched.status_code == 200
    assert patched.json()["title"] == published["title"]
    public = (await client.get(url)).json()
    assert public["title"] == published["title"]
    assert public["price_fen"] == published["price_fen"]
    revision = await client.get(f"{url}/revision", headers=owner)
    assert revision.json()["changes"] == {
        "title": "高比能固态锂电池电解质制备技术（第二代）",
        "price_mode": "negotiable",
        "price_fen": None,
    }
    assert (await client.get(f"{url}/revision", headers=actors["b_admin"].headers)).status_code == 404

    approved = await client.post(f"{url}/revision/approve", headers=actors["platform_admin"].headers)
    assert approved.json()["status"] == "approved"
    updated = (await client.get(url)).json()
    assert updated["title"].endswith("（第二代）")
    assert updated["price_mode"] == "negotiable"
    assert updated["price_fen"] is None
    assert updated["version"] == 2
    assert (await topics_for(app, published["id"]))[-1] == "achievement.updated"


async def test_a_returned_revision_leaves_the_published_version(
    client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    published = await publish()
    url = f"/v1/achievements/{published['id']}"
    await client.patch(url, json={"trl": 9}, headers=actors["a_admin"].headers)
    returned = await client.post(
        f"{url}/revision/return", json={"comment": "TRL 9 需要提供应用证明"}, headers=actors["platform_admin"].headers
    )
    assert returned.json()["status"] == "returned"
    assert (await client.get(url)).json()["trl"] == published["trl"]
    again = await client.post(f"{url}/revision/approve", headers=actors["platform_admin"].headers)
    assert again.status_code == 409


async def test_withdrawn_listings_leave_public_view(
    client: httpx.AsyncClient, actors: Actors, publish: Publish
) -> None:
    published = await publish()
    url = f"/v1/achievements/{published['id']}"
    withdrawn = await client.post(f"{url}/withdraw", headers=actors["a_admin"].headers)
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=actors["a_admin"].headers)).status_code == 200


async def test_reverify_restarts_the_clock(client: httpx.AsyncClient, actors: Actors, publish: Publish) -> None:
    published = await publish()
    response = await client.post(f"/v1/achievements/{published['id']}/reverify", headers=actors["a_member"].headers)
    assert response.status_code == 200
    assert response.json()["last_verified_at"] > published["last_verified_at"]
