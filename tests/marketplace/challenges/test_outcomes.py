"""The other ways a challenge ends: 流榜 and republication, cancellation, rectification and termination."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from tests.marketplace.challenges.conftest import REWARD, Board, Relay, today, topics


async def test_an_unclaimed_challenge_is_revised_and_republished_under_its_code(app: FastAPI, board: Board) -> None:
    challenge = await board.publish()
    cid = challenge["id"]
    await board.apply(cid, "a_member", submit=False)  # a draft does not count
    assert await board.close_at_deadline(cid) == 1
    unclaimed = await board.get(cid, actor=None)
    assert (unclaimed["status"], unclaimed["unclaimed_at"] is not None) == ("unclaimed", True)
    assert (await topics(app, cid))[-1] == "challenge.unclaimed"
    revised = await board.call(
        "PATCH",
        f"/v1/challenges/{cid}",
        "b_member",
        {"application_deadline": (today() + timedelta(days=20)).isoformat(), "reward_fen": 400_000_000},
        status=422,  # the milestones no longer add up
    )
    assert revised["errors"][0]["loc"] == ["body", "milestones"]
    revised = await board.call(
        "PATCH",
        f"/v1/challenges/{cid}",
        "b_member",
        {"application_deadline": (today() + timedelta(days=20)).isoformat()},
    )
    assert (revised["status"], revised["version"]) == ("unclaimed", 2)
    await board.act(cid, "submit", "b_member")
    republished = await board.act(cid, "approve", "platform_admin")
    assert (republished["status"], republished["code"]) == ("published", challenge["code"])
    assert republished["applications_closed_at"] is None
    application = (await board.call("GET", f"/v1/challenges/{cid}/applications", "a_member"))[0]
    again = await board.call("POST", f"/v1/challenges/{cid}/applications", "a_admin", {"proposal": "再来一份"}, 409)
    assert again["application_id"] == application["id"]  # one application per organisation, kept across rounds
    submitted = await board.call("POST", f"/v1/challenges/{cid}/applications/{application['id']}/submit", "a_member")
    assert submitted["status"] == "submitted"


async def test_the_poster_cancels_before_the_award_and_every_applicant_hears_why(board: Board, relay: Relay) -> None:
    challenge = await board.publish()
    cid = challenge["id"]
    await board.apply(cid, "a_member")
    await board.apply(cid, "d_admin", submit=False)
    await board.act(cid, "cancel", "a_admin", {"reason": "越权"}, status=403)
    cancelled = await board.act(cid, "cancel", "b_member", {"reason": "企业已自行攻克该技术难题"})
    assert (cancelled["status"], cancelled["cancellation_reason"]) == ("cancelled", "企业已自行攻克该技术难题")
    public = await board.get(cid, actor=None)
    assert public["cancellation_reason"] == "企业已自行攻克该技术难题"
    await board.act(cid, "cancel", "b_member", {"reason": "再次撤销"}, status=409)
    await relay()
    for applicant in ("a_member", "d_admin"):
        inbox = await board.call("GET", "/v1/notifications", applicant)
        notices = [item for item in inbox["items"] if item["kind"] == "challenge.cancelled"]
        assert len(notices) == 1, applicant
        assert "企业已自行攻克该技术难题" in notices[0]["body"]

    awarded, _, _ = await board.awarded()
    refused = await board.act(awarded["id"], "cancel", "b_member", {"reason": "想反悔"}, status=409)
    assert refused["type"].endswith("/illegal-transition")
    assert "cancel" not in refused["allowed_actions"]


async def test_a_failed_acceptance_goes_to_rectification_then_termination_refunds_the_rest(board: Board) -> None:
    challenge, milestones = await board.in_progress()
    cid = challenge["id"]
    for milestone in milestones[:2]:
        await board.deliver(cid, milestone["id"])
        await board.act(cid, f"milestones/{milestone['id']}/accept", "b_admin")
    await board.deliver(cid, milestones[2]["id"])
    await board.act(cid, "request-acceptance", "a_member")
    await board.act(cid, "acceptance", "b_admin", {"passed": False, "comment": "越权"}, status=403)
    failed = await board.act(cid, "acceptance", "platform_admin", {"passed": False, "comment": "循环寿命未达标"})
    assert (failed["status"], failed["acceptance_comment"]) == ("rectification", "循环寿命未达标")
    last = (await board.get(cid, suffix="/milestones"))[2]
    assert (last["status"], last["return_comment"]) == ("pending", "循环寿命未达标")

    # Rectification: the winner resubmits, fails again, and the project is terminated.
    await board.deliver(cid, last["id"])
    await board.act(cid, "request-acceptance", "a_member")
    await board.act(cid, "acceptance", "platform_admin", {"passed": False, "comment": "仍未达标"})
    await board.act(cid, "terminate", "b_member", {"reason": "整改无望"}, status=403)  # org_admin or platform
    terminated = await board.act(cid, "terminate", "b_admin", {"reason": "整改后仍未达到技术指标"})
    assert (terminated["status"], terminated["termination_reason"]) == ("terminated", "整改后仍未达到技术指标")
    money = await board.get(cid, suffix="/money")
    assert money["escrow"]["released_fen"] == 180_000_000
    assert money["escrow"]["refunded_fen"] == REWARD - 180_000_000
    assert (money["escrow"]["held_fen"], money["escrow"]["status"]) == (0, "closed")
    assert money["movements"][-1]["kind"] == "escrow_refunded"
    assert money["movements"][-1]["to_organisation_id"] == str(board.actors.organisations["b"])
    assert [(t["kind"], t["status"]) for t in money["subsidy_tranches"]] == [("first", "due"), ("final", "cancelled")]
    await board.act(cid, "close", "platform_admin", status=409)
