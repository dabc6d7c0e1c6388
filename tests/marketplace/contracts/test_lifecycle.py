from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.contracts.specs import CONTRACT_LIFECYCLE
from services.marketplace.models import AuditEvent
from tests.marketplace.contracts.conftest import Deals, contract_body, topics


async def test_a_contract_goes_from_draft_to_completed_with_events_and_audit(app: FastAPI, deals: Deals) -> None:
    draft = await deals.create()
    assert (draft["status"], draft["version"], draft["signatures"]) == ("draft", 1, [])
    assert draft["seller"]["legal_nature"] == "university"
    assert draft["buyer"]["legal_nature"] == "enterprise"
    assert draft["registering_side"] == "seller"
    contract_id = draft["id"]
    await deals.act(contract_id, "request-signatures", "b_member")
    await deals.act(contract_id, "sign", "a_admin", {"version": 1})
    signed = await deals.act(contract_id, "sign", "b_admin", {"version": 1})
    assert signed["status"] == "signed"
    assert {signature["side"] for signature in signed["signatures"]} == {"seller", "buyer"}
    assert signed["signed_on"] is not None
    await deals.act(contract_id, "submit", "a_member")
    registered = await deals.act(contract_id, "register", "registrar")
    assert registered["status"] == "registered"
    assert re.fullmatch(r"3401\d{4}\d{8}", registered["registration_number"])
    assert registered["registered_on"] is not None
    await deals.act(contract_id, "start-performance", "b_admin")
    completed = await deals.act(contract_id, "complete", "a_admin")
    assert completed["status"] == "completed"
    assert await topics(app, contract_id) == [
        "contract.drafted",
        "contract.awaiting_signatures",
        "contract.signature_added",
        "contract.signature_added",
        "contract.signed",
        "contract.submitted",
        "contract.registered",
        "contract.performing",
        "contract.completed",
    ]
    async with app.state.sessionmaker() as session:
        actions = list(
            await session.scalars(
                select(AuditEvent.action).where(AuditEvent.object_id == contract_id).order_by(AuditEvent.id)
            )
        )
    assert actions[0] == "contract.create"
    assert actions[-1] == "contract.complete"


async def test_an_edit_after_a_signature_voids_the_signatures(deals: Deals, client: httpx.AsyncClient) -> None:
    contract = await deals.create()
    contract_id = contract["id"]
    await deals.act(contract_id, "request-signatures", "a_member")
    half = await deals.act(contract_id, "sign", "a_admin", {"version": 1})
    assert [signature["side"] for signature in half["signatures"]] == ["seller"]
    edited = await client.patch(
        f"/v1/contracts/{contract_id}",
        json={"subject": "独占许可改为普通许可。"},
        headers=deals.headers("b_member"),
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["version"], edited.json()["signatures"]) == (2, [])
    assert edited.json()["status"] == "awaiting_signatures"
    stale = await deals.act(contract_id, "sign", "b_admin", {"version": 1}, status=409)
    assert stale["current_version"] == 2
    await deals.act(contract_id, "sign", "b_admin", {"version": 2})
    signed = await deals.act(contract_id, "sign", "a_admin", {"version": 2})
    assert signed["status"] == "signed"
    again = await deals.act(contract_id, "sign", "a_admin", {"version": 2}, status=409)
    assert again["type"].endswith("/illegal-transition")
    edited_after = await client.patch(
        f"/v1/contracts/{contract_id}", json={"terms": "争议提交合肥仲裁委员会。"}, headers=deals.headers("a_member")
    )
    assert (edited_after.json()["status"], edited_after.json()["version"]) == ("awaiting_signatures", 3)
    assert edited_after.json()["signatures"] == []
    assert edited_after.json()["signed_on"] is None


async def test_only_each_partys_org_admin_signs_and_only_once(deals: Deals) -> None:
    contract = await deals.create()
    contract_id = contract["id"]
    await deals.act(contract_id, "request-signatures", "a_member")
    await deals.act(contract_id, "sign", "a_member", {"version": 1}, status=403)
    await deals.act(contract_id, "sign", "broker", {"version": 1}, status=404)
    await deals.act(contract_id, "sign", "a_admin", {"version": 1})
    await deals.act(contract_id, "sign", "a_admin", {"version": 1}, status=409)


async def test_signatures_wait_for_a_complete_record(deals: Deals, client: httpx.AsyncClient) -> None:
    contract = await deals.create(milestones=[], subject=None, contract_subtype=None, valid_until=None)
    await deals.act(contract["id"], "sign", "a_admin", {"version": 1}, status=409)
    missing = await deals.act(contract["id"], "request-signatures", "a_member", status=422)
    assert {error["loc"][-1] for error in missing["errors"]} == {
        "milestones",
        "subject",
        "contract_subtype",
        "valid_until",
    }


async def test_illegal_steps_are_409_and_change_nothing(deals: Deals, client: httpx.AsyncClient) -> None:
    draft = await deals.create()
    for action, actor, body in [
        ("submit", "a_member", None),
        ("register", "registrar", None),
        ("start-performance", "a_admin", None),
        ("complete", "a_admin", None),
    ]:
        response = await client.post(f"/v1/contracts/{draft['id']}/{action}", json=body, headers=deals.headers(actor))
        assert response.status_code in (404, 409), (action, response.text)
    submitted = await deals.submitted()
    url = f"/v1/contracts/{submitted['id']}"
    before = (await client.get(url, headers=deals.headers("a_admin"))).json()
    edit = await client.patch(url, json={"title": "改名的合同"}, headers=deals.headers("a_admin"))
    assert edit.status_code == 409
    assert edit.json()["allowed_actions"] == ["register", "reject"]
    assert (await client.post(f"{url}/cancel", headers=deals.headers("a_admin"))).status_code == 409
    assert (await client.post(f"{url}/submit", headers=deals.headers("a_admin"))).status_code == 409
    assert (await client.get(url, headers=deals.headers("a_admin"))).json() == before


async def test_rejection_keeps_the_reasons_and_the_seller_resubmits(deals: Deals, client: httpx.AsyncClient) -> None:
    contract = await deals.submitted()
    contract_id = contract["id"]
    await deals.act(contract_id, "reject", "registrar", {"reasons": ["other"]}, status=422)
    rejected = await deals.act(
        contract_id,
        "reject",
        "registrar",
        {"reasons": ["unclear_subject", "missing_documents"], "comment": "请明确许可范围并补充专利证书"},
    )
    assert rejected["status"] == "rejected"
    assert rejected["rejection_reasons"] == ["unclear_subject", "missing_documents"]
    assert rejected["registration_number"] is None
    edited = await client.patch(
        f"/v1/contracts/{contract_id}",
        json={
            "subject": "许可买方在合肥市内独占实施专利 ZL201811564288.X，期限五年，不得分许可。",
            "attachments": [
                {"file_name": "专利证书.pdf", "media_type": "application/pdf", "size_bytes": 1024, "sha256": "a" * 64}
            ],
        },
        headers=deals.headers("a_member"),
    )
    assert edited.json()["status"] == "awaiting_signatures"
    await deals.act(contract_id, "sign", "a_admin", {"version": 2})
    await deals.act(contract_id, "sign", "b_admin", {"version": 2})
    await deals.act(contract_id, "submit", "b_member", status=403)
    await deals.act(contract_id, "submit", "a_member")
    assert (await deals.act(contract_id, "register", "registrar"))["status"] == "registered"


async def test_an_outside_party_signs_on_paper_recorded_by_the_platform_party(deals: Deals) -> None:
    outside = {"name": "上海某新材料有限公司", "region_code": "310104", "legal_nature": "enterprise"}
    contract = await deals.create(author="a_member", buyer=outside)
    assert contract["buyer"] == {
        "organisation_id": None,
        "name": "上海某新材料有限公司",
        "uscc": None,
        "region_code": "310104",
        "country_code": None,
        "legal_nature": "enterprise",
        "cross_border": False,
    }
    contract_id = contract["id"]
    await deals.act(contract_id, "request-signatures", "a_member")
    note = {"side": "buyer", "version": 1, "note": "对方于 2026-03-01 签署纸质合同，扫描件已归档"}
    await deals.act(contract_id, "offline-signatures", "a_member", note, status=403)
    await deals.act(contract_id, "offline-signatures", "a_admin", note | {"side": "seller"}, status=403)
    await deals.act(contract_id, "offline-signatures", "a_admin", note | {"version": 2}, status=409)
    half = await deals.act(contract_id, "offline-signatures", "a_admin", note)
    assert half["signatures"][0]["offline"] is True
    signed = await deals.act(contract_id, "sign", "a_admin", {"version": 1})
    assert signed["status"] == "signed"


async def test_the_buyer_submits_a_technology_import_and_an_outside_seller_registers_elsewhere(deals: Deals) -> None:
    foreign = {"name": "Fraunhofer-Gesellschaft", "country_code": "de", "legal_nature": "research_institute"}
    imported = await deals.create(author="b_member", seller=foreign, buyer=deals.actors.organisations["b"])
    assert imported["seller"]["country_code"] == "DE"
    assert imported["registering_side"] == "buyer"
    await deals.act(imported["id"], "request-signatures", "b_member")
    await deals.act(
        imported["id"], "offline-signatures", "b_admin", {"side": "seller", "version": 1, "note": "已签署英文合同"}
    )
    await deals.act(imported["id"], "sign", "b_admin", {"version": 1})
    assert (await deals.act(imported["id"], "submit", "b_member"))["status"] == "submitted"

    domestic = {"name": "南京某研究所", "region_code": "320102", "legal_nature": "research_institute"}
    elsewhere = await deals.create(author="b_member", seller=domestic, buyer=deals.actors.organisations["b"])
    await deals.act(elsewhere["id"], "request-signatures", "b_member")
    await deals.act(elsewhere["id"], "offline-signatures", "b_admin", {"side": "seller", "version": 1, "note": "纸质"})
    await deals.act(elsewhere["id"], "sign", "b_admin", {"version": 1})
    refused = await deals.act(elsewhere["id"], "submit", "b_member", status=409)
    assert "所在地" in refused["detail"]


PARTY_PROBLEMS = [
    ({"name": "某公司", "legal_nature": "enterprise"}, "二者取其一"),
    ({"name": "某公司", "region_code": "310104", "country_code": "US", "legal_nature": "enterprise"}, "二者取其一"),
    ({"name": "某公司", "country_code": "CN", "legal_nature": "enterprise"}, "行政区划代码"),
    ({"name": "某公司", "country_code": "XX", "legal_nature": "enterprise"}, "ISO 3166-1"),
    ({"name": "某公司", "region_code": "349999", "legal_nature": "enterprise"}, "不存在"),
    ({"name": "某公司", "region_code": "310104"}, "法人性质"),
    ({"organisation_id": "00000000-0000-0000-0000-000000000001", "name": "某某公司"}, "organisation_id"),
]


async def test_parties_are_validated_field_by_field(client: httpx.AsyncClient, deals: Deals) -> None:
    for party, message in PARTY_PROBLEMS:
        body = contract_body(deals.actors.organisations["a"], party)
        response = await client.post("/v1/contracts", json=body, headers=deals.headers("a_member"))
        assert response.status_code == 422, party
        errors = response.json()["errors"]
        assert any(message in error["msg"] and error["loc"][:2] == ["body", "buyer"] for error in errors), errors


async def test_who_may_draft_a_contract(client: httpx.AsyncClient, deals: Deals) -> None:
    a, b, c = (deals.actors.organisations[key] for key in "abc")
    others = await client.post("/v1/contracts", json=contract_body(a, b), headers=deals.headers("d_admin"))
    assert others.status_code == 403
    official = await client.post("/v1/contracts", json=contract_body(a, b), headers=deals.headers("official"))
    assert official.status_code == 403
    unverified = await client.post("/v1/contracts", json=contract_body(a, c), headers=deals.headers("a_admin"))
    assert unverified.status_code == 422
    same = await client.post("/v1/contracts", json=contract_body(a, a), headers=deals.headers("a_admin"))
    assert same.status_code == 422
    by_broker = await client.post("/v1/contracts", json=contract_body(a, b), headers=deals.headers("broker"))
    assert by_broker.status_code == 201, by_broker.text
    assert by_broker.json()["broker_id"] == str(deals.actors["broker"].user_id)
    mass = await client.post(
        "/v1/contracts", json=contract_body(a, b, status="registered"), headers=deals.headers("a_admin")
    )
    assert mass.status_code == 422


async def test_creating_a_contract_is_idempotent(client: httpx.AsyncClient, deals: Deals) -> None:
    body = contract_body(deals.actors.organisations["a"], deals.actors.organisations["b"])
    headers = deals.headers("a_admin") | {"Idempotency-Key": "contract-create-0001"}
    first = await client.post("/v1/contracts", json=body, headers=headers)
    second = await client.post("/v1/contracts", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["idempotent-replayed"] == "true"
    listed = await client.get("/v1/contracts", headers=deals.headers("a_admin"))
    assert [item["id"] for item in listed.json()["items"]] == [first.json()["id"]]


async def test_an_unregistered_contract_can_be_cancelled_a_registered_one_cannot(deals: Deals) -> None:
    contract = await deals.signed()
    await deals.act(contract["id"], "cancel", "a_member", status=403)
    assert (await deals.act(contract["id"], "cancel", "b_admin"))["status"] == "cancelled"
    registered = await deals.registered()
    await deals.act(registered["id"], "cancel", "a_admin", status=409)


def test_the_lifecycle_table_is_explicit() -> None:
    table = CONTRACT_LIFECYCLE.transitions
    assert table[("signed", "edit")] == "awaiting_signatures"
    assert table[("submitted", "register")] == "registered"
    assert ("registered", "edit") not in table
    assert ("registered", "cancel") not in table
    assert CONTRACT_LIFECYCLE.allowed_actions("registered") == ["amend", "start_performance", "terminate"]
