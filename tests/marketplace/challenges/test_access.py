"""The access matrix of every challenge route, built from the router so a new route is covered or fails here.

On a challenge in delivery (with applications, scores, an objection and milestones): officials read every
route and change nothing; an unrelated verified organisation reads only the public challenge and its own (empty)
lists; an anonymous caller reads only the public challenge; a losing applicant reads its own application only.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from services.marketplace.challenges.endpoints import router
from tests.marketplace.challenges.conftest import ATTACHMENT, CHALLENGE_BODIES, Board

# What an unrelated organisation, or anybody, may read of a published challenge.
PUBLIC_READS = {"get_challenge"}
OWN_LISTS = {"list_challenge_applications", "list_challenge_objections"}


def _challenge_routes() -> list[APIRoute]:
    routes = [route for route in router.routes if isinstance(route, APIRoute) and "{challenge_id}" in route.path]
    assert len(routes) >= 35
    return routes


def _path(route: APIRoute, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda match: ids[match.group(1)], route.path)


async def _delivery_ids(board: Board) -> dict[str, str]:
    challenge, first, second = await board.reviewed()
    cid = challenge["id"]
    await board.act(cid, "shortlist", "b_admin", {"application_ids": [first["id"]]})
    await board.act(cid, "public-notice", "b_admin", {"winner_application_id": first["id"]})
    objection = await board.call("POST", f"/v1/challenges/{cid}/objections", "d_admin", {"body": "异议"}, 201)
    await board.act(
        cid, f"objections/{objection['id']}/resolve", "platform_admin", {"upheld": False, "resolution": "驳回"}
    )
    assert await board.end_public_notice(cid) == 1
    await board.act(cid, "contract", "b_admin", {"contract_id": await board.signed_contract(), "agreement": ATTACHMENT})
    await board.act(cid, "start-delivery", "b_admin")
    milestones = await board.get(cid, suffix="/milestones")
    return {
        "challenge_id": cid,
        "application_id": first["id"],
        "loser_application_id": second["id"],
        "objection_id": objection["id"],
        "milestone_id": milestones[0]["id"],
    }


async def test_every_challenge_route_keeps_officials_read_only_and_outsiders_out(board: Board) -> None:
    ids = await _delivery_ids(board)
    before = await board.get(ids["challenge_id"])
    for route in _challenge_routes():
        path = _path(route, ids)
        for method in route.methods:
            body = CHALLENGE_BODIES.get(route.name)
            assert method == "GET" or body is not None or route.name in _BODILESS, route.name
            official = await board.client.request(method, path, json=body, headers=board.headers("official"))
            expected = 200 if method == "GET" else 403
            assert official.status_code == expected, (method, path, official.text)

            outsider = await board.client.request(method, path, json=body, headers=board.headers("broker"))
            anonymous = await board.client.request(method, path, json=body)
            if method == "GET" and route.name in PUBLIC_READS:
                assert (outsider.status_code, anonymous.status_code) == (200, 200), path
            elif method == "GET" and route.name in OWN_LISTS:
                assert (outsider.status_code, outsider.json()) == (200, []), path
                assert anonymous.status_code == 401, path
            else:
                assert outsider.status_code in (403, 404, 409), (method, path, outsider.text)
                assert anonymous.status_code == 401, (method, path, anonymous.text)
    after = await board.get(ids["challenge_id"])
    assert after == before  # nothing the official or the outsider did changed the challenge


_BODILESS = {
    "submit_challenge",
    "approve_challenge",
    "start_challenge_review",
    "start_challenge_delivery",
    "accept_challenge_milestone",
    "request_challenge_acceptance",
    "close_challenge",
    "submit_challenge_application",
    "withdraw_challenge_application",
}


async def test_a_losing_applicant_reads_only_its_own_application(board: Board) -> None:
    ids = await _delivery_ids(board)
    cid = ids["challenge_id"]
    own = await board.call("GET", f"/v1/challenges/{cid}/applications", "d_admin")
    assert [item["id"] for item in own] == [ids["loser_application_id"]]
    await board.call("GET", f"/v1/challenges/{cid}/applications/{ids['application_id']}", "d_admin", status=404)
    for suffix in ("/ranking", "/money", "/milestones", "/experts", "/audit-trail"):
        await board.get(cid, actor="d_admin", suffix=suffix, status=403)
    scores = f"/v1/challenges/{cid}/applications/{ids['loser_application_id']}/scores"
    await board.call("GET", scores, "d_admin", status=403)
    winner = await board.get(cid, actor="a_member", suffix="/money")
    assert winner["escrow"]["reserved_fen"] > 0
