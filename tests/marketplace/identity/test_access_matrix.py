"""Cross-organisation access: a user of organisation B never reads or changes organisation A's private objects.

The matrix is built from the application's own routes, so a new route that takes an id is covered
(or fails here) without anyone remembering to add it.
"""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.marketplace.app import ROUTERS
from services.marketplace.models.identity import OrganisationKind, Role
from tests.marketplace.challenges.conftest import CHALLENGE_BODIES, application_body, challenge_body
from tests.marketplace.contracts.conftest import contract_body, milestones
from tests.support import Actors, achievement_body, demand_body

# Object ids owned by organisation C (unverified, so nothing of it is public) for each path parameter;
# contracts, amendments, deal rooms and offers are D's and A's, which neither B nor the official may see;
# the challenge is D's draft and the application C's draft (the milestone and objection ids name nothing).
PRIVATE_OBJECTS = {
    "organisation_id",
    "user_id",
    "api_key_id",
    "event_id",
    "listing_id",
    "request_id",
    "contract_id",
    "amendment_id",
    "room_id",
    "offer_id",
    "challenge_id",
    "application_id",
    "milestone_id",
    "objection_id",
}
CONTRACT_OBJECTS = {"contract_id", "amendment_id"}
DEAL_ROOM_OBJECTS = {"room_id", "offer_id"}
AMENDMENT = {
    "kind": "amount_change",
    "reason": "越权变更",
    "contract_amount_fen": 200_000_000,
    "milestones": milestones(200_000_000),
}
BODIES: dict[str, dict[str, object]] = {
    "update_organisation": {"name": "改名"},
    "reject_organisation": {"reason": "越权测试"},
    "create_user": {
        "email": "intruder@example.cn",
        "display_name": "x",
        "password": "long-enough-pw",
        "roles": ["member"],
    },
    "set_user_roles": {"roles": ["org_admin"]},
    "update_achievement": {"title": "越权修改"},
    "update_demand": {"title": "越权修改"},
    "return_listing": {"comment": "越权"},
    "return_revision": {"comment": "越权"},
    "set_contact": {"name": "越权", "phone": "13800000000"},
    "request_contact": {"message": "越权"},
    "update_contract": {"title": "越权修改"},
    "sign_contract": {"version": 1},
    "record_offline_signature": {"side": "buyer", "version": 1, "note": "越权"},
    "reject_contract": {"reasons": ["other"], "comment": "越权"},
    "propose_contract_amendment": AMENDMENT,
    "reject_contract_amendment": {"comment": "越权"},
    "invite_deal_room_broker": {"broker_id": str(uuid.UUID(int=1))},
    "post_deal_room_message": {"body": "越权"},
    "make_deal_room_offer": {"price_fen": 100, "transfer_mode": "license", "terms": "越权"},
    **CHALLENGE_BODIES,
}


async def _private_ids(client: httpx.AsyncClient, actors: Actors) -> dict[str, str]:
    owner = actors["c_admin"]
    key = await client.post(
        "/v1/api-keys", json={"name": "私有", "scopes": ["read"], "roles": ["org_admin"]}, headers=owner.headers
    )
    assert key.status_code == 201
    d_admin = actors["d_admin"].headers
    achievement = await client.post("/v1/achievements", json=achievement_body(), headers=d_admin)
    demand = await client.post("/v1/demands", json=demand_body(confidentiality="brokers"), headers=d_admin)
    published = await client.post("/v1/demands", json=demand_body(), headers=d_admin)
    await client.post(f"/v1/demands/{published.json()['id']}/submit", headers=d_admin)
    await client.post(f"/v1/demands/{published.json()['id']}/approve", headers=actors["platform_admin"].headers)
    request = await client.post(
        f"/v1/demands/{published.json()['id']}/contact-requests",
        json={"message": "合作"},
        headers=actors["a_admin"].headers,
    )
    assert request.status_code == 201, request.text
    return {
        "organisation_id": str(actors.organisations["c"]),
        "user_id": str(owner.user_id),
        "api_key_id": key.json()["id"],
        "event_id": "1",
        "/v1/achievements/listing_id": achievement.json()["id"],
        "/v1/demands/listing_id": demand.json()["id"],
        "request_id": request.json()["id"],
        "milestone_index": "0",
        **await _challenge_ids(client, actors),
    } | await _deal_ids(client, actors)


async def _challenge_ids(client: httpx.AsyncClient, actors: Actors) -> dict[str, str]:
    """D's draft challenge, and C's draft application to another, published challenge of D."""
    d_admin = actors["d_admin"].headers
    draft = await client.post("/v1/challenges", json=challenge_body(), headers=d_admin)
    published = (await client.post("/v1/challenges", json=challenge_body(), headers=d_admin)).json()["id"]
    await client.post(f"/v1/challenges/{published}/submit", headers=d_admin)
    approved = await client.post(f"/v1/challenges/{published}/approve", headers=actors["platform_admin"].headers)
    assert approved.status_code == 200, approved.text
    application = await client.post(
        f"/v1/challenges/{published}/applications", json=application_body(), headers=actors["c_admin"].headers
    )
    assert application.status_code == 201, application.text
    return {
        "challenge_id": draft.json()["id"],
        "application_id": application.json()["id"],
        "milestone_id": str(uuid.uuid4()),
        "objection_id": str(uuid.uuid4()),
    }


async def _deal_ids(client: httpx.AsyncClient, actors: Actors) -> dict[str, str]:
    """A draft contract and a registered one with a pending amendment between D (seller) and A (buyer), and
    their deal room with an open offer."""
    await actors.add_organisation("registry", OrganisationKind.government, {"registrar": [Role.registrar]})
    d_admin, a_admin = actors["d_admin"].headers, actors["a_admin"].headers
    body = contract_body(actors.organisations["d"], actors.organisations["a"])
    draft = await client.post("/v1/contracts", json=body, headers=d_admin)
    registered = (await client.post("/v1/contracts", json=body, headers=d_admin)).json()["id"]
    for step, headers, step_body in [
        ("request-signatures", d_admin, None),
        ("sign", d_admin, {"version": 1}),
        ("sign", a_admin, {"version": 1}),
        ("submit", d_admin, None),
        ("register", actors["registrar"].headers, None),
    ]:
        response = await client.post(f"/v1/contracts/{registered}/{step}", json=step_body, headers=headers)
        assert response.status_code == 200, response.text
    amendment = await client.post(f"/v1/contracts/{registered}/amendments", json=AMENDMENT, headers=d_admin)
    assert amendment.status_code == 201, amendment.text
    room = await client.post(
        "/v1/deal-rooms",
        json={"title": "私下洽谈", "side": "seller", "counterpart_organisation_id": str(actors.organisations["a"])},
        headers=d_admin,
    )
    offer = await client.post(
        f"/v1/deal-rooms/{room.json()['id']}/offers",
        json={"price_fen": 100_000_000, "transfer_mode": "license", "terms": "普通许可"},
        headers=d_admin,
    )
    assert offer.status_code == 201, offer.text
    return {
        "contract_id": draft.json()["id"],
        "registered_contract_id": registered,
        "amendment_id": amendment.json()["id"],
        "room_id": room.json()["id"],
        "offer_id": offer.json()["id"],
    }


def _routes_with_ids(objects: set[str] = PRIVATE_OBJECTS) -> list[APIRoute]:
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    return [route for route in routes if set(re.findall(r"{(\w+)}", route.path)) & objects]


def _concrete_path(route: APIRoute, ids: dict[str, str]) -> str:
    path = route.path
    for name in re.findall(r"{(\w+)}", path):
        value = ids.get(name) or ids["/".join(path.split("/")[:3]) + "/" + name]
        path = path.replace("{" + name + "}", value)
    return path


async def test_every_route_taking_an_id_hides_or_refuses_another_organisations_objects(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    ids = await _private_ids(client, actors)
    routes = _routes_with_ids()
    assert len(routes) >= 30
    intruders = [actors["b_admin"], actors["b_member"], actors["official"]]
    for route in routes:
        path = _concrete_path(route, ids)
        for method in route.methods:
            for intruder in intruders:
                response = await client.request(method, path, json=BODIES.get(route.name), headers=intruder.headers)
                assert response.status_code in (403, 404), (method, path, intruder.roles, response.text)


async def test_the_owner_still_reads_the_same_objects(client: httpx.AsyncClient, actors: Actors) -> None:
    ids = await _private_ids(client, actors)
    owner = actors["c_admin"].headers
    assert (await client.get(f"/v1/organisations/{ids['organisation_id']}", headers=owner)).status_code == 200
    assert (await client.get(f"/v1/users/{ids['user_id']}", headers=owner)).status_code == 200
    keys = (await client.get("/v1/api-keys", headers=owner)).json()["items"]
    assert [item["id"] for item in keys] == [ids["api_key_id"]]
    d_admin = actors["d_admin"].headers
    for prefix in ("/v1/achievements", "/v1/demands"):
        listing = await client.get(f"{prefix}/{ids[prefix + '/listing_id']}", headers=d_admin)
        assert listing.status_code == 200
    assert (await client.get(f"/v1/challenges/{ids['challenge_id']}", headers=d_admin)).status_code == 200
    for party in (d_admin, actors["a_member"].headers):
        assert (await client.get(f"/v1/contracts/{ids['contract_id']}", headers=party)).status_code == 200
        assert (await client.get(f"/v1/deal-rooms/{ids['room_id']}/offers", headers=party)).status_code == 200


async def test_officials_read_registered_contracts_change_nothing_and_see_no_deal_room(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    """Every contract route on a registered contract: the official reads (GET) but is refused every change;
    B still sees nothing; every deal-room route is 404 for the official."""
    ids = await _private_ids(client, actors)
    registered = ids | {"contract_id": ids["registered_contract_id"]}
    official = actors["official"].headers
    contract_routes = _routes_with_ids(CONTRACT_OBJECTS)
    assert len(contract_routes) >= 15
    for route in contract_routes:
        path = _concrete_path(route, registered)
        for method in route.methods:
            response = await client.request(method, path, json=BODIES.get(route.name), headers=official)
            expected = (200,) if method == "GET" else (403,)
            assert response.status_code in expected, (method, path, response.text)
            for intruder in (actors["b_admin"], actors["b_member"]):
                response = await client.request(method, path, json=BODIES.get(route.name), headers=intruder.headers)
                assert response.status_code == 404, (method, path, intruder.roles, response.text)
    for route in _routes_with_ids(DEAL_ROOM_OBJECTS):
        for method in route.methods:
            response = await client.request(
                method, _concrete_path(route, ids), json=BODIES.get(route.name), headers=official
            )
            assert response.status_code == 404, (method, route.path, response.text)


async def test_lists_never_include_another_organisations_private_rows(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    await _private_ids(client, actors)
    intruder = actors["b_admin"].headers
    assert (await client.get("/v1/api-keys", headers=intruder)).json()["items"] == []
    users = await client.get(f"/v1/organisations/{actors.organisations['c']}/users", headers=intruder)
    assert users.status_code == 404
    audit = (await client.get("/v1/audit-events", headers=intruder)).json()["items"]
    assert all(item["organisation_id"] == str(actors.organisations["b"]) for item in audit)


async def test_members_cannot_grant_roles_or_create_users(client: httpx.AsyncClient, actors: Actors) -> None:
    member = actors["a_member"].headers
    org_a = actors.organisations["a"]
    response = await client.post(f"/v1/organisations/{org_a}/users", json=BODIES["create_user"], headers=member)
    assert response.status_code == 403
    admin = actors["a_admin"].headers
    escalate = await client.put(
        f"/v1/users/{actors['a_member'].user_id}/roles", json={"roles": ["platform_admin"]}, headers=admin
    )
    assert escalate.status_code == 403


async def test_unknown_ids_are_404_not_500(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = actors["platform_admin"].headers
    assert (await client.get(f"/v1/organisations/{uuid.uuid4()}", headers=admin)).status_code == 404
    assert (await client.get(f"/v1/users/{uuid.uuid4()}", headers=admin)).status_code == 404
    replay = await client.post("/v1/admin/outbox/dead-letters/999999999999/replay", headers=admin)
    assert replay.status_code == 404
