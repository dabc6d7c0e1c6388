"""就地转化: an achievement converted by a buyer located in Hefei (3401xx); academic when a university or
research institute owns the achievement."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from services.marketplace.contracts.service import local_conversion_flags
from services.marketplace.models import Organisation
from tests.marketplace.contracts.conftest import Deals


def test_the_rule_by_region_and_owner_kind() -> None:
    assert local_conversion_flags("340104", "university") == (True, True)  # 合肥蜀山区
    assert local_conversion_flags("340121", "research_institute") == (True, True)  # 长丰县 lies in Hefei
    assert local_conversion_flags("340111", "enterprise") == (True, False)
    assert local_conversion_flags("340202", "university") == (False, False)  # 芜湖, in Anhui but not Hefei
    assert local_conversion_flags("310104", "university") == (False, False)  # 上海徐汇区
    assert local_conversion_flags(None, "university") == (False, False)  # a buyer abroad
    assert local_conversion_flags("340104", None) == (False, False)  # no achievement converted


async def _move(app: FastAPI, organisation_id: object, region_code: str) -> None:
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(Organisation).where(Organisation.id == organisation_id).values(region_code=region_code)
        )
        await session.commit()


async def test_contracts_carry_the_flags_for_buyers_inside_and_outside_hefei(
    app: FastAPI, deals: Deals, publish_achievement: Any
) -> None:
    university_achievement = await publish_achievement("a_admin")
    enterprise_achievement = await publish_achievement("d_admin")
    cases: list[tuple[dict[str, Any], tuple[bool, bool]]] = [
        ({"achievement_id": university_achievement["id"]}, (True, True)),
        (
            {
                "achievement_id": university_achievement["id"],
                "buyer": {"name": "芜湖某汽车零部件公司", "region_code": "340202", "legal_nature": "enterprise"},
            },
            (False, False),
        ),
        (
            {
                "achievement_id": university_achievement["id"],
                "buyer": {"name": "Bosch GmbH", "country_code": "DE", "legal_nature": "enterprise"},
            },
            (False, False),
        ),
        (
            {
                "achievement_id": enterprise_achievement["id"],
                "seller": deals.actors.organisations["d"],
                "author": "b_member",
            },
            (True, False),
        ),
        ({}, (False, False)),
    ]
    for overrides, expected in cases:
        contract = await deals.create(**overrides)
        assert (contract["local_conversion"], contract["local_conversion_academic"]) == expected, overrides
    await _move(app, deals.actors.organisations["b"], "320102")  # the buyer moved to 南京
    moved = await deals.create(achievement_id=university_achievement["id"])
    assert (moved["local_conversion"], moved["buyer"]["region_code"]) == (False, "320102")
