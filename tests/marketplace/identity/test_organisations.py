from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from services.marketplace.models import AuditEvent, Organisation, OutboxEvent
from tests.support import Actors, valid_uscc

PROBLEM = "application/problem+json"


def registration(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "university",
        "name": "中国科学技术大学（测试）",
        "uscc": valid_uscc("1234000"),
        "region_code": "340104",
        "admin": {
            "email": f"admin.{uuid.uuid4().hex[:8]}@ustc.example.cn",
            "display_name": "科研处",
            "password": "a-long-enough-password",
        },
    }
    body.update(overrides)
    return body


async def test_registering_an_organisation_creates_it_unverified_with_audit_and_event(
    client: httpx.AsyncClient, app: object
) -> None:
    response = await client.post("/v1/organisations", json=registration())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["organisation"]["verification_status"] == "registered"
    assert created["admin"]["roles"] == ["org_admin"]
    async with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        org_id = uuid.UUID(created["organisation"]["id"])
        assert await session.scalar(select(func.count()).where(AuditEvent.object_id == str(org_id))) == 1
        topics = list(await session.scalars(select(OutboxEvent.topic).where(OutboxEvent.aggregate_id == str(org_id))))
        assert topics == ["organisation.registered"]


async def test_uscc_with_a_wrong_check_character_is_a_field_error_naming_the_expected_one(
    client: httpx.AsyncClient,
) -> None:
    uscc = valid_uscc()
    wrong = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    response = await client.post("/v1/organisations", json=registration(uscc=wrong))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert errors[0]["loc"] == ["body", "uscc"]
    assert f"应为 {uscc[17]}" in errors[0]["msg"]


@pytest.mark.parametrize(
    ("region_code", "fragment"),
    [("999999", "不存在"), ("340199", "不存在"), ("34010", "6 位"), ("abcdef", "6 位")],
)
async def test_unknown_or_malformed_region_codes_are_rejected(
    client: httpx.AsyncClient, region_code: str, fragment: str
) -> None:
    response = await client.post("/v1/organisations", json=registration(region_code=region_code))
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["loc"] == ["body", "region_code"]
    assert fragment in error["msg"]


async def test_a_district_of_another_province_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/organisations", json=registration(region_code="440305"))
    assert response.status_code == 201


async def test_platform_kind_cannot_be_self_registered(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/organisations", json=registration(kind="platform"))
    assert response.status_code == 422


async def test_a_second_registration_with_the_same_uscc_conflicts_and_writes_nothing(
    client: httpx.AsyncClient, app: object
) -> None:
    body = registration()
    assert (await client.post("/v1/organisations", json=body)).status_code == 201
    again = registration(uscc=body["uscc"])
    response = await client.post("/v1/organisations", json=again)
    assert response.status_code == 409
    async with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        assert await session.scalar(select(func.count()).select_from(Organisation)) == 1


async def test_platform_admin_verifies_and_rejects_with_reason(client: httpx.AsyncClient, actors: Actors) -> None:
    org_c = actors.organisations["c"]
    admin = actors["platform_admin"].headers
    response = await client.post(f"/v1/organisations/{org_c}/reject", json={"reason": "营业执照不清晰"}, headers=admin)
    assert response.status_code == 200
    assert response.json()["verification_status"] == "rejected"
    assert response.json()["verification_reason"] == "营业执照不清晰"

    again = await client.post(f"/v1/organisations/{org_c}/verify", headers=admin)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/illegal-transition")

    resubmitted = await client.post(f"/v1/organisations/{org_c}/resubmit", headers=actors["c_admin"].headers)
    assert resubmitted.json()["verification_status"] == "registered"
    verified = await client.post(f"/v1/organisations/{org_c}/verify", headers=admin)
    assert verified.json()["verification_status"] == "verified"
    assert verified.json()["verified_at"] is not None


async def test_rejection_needs_a_reason(client: httpx.AsyncClient, actors: Actors) -> None:
    org_c = actors.organisations["c"]
    response = await client.post(
        f"/v1/organisations/{org_c}/reject", json={"reason": "  "}, headers=actors["platform_admin"].headers
    )
    assert response.status_code == 422


async def test_an_organisation_cannot_verify_itself(client: httpx.AsyncClient, actors: Actors) -> None:
    org_c = actors.organisations["c"]
    response = await client.post(f"/v1/organisations/{org_c}/verify", headers=actors["c_admin"].headers)
    assert response.status_code == 403


async def test_unverified_organisations_are_invisible_to_other_organisations(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    org_c = actors.organisations["c"]
    assert (await client.get(f"/v1/organisations/{org_c}", headers=actors["a_admin"].headers)).status_code == 404
    assert (await client.get(f"/v1/organisations/{org_c}")).status_code == 404
    assert (await client.get(f"/v1/organisations/{org_c}", headers=actors["c_admin"].headers)).status_code == 200
    listed = await client.get("/v1/organisations", headers=actors["a_admin"].headers)
    assert str(org_c) not in {item["id"] for item in listed.json()["items"]}


async def test_organisation_list_is_paginated_by_cursor(client: httpx.AsyncClient, actors: Actors) -> None:
    admin = actors["platform_admin"].headers
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/organisations", params=params, headers=admin)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == len(actors.organisations)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"limit": 1e9}, {"cursor": "not-a-cursor"}, {"cursor": "W3sidSI6IjEifV0"}]
)
async def test_bad_page_parameters_are_rejected(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    response = await client.get("/v1/organisations", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_verified_organisation_cannot_rename_itself(client: httpx.AsyncClient, actors: Actors) -> None:
    org_a = actors.organisations["a"]
    response = await client.patch(
        f"/v1/organisations/{org_a}", json={"name": "新名字"}, headers=actors["a_admin"].headers
    )
    assert response.status_code == 409
    by_staff = await client.patch(
        f"/v1/organisations/{org_a}", json={"name": "新名字"}, headers=actors["platform_admin"].headers
    )
    assert by_staff.status_code == 200
    assert by_staff.json()["name"] == "新名字"


async def test_unknown_fields_are_refused(client: httpx.AsyncClient, actors: Actors) -> None:
    org_c = actors.organisations["c"]
    response = await client.patch(
        f"/v1/organisations/{org_c}", json={"verification_status": "verified"}, headers=actors["c_admin"].headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "extra_forbidden"
