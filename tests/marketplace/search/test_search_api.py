from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from services.marketplace.db import unit_of_work
from services.marketplace.models import ListingKind
from services.marketplace.search.service import INDEXED_KINDS, check_index, repair_index
from services.matching.embedded import EmbeddedEngine
from services.matching.indexes import ACHIEVEMENTS
from services.matching.query import SearchQuery
from tests.marketplace.conftest import Publish
from tests.marketplace.search.conftest import Relay
from tests.support import Actors, achievement_body

ORPHAN = "00000000-0000-0000-0000-00000000dead"


async def search(
    client: httpx.AsyncClient, kind: str, headers: dict[str, str] | None = None, **params: object
) -> dict[str, object]:
    response = await client.get(f"/v1/search/{kind}", params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def ids(result: dict[str, object]) -> set[str]:
    return {hit["document"]["id"] for hit in result["hits"]}  # type: ignore[attr-defined, index]


async def test_published_listings_are_found_with_highlights_and_facets(
    client: httpx.AsyncClient, publish: Publish, relay: Relay
) -> None:
    battery = await publish()
    other = await publish(
        title="工业机器人视觉引导抓取系统",
        summary="基于深度学习的机器人视觉定位。",
        description="适用于汽车焊装线的视觉引导。",
        keywords=["机器人", "视觉"],
        field_code="advanced_manufacturing",
        industry_code="high_end_equipment",
    )
    await relay()
    result = await search(client, "achievements", q="固态电池", facets=["field_code"])
    assert ids(result) == {battery["id"]}
    hit = result["hits"][0]  # type: ignore[index]
    assert "<em>" in "".join(hit["highlights"].values())
    assert "contact" not in hit["document"]
    everything = await search(client, "achievements", facets=["field_code"])
    assert ids(everything) == {battery["id"], other["id"]}
    assert everything["facets"]["field_code"] == {"new_energy": 1, "advanced_manufacturing": 1}  # type: ignore[index]
    assert ids(await search(client, "achievements", field_code="advanced_manufacturing")) == {other["id"]}


async def test_drafts_and_withdrawn_listings_never_appear(
    client: httpx.AsyncClient, actors: Actors, publish: Publish, relay: Relay
) -> None:
    await client.post(
        "/v1/achievements", json=achievement_body(title="草稿中的固态电池技术"), headers=actors["a_admin"].headers
    )
    published = await publish()
    await relay()
    assert ids(await search(client, "achievements", q="固态电池")) == {published["id"]}
    await client.post(f"/v1/achievements/{published['id']}/withdraw", headers=actors["a_admin"].headers)
    await relay()
    assert ids(await search(client, "achievements", q="固态电池")) == set()


async def test_confidential_demands_are_filtered_by_the_server(
    client: httpx.AsyncClient, actors: Actors, publish: Publish, relay: Relay
) -> None:
    public = await publish("demands", owner="b_admin")
    members = await publish("demands", owner="b_admin", confidentiality="members")
    brokers = await publish("demands", owner="b_admin", confidentiality="brokers")
    await relay()
    assert ids(await search(client, "demands", q="热失控")) == {public["id"]}
    assert ids(await search(client, "demands", actors["c_admin"].headers, q="热失控")) == {public["id"]}
    assert ids(await search(client, "demands", actors["a_member"].headers, q="热失控")) == {public["id"], members["id"]}
    assert ids(await search(client, "demands", actors["broker"].headers)) == {
        public["id"],
        members["id"],
        brokers["id"],
    }
    asked = await search(client, "demands", confidentiality="brokers")
    assert ids(asked) == set()


async def test_an_unreachable_engine_is_a_503_problem_and_writes_still_succeed(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    working = app.state.search
    broken = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app.state.search = EmbeddedEngine(broken)
    try:
        response = await client.get("/v1/search/achievements", params={"q": "电池"})
        created = await client.post("/v1/achievements", json=achievement_body(), headers=actors["a_admin"].headers)
    finally:
        app.state.search = working
        await broken.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert created.status_code == 201


async def test_index_check_finds_and_repairs_differences(app: FastAPI, publish: Publish, relay: Relay) -> None:
    first = await publish()
    second = await publish(title="钠离子电池正极材料")
    await relay()
    engine = app.state.search
    await engine.delete(ACHIEVEMENTS, [first["id"]])
    orphan = (await engine.search(ACHIEVEMENTS, SearchQuery())).hits[0].document | {"id": ORPHAN}
    await engine.upsert(ACHIEVEMENTS, [orphan])
    kind = INDEXED_KINDS[ListingKind.achievement]
    async with unit_of_work(app.state.sessionmaker) as session:
        report = await check_index(session, engine, kind)
        assert report.missing == [first["id"]]
        assert report.extra == [ORPHAN]
        await repair_index(session, engine, kind, report)
        assert (await check_index(session, engine, kind)).consistent
    assert second["id"]


async def test_matches_carry_reasons(client: httpx.AsyncClient, publish: Publish, relay: Relay) -> None:
    achievement = await publish(
        keywords=["热失控", "电池包", "预警"],
        title="电池包热失控早期预警技术",
        summary="基于气体传感的电池包热失控提前预警。",
    )
    demand = await publish("demands", owner="b_admin")
    await relay()
    response = await client.get(f"/v1/demands/{demand['id']}/matches")
    assert response.status_code == 200, response.text
    matches = response.json()["matches"]
    assert matches[0]["document"]["id"] == achievement["id"]
    assert matches[0]["reasons"]
    assert all(reason["text"] for reason in matches[0]["reasons"])
    reverse = await client.get(f"/v1/achievements/{achievement['id']}/matches")
    assert [match["document"]["id"] for match in reverse.json()["matches"]] == [demand["id"]]
