"""Officials see the challenges awarded this year with their rewards and committed subsidy."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.kit.timeutil import shanghai_date, utcnow
from services.marketplace.models.challenges import ChallengeSubsidyTranche, SubsidyTrancheStatus
from tests.marketplace.challenges.conftest import Board


async def test_awarded_challenges_and_committed_subsidy_are_counted(
    app: FastAPI, client: httpx.AsyncClient, board: Board
) -> None:
    official = board.actors["official"].headers
    url = "/v1/statistics/programme"
    before = (await client.get(url, headers=official)).json()
    assert before["challenges_awarded"] == 0
    challenge, _, _ = await board.awarded()
    async with app.state.sessionmaker() as session:
        subsidy = await session.scalar(
            select(func.coalesce(func.sum(ChallengeSubsidyTranche.amount_fen), 0)).where(
                ChallengeSubsidyTranche.status != SubsidyTrancheStatus.cancelled.value
            )
        )
    after = (await client.get(url, headers=official)).json()
    assert after["year"] == shanghai_date(utcnow()).year
    assert after["challenges_awarded"] == 1
    assert after["reward_committed_fen"] == challenge["reward_fen"]
    assert after["subsidy_committed_fen"] == subsidy
    assert after["money_settled_fen_text"] == str(after["money_settled_fen"])
    assert (await client.get(url, params={"year": 2001}, headers=official)).json()["challenges_awarded"] == 0
    assert (await client.get(url, headers=board.actors["a_admin"].headers)).status_code == 403
