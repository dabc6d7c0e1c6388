"""Expert review: conflicts of interest, complete scoring, the recorded ranking, a justified shortlist, 公示
objections."""

from __future__ import annotations

from typing import Any

from tests.marketplace.challenges.conftest import Board


async def _panel_review(board: Board) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A's and the academy's applications under review by expert1, expert2 (of the academy) and expert3."""
    challenge = await board.publish()
    cid = challenge["id"]
    a_app = await board.apply(cid, "a_member")
    academy_app = await board.apply(cid, "academy_admin")
    await board.close_at_deadline(cid)
    for expert in ("expert1", "expert2", "expert3"):
        await board.act(cid, "experts", "platform_admin", {"expert_id": str(board.actors[expert].user_id)}, 201)
    await board.act(cid, "experts", "platform_admin", {"expert_id": str(board.actors["expert1"].user_id)}, 409)
    not_expert = {"expert_id": str(board.actors["a_member"].user_id)}
    await board.act(cid, "experts", "platform_admin", not_expert, 422)
    await board.act(cid, "start-review", "platform_admin")
    return cid, a_app, academy_app


async def test_conflicted_experts_cannot_score_and_the_ranking_waits_only_for_the_others(board: Board) -> None:
    cid, a_app, academy_app = await _panel_review(board)
    scores = f"/v1/challenges/{cid}/applications"
    own = await board.call(
        "PUT", f"{scores}/{academy_app['id']}/scores", "expert2", {"scores": {"technical": 99, "team": 99}}, 403
    )
    assert "回避" in own["detail"]
    await board.act(cid, f"applications/{a_app['id']}/conflict", "expert3", {"reason": "曾与申请团队合作发表论文"}, 201)
    await board.act(cid, f"applications/{a_app['id']}/conflict", "expert3", {"reason": "重复"}, 409)
    await board.call("PUT", f"{scores}/{a_app['id']}/scores", "expert3", {"scores": {"technical": 1, "team": 1}}, 403)
    await board.call("PUT", f"{scores}/{a_app['id']}/scores", "a_member", {"scores": {"technical": 1, "team": 1}}, 403)
    invalid = await board.call(
        "PUT", f"{scores}/{a_app['id']}/scores", "expert1", {"scores": {"technical": 80, "budget": 70}}, 422
    )
    assert {tuple(error["loc"]) for error in invalid["errors"]} == {
        ("body", "scores", "team"),
        ("body", "scores", "budget"),
    }

    ranking = await board.get(cid, suffix="/ranking")
    assert ranking["missing_scores"] == 4  # A: expert1, expert2; academy: expert1, expert3
    await board.score(cid, a_app["id"], "expert1", 60, 60)
    await board.score(cid, a_app["id"], "expert2", 70, 70)
    await board.score(cid, academy_app["id"], "expert1", 80, 80)
    await board.act(cid, f"applications/{academy_app['id']}/conflict", "expert1", {"reason": "已评分"}, 409)
    await board.score(cid, academy_app["id"], "expert3", 90, 90)
    ranking = await board.get(cid, suffix="/ranking")
    assert ranking["complete"] is True
    assert [entry["application_id"] for entry in ranking["entries"]] == [academy_app["id"], a_app["id"]]
    await board.get(cid, actor="a_admin", suffix="/ranking", status=403)

    # Individual marks: officials and platform staff all of them, an expert their own, the poster none.
    official = await board.call("GET", f"{scores}/{a_app['id']}/scores", "official")
    assert sorted(row["weighted_score_centi"] for row in official) == [6000, 7000]
    mine = await board.call("GET", f"{scores}/{a_app['id']}/scores", "expert1")
    assert [row["expert_user_id"] for row in mine] == [str(board.actors["expert1"].user_id)]
    await board.call("GET", f"{scores}/{a_app['id']}/scores", "b_admin", status=403)
    await board.call("GET", f"/v1/challenges/{cid}/experts", "b_admin", status=403)
    conflicts = await board.call("GET", f"/v1/challenges/{cid}/conflicts", "official")
    assert [(row["application_id"], row["expert_user_id"]) for row in conflicts] == [
        (a_app["id"], str(board.actors["expert3"].user_id))
    ]

    # Choosing the lower-ranked application alone needs a reason; the panel's ranking is recorded with it.
    deviation = {"application_ids": [a_app["id"]]}
    await board.act(cid, "shortlist", "b_admin", deviation, status=422)
    await board.act(cid, "shortlist", "b_admin", deviation | {"reason": "该团队具备中试条件"})
    recorded = await board.get(cid, suffix="/ranking", actor="official")
    assert recorded["recorded"][0]["application_id"] == academy_app["id"]
    assert recorded["shortlist_reason"] == "该团队具备中试条件"
    assert [entry["shortlisted"] for entry in recorded["entries"]] == [False, True]
    await board.call("PUT", f"{scores}/{a_app['id']}/scores", "expert1", {"scores": {"technical": 1, "team": 1}}, 409)


async def test_an_upheld_objection_sends_the_decision_back_to_the_poster(board: Board) -> None:
    challenge, first, second = await board.reviewed()
    cid = challenge["id"]
    await board.act(cid, "shortlist", "b_admin", {"application_ids": [first["id"], second["id"]]})
    await board.act(
        cid, "public-notice", "b_admin", {"winner_application_id": "00000000-0000-0000-0000-000000000000"}, 422
    )
    noticed = await board.act(cid, "public-notice", "b_admin", {"winner_application_id": second["id"]})
    assert noticed["notice_ends_at"] is not None
    objections = f"/v1/challenges/{cid}/objections"
    await board.call("POST", objections, "b_member", {"body": "自己反对自己"}, 403)
    await board.call("POST", objections, "official", {"body": "官员只读"}, 403)
    await board.call("POST", objections, "c_admin", {"body": "未认证机构"}, 403)
    objection = await board.call("POST", objections, "a_admin", {"body": "拟揭榜方不满足最低资质要求"}, 201)
    assert [row["id"] for row in await board.call("GET", objections, "d_admin")] == []  # D filed none
    assert [row["id"] for row in await board.call("GET", objections, "b_admin")] == [objection["id"]]
    resolve = f"objections/{objection['id']}/resolve"
    await board.act(cid, resolve, "b_admin", {"upheld": True, "resolution": "越权"}, status=403)
    await board.act(cid, resolve, "platform_admin", {"upheld": True, "resolution": "经核查资质不符"})
    reopened = await board.get(cid)
    assert (reopened["status"], reopened["winner_application_id"]) == ("shortlisted", None)
    await board.act(cid, resolve, "platform_admin", {"upheld": False, "resolution": "重复处理"}, status=409)

    await board.act(cid, "public-notice", "b_admin", {"winner_application_id": first["id"]})
    assert await board.end_public_notice(cid) == 1
    awarded = await board.get(cid)
    assert (awarded["status"], awarded["winner_application_id"]) == ("awarded", first["id"])
