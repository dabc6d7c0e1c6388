from __future__ import annotations

import re

from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.models import AuditEvent
from tests.marketplace.challenges.conftest import (
    ATTACHMENT,
    POSTER_FUNDED,
    REWARD,
    Board,
    Relay,
    challenge_body,
    topics,
)

FIRST_SHARE, SECOND_SHARE, LAST_SHARE = 60_000_000, 60_000_000, 80_000_000  # 200万 self-funded, pro rata


async def test_a_challenge_goes_from_draft_to_closed_with_money_steps_audit_and_notices(
    app: FastAPI, board: Board, relay: Relay
) -> None:
    draft = await board.create()
    cid = draft["id"]
    assert (draft["status"], draft["code"], draft["subsidy_terms"]) == ("draft", None, None)
    assert draft["applications_close_at"].endswith("16:00:00Z")  # the end of the deadline day in Shanghai
    await board.act(cid, "submit", "b_member")
    published = await board.act(cid, "approve", "platform_admin")
    assert re.fullmatch(r"JB-20\d\d-0001", published["code"])
    assert published["subsidy_terms"] == {
        "programme_id": board.programme_id,
        "rate_bp": 2000,
        "cap_fen": 50_000_000,
        "first_tranche_bp": 5000,
        "payee": "poster",
        "max_total_fen": 40_000_000,
        "max_first_fen": 30_000_000,
    }
    assert (await board.get(cid, actor=None))["code"] == published["code"]  # public

    first = await board.apply(cid, "a_member")
    second = await board.apply(cid, "d_admin")
    assert await board.close_at_deadline(cid) == 1
    assert (await board.get(cid))["status"] == "applications_closed"

    for expert in ("expert1", "expert2"):
        await board.act(cid, "experts", "platform_admin", {"expert_id": str(board.actors[expert].user_id)}, 201)
    await board.act(cid, "start-review", "platform_admin")
    await board.score(cid, first["id"], "expert1", 90, 80)  # 86.00
    await board.score(cid, second["id"], "expert1", 70, 75)  # 72.00
    ranking = await board.get(cid, suffix="/ranking")
    assert (ranking["complete"], ranking["missing_scores"]) == (False, 2)
    await board.act(cid, "shortlist", "b_admin", {"application_ids": [first["id"]]}, status=409)
    await board.score(cid, first["id"], "expert2", 85, 85)  # 85.00
    await board.score(cid, second["id"], "expert2", 80, 70)  # 76.00
    ranking = await board.get(cid, suffix="/ranking")
    assert ranking["complete"] is True
    assert [(entry["application_id"], entry["rank"], entry["mean_score_centi"]) for entry in ranking["entries"]] == [
        (first["id"], 1, 8550),
        (second["id"], 2, 7400),
    ]

    shortlisted = await board.act(cid, "shortlist", "b_admin", {"application_ids": [first["id"], second["id"]]})
    assert shortlisted["status"] == "shortlisted"
    noticed = await board.act(cid, "public-notice", "b_admin", {"winner_application_id": first["id"]})
    assert (noticed["status"], noticed["winner_organisation_id"]) == (
        "public_notice",
        str(board.actors.organisations["a"]),
    )
    objection = await board.call(
        "POST", f"/v1/challenges/{cid}/objections", "d_admin", {"body": "对评审打分有异议"}, 201
    )
    assert await board.end_public_notice(cid) == 0  # an open objection holds the award
    await board.act(
        cid, f"objections/{objection['id']}/resolve", "platform_admin", {"upheld": False, "resolution": "复核无误"}
    )
    assert await board.end_public_notice(cid) == 1

    awarded = await board.get(cid)
    assert awarded["status"] == "awarded"
    mine = await board.call("GET", f"/v1/challenges/{cid}/applications/{first['id']}", "a_member")
    theirs = await board.call("GET", f"/v1/challenges/{cid}/applications/{second['id']}", "d_admin")
    assert (mine["status"], theirs["status"], theirs["decision_reason"]) == ("accepted", "rejected", "未入选")
    money = await board.get(cid, suffix="/money")
    assert money["escrow"] | {"payer_organisation_id": None, "payee_organisation_id": None} == {
        "payer_organisation_id": None,
        "payee_organisation_id": None,
        "reserved_fen": REWARD,
        "released_fen": 0,
        "refunded_fen": 0,
        "held_fen": REWARD,
        "status": "held",
        "settlement_reference": None,
    }
    assert [(t["kind"], t["amount_fen"], t["status"]) for t in money["subsidy_tranches"]] == [
        ("first", 30_000_000, "planned"),
        ("final", 10_000_000, "planned"),
    ]

    await board.act(cid, "contract", "b_admin", {"contract_id": await board.signed_contract(), "agreement": ATTACHMENT})
    await board.act(cid, "start-delivery", "b_member")
    milestones = await board.get(cid, suffix="/milestones")
    assert [(m["amount_fen"], m["poster_share_fen"]) for m in milestones] == [
        (90_000_000, FIRST_SHARE),
        (90_000_000, SECOND_SHARE),
        (120_000_000, LAST_SHARE),
    ]
    assert sum(m["poster_share_fen"] for m in milestones) == POSTER_FUNDED
    for milestone in milestones[:2]:
        await board.deliver(cid, milestone["id"])
        await board.act(cid, f"milestones/{milestone['id']}/accept", "b_admin")
    money = await board.get(cid, suffix="/money", actor="a_admin")
    assert money["escrow"]["released_fen"] == 180_000_000
    assert [t["status"] for t in money["subsidy_tranches"]] == ["due", "planned"]
    await board.act(cid, f"milestones/{milestones[2]['id']}/accept", "b_admin", status=409)  # with acceptance
    await board.act(cid, "request-acceptance", "a_member", status=409)  # the last one is not delivered yet
    await board.deliver(cid, milestones[2]["id"])
    await board.act(cid, "request-acceptance", "a_member")
    accepted = await board.act(cid, "acceptance", "platform_admin", {"passed": True, "comment": "指标全部达到"})
    assert accepted["status"] == "accepted"
    money = await board.get(cid, suffix="/money", actor="official")
    assert (money["escrow"]["released_fen"], money["escrow"]["status"]) == (REWARD, "settled")
    assert [t["status"] for t in money["subsidy_tranches"]] == ["due", "due"]
    assert [(m["kind"], m["amount_fen"]) for m in money["movements"]] == [
        ("escrow_reserved", REWARD),
        ("tranche_released", 90_000_000),
        ("tranche_released", 90_000_000),
        ("tranche_released", 120_000_000),
    ]
    closed = await board.act(cid, "close", "platform_admin")
    assert closed["status"] == "closed"

    challenge_topics = await topics(app, cid)
    assert [topic for topic in challenge_topics if not topic.endswith(("expert_assigned", "objection_filed"))] == [
        "challenge.drafted",
        "challenge.submitted",
        "challenge.published",
        "challenge.applications_closed",
        "challenge.review_started",
        "challenge.shortlisted",
        "challenge.public_notice_started",
        "challenge.objection_resolved",
        "challenge.awarded",
        "challenge.contracted",
        "challenge.delivery_started",
        "challenge.milestone_delivered",
        "challenge.tranche_released",
        "challenge.subsidy_due",
        "challenge.milestone_delivered",
        "challenge.tranche_released",
        "challenge.milestone_delivered",
        "challenge.acceptance_requested",
        "challenge.tranche_released",
        "challenge.subsidy_due",
        "challenge.accepted",
        "challenge.closed",
    ]

    trail = await board.call("GET", f"/v1/challenges/{cid}/audit-trail?limit=100", "official")
    actions = [item["action"] for item in trail["items"]]
    assert actions.count("challenge.scored") == 4
    assert {"challenge.expert_assigned", "challenge.shortlist", "challenge.objection_resolved"} <= set(actions)
    await board.call("GET", f"/v1/challenges/{cid}/audit-trail", "b_admin", status=403)
    async with app.state.sessionmaker() as session:
        score_rows = list(
            await session.scalars(select(AuditEvent.organisation_id).where(AuditEvent.action == "challenge.scored"))
        )
    assert score_rows == [None] * 4  # neither the applicant nor the poster reads marks in its own audit trail

    await relay()
    inbox = await board.call("GET", "/v1/notifications", "a_member")
    kinds = {item["kind"] for item in inbox["items"]}
    assert {
        "challenge_application.submitted",
        "challenge_application.shortlisted",
        "challenge_application.accepted",
    } <= kinds
    loser = await board.call("GET", "/v1/notifications", "d_admin")
    assert "challenge_application.not_selected" in {item["kind"] for item in loser["items"]}
    expert_inbox = await board.call("GET", "/v1/notifications", "expert1")
    assert [item["kind"] for item in expert_inbox["items"]] == ["challenge.expert_assigned"]


async def test_publication_keeps_the_terms_it_announced_when_the_programme_changes(board: Board) -> None:
    challenge = await board.publish()
    await board.call(
        "PATCH", f"/v1/subsidy-programmes/{board.programme_id}", "official", {"rate_bp": 5000, "cap_fen": 1}
    )
    unchanged = await board.get(challenge["id"], actor=None)
    assert unchanged["subsidy_terms"]["rate_bp"] == 2000
    later = await board.publish()
    assert (later["subsidy_terms"]["rate_bp"], later["subsidy_terms"]["max_total_fen"]) == (5000, 1)
    assert later["code"].endswith("-0002")
    await board.call("PATCH", f"/v1/subsidy-programmes/{board.programme_id}", "b_admin", {"rate_bp": 1}, status=403)
    await board.call("PATCH", f"/v1/subsidy-programmes/{board.programme_id}", "official", {"is_active": False})
    refused = await board.call(
        "POST", "/v1/challenges", "b_member", challenge_body(subsidy_programme_id=board.programme_id), status=422
    )
    assert refused["errors"][0]["loc"] == ["body", "subsidy_programme_id"]
