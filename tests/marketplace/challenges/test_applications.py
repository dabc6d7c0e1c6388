"""Authoring rules, eligibility on submission, the formal check, idempotent creation and illegal steps."""

from __future__ import annotations

from sqlalchemy import update

from services.marketplace.db import unit_of_work
from services.marketplace.models import Organisation
from services.marketplace.models.identity import OrganisationKind, Role
from tests.marketplace.challenges.conftest import Board, challenge_body


async def test_authoring_rules_and_illegal_steps(board: Board) -> None:
    await board.call("POST", "/v1/challenges", "a_admin", challenge_body(), 403)  # a university does not post
    bad = challenge_body(poster_funded_fen=400_000_000, reward_fen=300_000_001)
    problem = await board.call("POST", "/v1/challenges", "b_member", bad, 422)
    assert {tuple(error["loc"]) for error in problem["errors"]} == {
        ("body", "poster_funded_fen"),
        ("body", "milestones"),
    }
    await board.call("POST", "/v1/challenges", "b_member", challenge_body(reward_fen=1.5), 422)
    draft = await board.create(poster="c_admin")  # an unverified firm may draft but not submit
    await board.act(draft["id"], "submit", "c_admin", status=403)

    challenge = await board.create()
    cid = challenge["id"]
    illegal = await board.act(cid, "approve", "platform_admin", status=409)
    assert (illegal["type"].endswith("/illegal-transition"), illegal["allowed_actions"]) == (
        True,
        ["cancel", "edit", "submit"],
    )
    await board.act(cid, "submit", "b_member")
    await board.act(cid, "approve", "b_admin", status=403)
    await board.act(cid, "return", "platform_admin", {"comment": "请补充技术指标的测试条件"})
    await board.call("PATCH", f"/v1/challenges/{cid}", "b_member", {"technical_indicators": "45℃、1C/1C 条件下测试"})
    await board.act(cid, "submit", "b_member")
    await board.act(cid, "approve", "platform_admin")
    await board.call("PATCH", f"/v1/challenges/{cid}", "b_member", {"title": "发布后修改"}, 409)
    await board.act(cid, "start-review", "platform_admin", status=409)
    await board.act(cid, "shortlist", "b_admin", {"application_ids": [cid]}, status=409)

    key = {"Idempotency-Key": "challenge-create-0001"}
    first = await board.client.post("/v1/challenges", json=challenge_body(), headers=board.headers("b_member") | key)
    again = await board.client.post("/v1/challenges", json=challenge_body(), headers=board.headers("b_member") | key)
    assert (first.status_code, again.status_code, again.headers["Idempotent-Replayed"]) == (201, 201, "true")
    assert first.json()["id"] == again.json()["id"]


async def test_eligibility_is_checked_on_submission_with_clear_errors(board: Board) -> None:
    await board.actors.add_organisation("fudan", OrganisationKind.university, {"fudan_admin": [Role.org_admin]})
    async with unit_of_work(board.app.state.sessionmaker) as session:
        await session.execute(
            update(Organisation)
            .where(Organisation.id == board.actors.organisations["fudan"])
            .values(region_code="310104")
        )
    eligibility = {"organisation_kinds": ["university", "research_institute"], "region_prefixes": ["34"]}
    challenge = await board.publish(eligibility=eligibility)
    cid = challenge["id"]
    applications = f"/v1/challenges/{cid}/applications"

    await board.call("POST", applications, "b_admin", {"proposal": "自己揭榜"}, 403)
    firm = await board.apply(cid, "d_admin", submit=False)
    refused = await board.call("POST", f"{applications}/{firm['id']}/submit", "d_admin", status=422)
    assert [error["type"] for error in refused["errors"]] == ["kind_not_eligible"]
    assert "高等院校、科研院所" in refused["errors"][0]["msg"]
    unverified = await board.apply(cid, "c_admin", submit=False)
    refused = await board.call("POST", f"{applications}/{unverified['id']}/submit", "c_admin", status=422)
    assert [error["type"] for error in refused["errors"]] == ["not_verified", "kind_not_eligible"]
    shanghai = await board.apply(cid, "fudan_admin", submit=False)
    refused = await board.call("POST", f"{applications}/{shanghai['id']}/submit", "fudan_admin", status=422)
    assert [(error["loc"], error["type"]) for error in refused["errors"]] == [
        (["organisation", "region_code"], "region_not_eligible")
    ]

    # The formal check returns an application for revision; the applicant revises and resubmits.
    application = await board.apply(cid, "a_member")
    path = f"{applications}/{application['id']}"
    await board.call("POST", f"{path}/return", "b_admin", {"comment": "越权"}, 403)
    returned = await board.call("POST", f"{path}/return", "platform_admin", {"comment": "请补充团队成员简历"})
    assert (returned["status"], returned["return_comment"]) == ("returned", "请补充团队成员简历")
    await board.call("PATCH", path, "d_admin", {"proposal": "越权修改"}, 404)
    revised = await board.call("PATCH", path, "a_member", {"team": [{"name": "王博士", "role": "骨干"}]})
    assert revised["team"] == [{"name": "王博士", "title": None, "role": "骨干"}]
    resubmitted = await board.call("POST", f"{path}/submit", "a_member")
    assert resubmitted["status"] == "submitted"
    await board.call("POST", f"{path}/submit", "a_member", status=409)
    await board.close_at_deadline(cid)
    await board.call("PATCH", path, "a_member", {"proposal": "截止后修改"}, 409)
    await board.call("POST", f"{path}/withdraw", "a_member", status=409)
    await board.call("POST", applications, "academy_admin", {"proposal": "截止后揭榜"}, 409)
