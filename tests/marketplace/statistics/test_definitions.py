"""The statistics definitions officials rely on, checked on facts recorded exactly as contract events arrive."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.marketplace.db import unit_of_work
from services.marketplace.kit.timeutil import shanghai_date
from services.marketplace.statistics import queries
from services.marketplace.statistics.definitions import counterpart_location
from services.marketplace.statistics.rollups import amendment_fact, record_change, registration_fact, watched_scopes
from services.marketplace.statistics.verify import verify_statistics
from tests.support import Actors


def party(region: str | None, nature: str = "enterprise", country: str | None = None) -> dict[str, Any]:
    return {"region_code": region, "country_code": country, "legal_nature": nature}


def registration(
    seller: dict[str, Any],
    buyer: dict[str, Any],
    on: date,
    amount: int = 1_000_000,
    technology: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "contract_id": str(uuid.uuid4()),
        "contract_type": extra.pop("contract_type", "license"),
        "field_code": extra.pop("field_code", "new_energy"),
        "seller": seller,
        "buyer": buyer,
        "registered_on": on.isoformat(),
        "contract_amount_fen": amount,
        "technology_amount_fen": amount if technology is None else technology,
        **extra,
    }


def amendment(of: dict[str, Any], on: date, delta: int, technology_delta: int | None = None) -> dict[str, Any]:
    return of | {
        "amendment_id": str(uuid.uuid4()),
        "registered_on": on.isoformat(),
        "contract_amount_delta_fen": delta,
        "technology_amount_delta_fen": delta if technology_delta is None else technology_delta,
    }


async def record(app: FastAPI, *payloads: dict[str, Any]) -> None:
    """Record event payloads the way the outbox handlers do."""
    async with unit_of_work(app.state.sessionmaker) as session:
        for payload in payloads:
            fact = amendment_fact(payload) if "amendment_id" in payload else registration_fact(payload)
            assert await record_change(session, fact)


async def figures(app: FastAPI, region: str, year: int) -> queries.RegionYear:
    async with app.state.sessionmaker() as session:
        return await queries.region_year(session, region, year)


async def test_an_intra_city_contract_counts_on_both_sides_and_once_in_the_union(app: FastAPI) -> None:
    await record(app, registration(party("340104"), party("340111"), date(2026, 3, 1), 5_000_000, 4_000_000))
    hefei = await figures(app, "3401", 2026)
    assert hefei.totals.exported.contract_amount_fen == 5_000_000
    assert hefei.totals.absorbed.contract_amount_fen == 5_000_000
    assert hefei.totals.gross.contract_amount_fen == 10_000_000
    assert hefei.totals.gross.technology_amount_fen == 8_000_000
    assert hefei.totals.union.contract_amount_fen == 5_000_000
    assert hefei.totals.union.contract_count == 1
    assert hefei.totals.gross.contract_count == 2
    shushan = await figures(app, "340104", 2026)
    assert (shushan.totals.exported.contract_count, shushan.totals.absorbed.contract_count) == (1, 0)
    assert shushan.breakdowns["counterpart"]["same_city"].exported.contract_amount_fen == 5_000_000


async def test_the_year_follows_the_registration_date_in_shanghai(app: FastAPI) -> None:
    late = datetime(2025, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 December in Shanghai
    early = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 on 1 January in Shanghai
    assert shanghai_date(late) == date(2025, 12, 31)
    assert shanghai_date(early) == date(2026, 1, 1)
    await record(
        app,
        registration(party("340104"), party("310104"), shanghai_date(late), 100),
        registration(party("340104"), party("310104"), shanghai_date(early), 200),
    )
    assert (await figures(app, "3401", 2025)).totals.exported.contract_amount_fen == 100
    assert (await figures(app, "3401", 2026)).totals.exported.contract_amount_fen == 200
    assert (await figures(app, "3401", 2025)).months[12].exported.contract_count == 1
    assert (await figures(app, "3401", 2026)).months[1].exported.contract_count == 1


async def test_an_amendment_changes_the_year_of_the_amendment_not_the_original_year(app: FastAPI) -> None:
    original = registration(party("340104"), party("320102"), date(2025, 6, 1), 1_000_000)
    await record(app, original, amendment(original, date(2026, 2, 1), -300_000))
    y2025, y2026 = await figures(app, "3401", 2025), await figures(app, "3401", 2026)
    assert y2025.totals.exported.contract_amount_fen == 1_000_000
    assert y2025.totals.exported.contract_count == 1
    assert y2026.totals.exported.contract_amount_fen == -300_000
    assert y2026.totals.exported.contract_count == 0


@pytest.mark.parametrize(
    ("scope", "region", "country", "bucket"),
    [
        ("3401", "340122", None, "same_city"),
        ("3401", "340202", None, "same_province"),
        ("3401", "320102", None, "yangtze_delta"),
        ("3401", "440305", None, "rest_of_china"),
        ("3401", None, "DE", "abroad"),
        ("3401", "810000", None, "abroad"),
        ("34", "340202", None, "same_province"),
        ("34", "330106", None, "yangtze_delta"),
    ],
)
def test_counterparts_land_in_the_right_bucket(
    scope: str, region: str | None, country: str | None, bucket: str
) -> None:
    assert counterpart_location(scope, region, country) == bucket


async def test_outside_and_foreign_parties_in_breakdowns(app: FastAPI) -> None:
    await record(
        app,
        registration(party("340104", "university"), party(None, "enterprise", "DE"), date(2026, 5, 1), 700),
        registration(party(None, "enterprise", "US"), party("340111"), date(2026, 5, 2), 900, contract_type="transfer"),
        registration(party("340111", "research_institute"), party("440305"), date(2026, 5, 3), 300),
    )
    hefei = await figures(app, "3401", 2026)
    counterpart = hefei.breakdowns["counterpart"]
    assert counterpart["abroad"].exported.contract_amount_fen == 700
    assert counterpart["abroad"].absorbed.contract_amount_fen == 900
    assert counterpart["rest_of_china"].exported.contract_amount_fen == 300
    kinds = hefei.breakdowns["seller_kind"]
    assert kinds["university"].exported.contract_amount_fen == 700
    assert kinds["research_institute"].exported.contract_amount_fen == 300
    assert kinds["enterprise"].absorbed.contract_amount_fen == 900
    assert hefei.breakdowns["contract_type"]["transfer"].absorbed.contract_count == 1
    assert hefei.breakdowns["district"]["340111"].gross.contract_amount_fen == 1200


async def test_unwatched_regions_are_computed_from_the_facts_with_the_same_definitions(app: FastAPI) -> None:
    await record(
        app,
        registration(party("310104"), party("310115"), date(2026, 4, 1), 1000),
        registration(party("310104"), party("340104"), date(2026, 4, 1), 500),
    )
    shanghai = await figures(app, "31", 2026)
    assert shanghai.source == "facts"
    assert shanghai.totals.gross.contract_amount_fen == 2500
    assert shanghai.totals.union.contract_amount_fen == 1500
    assert (await figures(app, "3401", 2026)).source == "rollup"


async def test_replayed_events_count_once(app: FastAPI) -> None:
    fact = registration_fact(registration(party("340104"), party("340111"), date(2026, 1, 5), 10))
    async with unit_of_work(app.state.sessionmaker) as session:
        assert await record_change(session, fact)
        assert not await record_change(session, fact)
    assert (await figures(app, "3401", 2026)).totals.exported.contract_count == 1


async def test_local_conversions_are_counted(app: FastAPI) -> None:
    await record(
        app,
        registration(
            party("340104", "university"),
            party("340111"),
            date(2026, 7, 1),
            local_conversion=True,
            local_conversion_academic=True,
            achievement_id=str(uuid.uuid4()),
        ),
        registration(party("320102"), party("340111"), date(2026, 7, 2), local_conversion=True),
    )
    hefei = await figures(app, "3401", 2026)
    assert hefei.local_conversion == {"all": 2, "academic": 1}


async def test_random_histories_verify_against_the_rollups(app: FastAPI) -> None:
    rng = random.Random(20261127)
    regions = ["340104", "340111", "340122", "340202", "320102", "310104", "440305", None]
    facts = []
    for _ in range(60):
        seller, buyer = rng.choice(regions), rng.choice(regions)
        base = registration(
            party(seller, rng.choice(["enterprise", "university", "other"]), None if seller else "JP"),
            party(buyer, "enterprise", None if buyer else "US"),
            date(rng.choice([2025, 2026]), rng.randint(1, 12), rng.randint(1, 28)),
            rng.randint(1, 10**9),
            contract_type=rng.choice(["license", "development", "service"]),
        )
        facts.append(base)
        if rng.random() < 0.3:
            facts.append(amendment(base, date(2026, 12, 1), -rng.randint(0, base["contract_amount_fen"])))
    await record(app, *facts)
    async with app.state.sessionmaker() as session:
        report = await verify_statistics(session)
    # facts here were not produced by real contracts, so only the rollup half of the check applies
    assert report.rollup_differences == []
    assert len(report.facts_extra) == len(facts)
    assert "3401" in watched_scopes()


async def test_statistics_are_for_officials_and_platform_staff(client: httpx.AsyncClient, actors: Actors) -> None:
    assert (await client.get("/v1/statistics/contracts", headers=actors["official"].headers)).status_code == 200
    assert (await client.get("/v1/statistics/contracts", headers=actors["platform_admin"].headers)).status_code == 200
    assert (await client.get("/v1/statistics/contracts", headers=actors["a_admin"].headers)).status_code == 403
    assert (await client.get("/v1/statistics/contracts")).status_code == 401
    assert (
        await client.get("/v1/statistics/contracts", params={"region": "3"}, headers=actors["official"].headers)
    ).status_code == 422
