from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from services.marketplace.db import unit_of_work
from services.marketplace.models import Challenge, ChallengeEscrow, ChallengeSubsidyTranche
from services.marketplace.seed import seed_demo_data
from services.marketplace.seed_challenges import seed_demo_challenges


async def test_the_demo_challenges_are_seeded_through_the_workflow_once(app: FastAPI) -> None:
    async with unit_of_work(app.state.sessionmaker) as session:
        await seed_demo_data(session)
        assert await seed_demo_challenges(session) == 2
    async with unit_of_work(app.state.sessionmaker) as session:
        assert await seed_demo_challenges(session) == 0
        statuses = sorted((await session.execute(select(Challenge.status, Challenge.code))).all())
        escrow = await session.scalar(select(ChallengeEscrow.reserved_fen))
        tranches = sorted(
            (await session.execute(select(ChallengeSubsidyTranche.kind, ChallengeSubsidyTranche.amount_fen))).all()
        )
    assert [status for status, _ in statuses] == ["awarded", "published"]
    assert all(str(code).startswith("JB-") for _, code in statuses)
    assert escrow == 800_000_000
    # 20% of the 600万 self-funded = 120万 (under the 500万 cap); the first ≤ 50% of the first 180万 payment.
    assert tranches == [("final", 30_000_000), ("first", 90_000_000)]
