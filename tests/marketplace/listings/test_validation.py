from __future__ import annotations

import httpx
import pytest

from tests.support import Actors, achievement_body, demand_body


def first_error(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    error: dict[str, object] = response.json()["errors"][0]
    return error


@pytest.mark.parametrize(
    ("overrides", "location", "fragment"),
    [
        ({"ip_items": [{"type": "invention_patent", "number": "ZL201811564288.1"}]}, "ip_items", "应为 X"),
        ({"ip_items": [{"type": "utility_model", "number": "ZL201811564288.X"}]}, "ip_items", "类型码"),
        ({"ip_items": [{"type": "invention_patent", "number": "not-a-number"}]}, "ip_items", ""),
        ({"trl": 10}, "trl", ""),
        ({"trl": 0}, "trl", ""),
        ({"trl": "6"}, "trl", ""),
        ({"price_mode": "negotiable", "price_fen": 100}, "body", "面议"),
        ({"price_mode": "fixed", "price_fen": None}, "body", "价格"),
        ({"price_fen": -1}, "price_fen", ""),
        ({"price_fen": 12.5}, "price_fen", ""),
        ({"price_fen": 10**16}, "price_fen", ""),
        ({"transfer_modes": []}, "transfer_modes", ""),
        ({"transfer_modes": ["gift"]}, "transfer_modes", ""),
        ({"region_code": "340199"}, "region_code", "不存在"),
        ({"field_code": "astrology"}, "field_code", "未知"),
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until", "晚于"),
        ({"valid_until": "2030-01-01T00:00:00"}, "valid_until", ""),
        ({"valid_until": "9999-12-31T23:59:59-14:00"}, "valid_until", "超出"),
        ({"title": "标题\x00"}, "title", "NUL"),
        ({"keywords": ["固态\x00电池"]}, "keywords", "NUL"),
        ({"title": ""}, "title", ""),
        ({"contact": {"name": "无联系方式"}}, "contact", "电话或邮箱"),
    ],
)
async def test_achievement_validation_names_the_field(
    client: httpx.AsyncClient, actors: Actors, overrides: dict[str, object], location: str, fragment: str
) -> None:
    error = first_error(
        await client.post("/v1/achievements", json=achievement_body(**overrides), headers=actors["a_admin"].headers)
    )
    assert location in error["loc"]  # type: ignore[operator]
    assert fragment in str(error["msg"])


async def test_patent_numbers_are_stored_in_canonical_form(client: httpx.AsyncClient, actors: Actors) -> None:
    body = achievement_body(
        ip_items=[
            {"type": "invention_patent", "number": "ZL 2018 1 1564288.x", "status": "granted"},
            {"type": "software_copyright", "number": "2021SR0662127", "status": "granted"},
        ]
    )
    created = await client.post("/v1/achievements", json=body, headers=actors["a_admin"].headers)
    assert created.status_code == 201, created.text
    assert [item["number"] for item in created.json()["ip_items"]] == ["201811564288.X", "2021SR0662127"]


@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"budget_min_fen": 300, "budget_max_fen": 200}, "body"),
        ({"deadline": "2001-01-01T00:00:00Z"}, "deadline"),
        ({"min_trl": 12}, "min_trl"),
        ({"confidentiality": "secret"}, "confidentiality"),
        ({"cooperation_modes": []}, "cooperation_modes"),
        ({"budget_min_fen": "100"}, "budget_min_fen"),
    ],
)
async def test_demand_validation_names_the_field(
    client: httpx.AsyncClient, actors: Actors, overrides: dict[str, object], location: str
) -> None:
    error = first_error(
        await client.post("/v1/demands", json=demand_body(**overrides), headers=actors["b_admin"].headers)
    )
    assert location in error["loc"]  # type: ignore[operator]


async def test_partial_updates_are_checked_against_the_stored_values(client: httpx.AsyncClient, actors: Actors) -> None:
    owner = actors["b_admin"].headers
    draft = (await client.post("/v1/demands", json=demand_body(), headers=owner)).json()
    response = await client.patch(f"/v1/demands/{draft['id']}", json={"budget_min_fen": 900_000_000}, headers=owner)
    error = first_error(response)
    assert "预算" in str(error["msg"])
    achievement = (
        await client.post(
            "/v1/achievements",
            json=achievement_body(price_mode="negotiable", price_fen=None),
            headers=actors["a_admin"].headers,
        )
    ).json()
    to_fixed = await client.patch(
        f"/v1/achievements/{achievement['id']}", json={"price_mode": "fixed"}, headers=actors["a_admin"].headers
    )
    assert first_error(to_fixed)["loc"] == ["body", "price_fen"]


async def test_duplicates_in_mode_lists_collapse(client: httpx.AsyncClient, actors: Actors) -> None:
    body = achievement_body(transfer_modes=["license", "license", "transfer"], keywords=["锂电", "锂电"])
    created = (await client.post("/v1/achievements", json=body, headers=actors["a_admin"].headers)).json()
    assert created["transfer_modes"] == ["license", "transfer"]
    assert created["keywords"] == ["锂电"]
