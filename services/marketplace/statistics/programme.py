"""Programme figures beside the contract statistics: 揭榜挂帅 awards and subsidy committed, money settled."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.kit.timeutil import year_period
from services.marketplace.models.challenges import Challenge, ChallengeSubsidyTranche, SubsidyTrancheStatus
from services.marketplace.models.settlement import Payment, PaymentStatus

# Payments whose money arrived (refunds are subtracted below).
SETTLED_STATUSES = (
    PaymentStatus.succeeded.value,
    PaymentStatus.partially_refunded.value,
    PaymentStatus.refunded.value,
)


@dataclass(frozen=True)
class ProgrammeFigures:
    year: int
    challenges_awarded: int
    reward_committed_fen: int
    subsidy_committed_fen: int
    payments_settled: int
    money_settled_fen: int


async def programme_figures(session: AsyncSession, year: int) -> ProgrammeFigures:
    """Challenges awarded in the Shanghai year with their rewards and (not cancelled) subsidy tranches, and the
    money that arrived through the platform in that year net of refunds."""
    period = year_period(year)
    awarded = (
        select(Challenge.id, Challenge.reward_fen)
        .where(Challenge.awarded_at >= period.start, Challenge.awarded_at < period.end)
        .subquery()
    )
    count, reward = (
        await session.execute(select(func.count(awarded.c.id), func.coalesce(func.sum(awarded.c.reward_fen), 0)))
    ).one()
    subsidy = await session.scalar(
        select(func.coalesce(func.sum(ChallengeSubsidyTranche.amount_fen), 0)).where(
            ChallengeSubsidyTranche.challenge_id.in_(select(awarded.c.id)),
            ChallengeSubsidyTranche.status != SubsidyTrancheStatus.cancelled.value,
        )
    )
    payments, settled = (
        await session.execute(
            select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount_fen - Payment.refunded_fen), 0)).where(
                Payment.status.in_(SETTLED_STATUSES),
                Payment.succeeded_at >= period.start,
                Payment.succeeded_at < period.end,
            )
        )
    ).one()
    return ProgrammeFigures(year, int(count), int(reward), int(subsidy or 0), int(payments), int(settled))
