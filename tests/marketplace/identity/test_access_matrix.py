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
from sqlalchemy import select

from services.marketplace.app import ROUTERS
from services.marketplace.db import unit_of_work
from services.marketplace.listings.imports import INLINE_ROW_LIMIT
from services.marketplace.models import Notification, User
from services.marketplace.models.identity import OrganisationKind, Role
from services.marketplace.notifications.service import Message, notify
from tests.marketplace.challenges.conftest import CHALLENGE_BODIES, application_body, challenge_body
from tests.marketplace.contracts.conftest import contract_body, milestones
from tests.marketplace.listings.test_imports import as_csv
from tests.marketplace.listings.test_imports import row as import_row
from tests.support import Actors, achievement_body, demand_body

# Object ids owned by organisation C (unverified, so nothing of it is public) for each path parameter;
# contracts, amendments, deal rooms and offers are D's and A's, which neither B nor the official may see;
# the challenge is D's draft and the application C's draft (the milestone and objection ids name nothing);
# the payment, the account and the voucher (issued by another government body) are D's, the notification is
# C's admin's, the import job A's (the redemption and statement-line ids name nothing).
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
    "payment_id",
    "account_id",
    "voucher_id",
    "redemption_id",
    "line_id",
    "notification_id",
    "job_id",
}
# Every list a user of another organisation may call where the private objects above could leak.
PRIVATE_LISTS = [
    "/v1/organisations",
    "/v1/achievements",
    "/v1/demands",
    "/v1/contact-requests",
    "/v1/challenges",
    "/v1/contracts",
    "/v1/deal-rooms",
    "/v1/settlement/payments",
    "/v1/settlement/accounts",
    "/v1/settlement/vouchers",
    "/v1/notifications",
    "/v1/api-keys",
]
# Path parameters that name nothing private, and why.
NOT_PRIVATE = {
    "broker_id": "broker records are public (/v1/brokers)",
    "programme_id": "subsidy programmes are public data that officials manage",
    "code": "statistics indicators are platform-wide, for officials and platform staff only",
    "year": "a year of a platform-wide statistics indicator",
    "milestone_index": "a position in a contract, whose contract_id is private",
    "name": "a static file of the dashboard page",
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
    "reject_payment": {"reason": "越权"},
    "refund_payment": {"reason": "越权"},
    "redeem_voucher": {"contract_id": str(uuid.UUID(int=1)), "amount_fen": 100},
    "resolve_bank_statement_line": {"action": "dismiss", "note": "越权"},
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
    return (
        {
            "organisation_id": str(actors.organisations["c"]),
            "user_id": str(owner.user_id),
            "api_key_id": key.json()["id"],
            "event_id": "1",
            "/v1/achievements/listing_id": achievement.json()["id"],
            "/v1/demands/listing_id": demand.json()["id"],
            "request_id": request.json()["id"],
            "milestone_index": "0",
            **await _challenge_ids(client, actors),
        }
        | await _deal_ids(client, actors)
        | await _money_and_notice_ids(client, actors)
    )


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


async def _paid(client: httpx.AsyncClient, actors: Actors, payer: str, purpose: str) -> str:
    """A bank transfer the payer records and platform finance confirms."""
    headers = actors[payer].headers | {"Idempotency-Key": uuid.uuid4().hex}
    body = {"purpose": purpose, "amount_fen": 1_000_000, "bank_reference": f"REF{uuid.uuid4().hex[:16].upper()}"}
    payment = await client.post("/v1/settlement/payments", json=body, headers=headers)
    assert payment.status_code == 201, payment.text
    payment_id: str = payment.json()["id"]
    confirmed = await client.post(
        f"/v1/settlement/payments/{payment_id}/confirm", headers=actors["platform_admin"].headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return payment_id


async def _money_and_notice_ids(client: httpx.AsyncClient, actors: Actors) -> dict[str, str]:
    """D's escrow deposit and escrow account, a voucher that another government body issued to D, a notification
    to C's admin and A's import job."""
    await actors.add_organisation("treasury", OrganisationKind.government, {"treasurer": [Role.official]})
    deposit = await _paid(client, actors, "d_admin", "escrow_deposit")
    await _paid(client, actors, "treasurer", "voucher_fund")
    accounts = (await client.get("/v1/settlement/accounts", headers=actors["d_admin"].headers)).json()
    voucher = await client.post(
        "/v1/settlement/vouchers",
        json={
            "holder_organisation_id": str(actors.organisations["d"]),
            "title": "合创券",
            "budget_fen": 500_000,
            "valid_from": "2026-01-01",
            "valid_until": "2099-12-31",
        },
        headers=actors["treasurer"].headers | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert voucher.status_code == 201, voucher.text
    async with unit_of_work(actors.app.state.sessionmaker) as session:
        owner = await session.get(User, actors["c_admin"].user_id)
        assert owner is not None
        await notify(session, [owner], Message("notice", "私信", "只给 C", f"matrix-{uuid.uuid4()}", {}))
        notification = await session.scalar(select(Notification.id).where(Notification.user_id == owner.id))
    rows = [import_row(**{"标题": f"成果 {n}"}) for n in range(INLINE_ROW_LIMIT + 1)]
    job = await client.post(
        "/v1/achievements/import",
        files={"file": ("大批量.csv", as_csv(rows))},
        headers=actors["a_admin"].headers,
    )
    assert job.status_code == 202, job.text
    return {
        "payment_id": deposit,
        "account_id": next(account["id"] for account in accounts if account["kind"] == "escrow"),
        "voucher_id": voucher.json()["id"],
        "redemption_id": str(uuid.uuid4()),
        "line_id": str(uuid.uuid4()),
        "notification_id": str(notification),
        "job_id": job.json()["id"],
    }


def test_every_path_parameter_is_either_private_or_explained() -> None:
    """A route with a new kind of id is not silently left out of the matrix."""
    routes = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    parameters = {name for route in routes for name in re.findall(r"{(\w+)}", route.path)}
    assert parameters - PRIVATE_OBJECTS - NOT_PRIVATE.keys() == set()


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
    ids = await _private_ids(client, actors)
    registered = ids.pop("registered_contract_id")  # officials read every registered contract
    private = set(ids.values())
    intruder = actors["b_admin"].headers
    assert (await client.get("/v1/api-keys", headers=intruder)).json()["items"] == []
    users = await client.get(f"/v1/organisations/{actors.organisations['c']}/users", headers=intruder)
    assert users.status_code == 404
    audit = (await client.get("/v1/audit-events", headers=intruder)).json()["items"]
    assert all(item["organisation_id"] == str(actors.organisations["b"]) for item in audit)
    for reader in (actors["b_admin"], actors["b_member"], actors["official"]):
        for path in PRIVATE_LISTS:
            response = await client.get(path, headers=reader.headers, params={"limit": 100})
            assert response.status_code in (200, 403), (path, response.text)
            if response.status_code == 200:
                body = response.json()
                listed = {item["id"] for item in (body["items"] if isinstance(body, dict) else body)}
                hidden = private if reader is actors["official"] else private | {registered}
                assert not listed & hidden, (path, reader.roles, listed & hidden)
        for kind in ("achievements", "demands"):
            visible = (await client.get(f"/v1/{kind}", headers=reader.headers, params={"limit": 100})).json()
            count = (await client.get(f"/v1/{kind}/count", headers=reader.headers)).json()
            assert count["count"] == len(visible["items"]), (kind, reader.roles)


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
