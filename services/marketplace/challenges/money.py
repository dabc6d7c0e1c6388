"""The money steps of a challenge, in the caller's transaction.

Award: the poster's reward is reserved in escrow (payer the poster, payee the winner), the milestone plan
becomes milestone rows with their self-funded parts, and the subsidy tranches are computed and recorded as
planned government payables. An accepted milestone releases its tranche to the winner; the first release is
the poster's first payment and makes the first subsidy tranche due; acceptance makes the final one due.
Termination refunds what the escrow still holds to the poster and cancels the planned tranches.

Settlement's ledger does not exist yet, so every step is recorded here (``challenge_escrows``,
``challenge_money_movements`` with a unique ``movement_key``, ``challenge_subsidy_tranches``) and announced
by an outbox event carrying the same key; settlement posts each event once under that key and may write its
journal reference back into ``settlement_reference``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.challenges import events
from services.marketplace.challenges import repository as repo
from services.marketplace.challenges.funding import SubsidyTerms, describe_rule, plan_subsidy, poster_shares
from services.marketplace.kit.errors import Conflict
from services.marketplace.models import (
    Challenge,
    ChallengeEscrow,
    ChallengeMilestone,
    ChallengeMoneyMovement,
    ChallengeSubsidyTranche,
)
from services.marketplace.models.challenges import (
    EscrowStatus,
    MoneyMovementKind,
    SubsidyPayee,
    SubsidyTrancheKind,
    SubsidyTrancheStatus,
)
from services.marketplace.outbox.service import emit_event


def subsidy_terms(challenge: Challenge) -> SubsidyTerms | None:
    """The terms announced with the challenge (copied from its programme at publication)."""
    if challenge.subsidy_rate_bp is None:
        return None
    assert challenge.subsidy_cap_fen is not None
    assert challenge.subsidy_first_tranche_bp is not None
    return SubsidyTerms(challenge.subsidy_rate_bp, challenge.subsidy_cap_fen, challenge.subsidy_first_tranche_bp)


def _movement_key(challenge: Challenge, step: str) -> str:
    return f"challenge:{challenge.id}:{step}"


async def _move(
    session: AsyncSession,
    challenge: Challenge,
    kind: MoneyMovementKind,
    step: str,
    amount_fen: int,
    *,
    from_organisation_id: uuid.UUID | None,
    to_organisation_id: uuid.UUID | None,
    milestone_id: uuid.UUID | None = None,
) -> ChallengeMoneyMovement:
    movement = ChallengeMoneyMovement(
        movement_key=_movement_key(challenge, step),
        challenge_id=challenge.id,
        kind=kind.value,
        amount_fen=amount_fen,
        milestone_id=milestone_id,
        from_organisation_id=from_organisation_id,
        to_organisation_id=to_organisation_id,
    )
    session.add(movement)
    await session.flush()
    return movement


async def reserve_on_award(session: AsyncSession, challenge: Challenge) -> dict[str, object]:
    """Escrow, milestones and subsidy plan of a challenge being awarded; returns their summary for the event."""
    assert challenge.winner_organisation_id is not None
    plan = challenge.milestones
    shares = poster_shares([int(item["amount_fen"]) for item in plan], challenge.poster_funded_fen)
    milestones = [
        ChallengeMilestone(
            challenge_id=challenge.id,
            sequence=index,
            title=item["title"],
            due_on=date.fromisoformat(item["due_on"]),
            amount_fen=int(item["amount_fen"]),
            poster_share_fen=share,
        )
        for index, (item, share) in enumerate(zip(plan, shares, strict=True), start=1)
    ]
    session.add_all(milestones)
    escrow = ChallengeEscrow(
        challenge_id=challenge.id,
        payer_organisation_id=challenge.organisation_id,
        payee_organisation_id=challenge.winner_organisation_id,
        reserved_fen=challenge.reward_fen,
        released_fen=0,
        refunded_fen=0,
        status=EscrowStatus.held.value,
    )
    session.add(escrow)
    await session.flush()
    movement = await _move(
        session,
        challenge,
        MoneyMovementKind.escrow_reserved,
        "escrow",
        challenge.reward_fen,
        from_organisation_id=challenge.organisation_id,
        to_organisation_id=None,
    )
    summary: dict[str, object] = {
        "escrow": {
            "movement_key": movement.movement_key,
            "amount_fen": challenge.reward_fen,
            "payer_organisation_id": str(challenge.organisation_id),
            "payee_organisation_id": str(challenge.winner_organisation_id),
        },
        "milestones": [
            {
                "sequence": milestone.sequence,
                "milestone_id": str(milestone.id),
                "amount_fen": milestone.amount_fen,
                "poster_share_fen": milestone.poster_share_fen,
                "due_on": None if milestone.due_on is None else milestone.due_on.isoformat(),
            }
            for milestone in milestones
        ],
        "subsidy": None,
        "currency": "CNY",
        "amount_unit": "fen",
    }
    terms = subsidy_terms(challenge)
    if terms is not None and challenge.subsidy_programme_id is not None:
        subsidy = plan_subsidy(terms, shares)
        payee = (
            challenge.organisation_id
            if challenge.subsidy_payee == SubsidyPayee.poster.value
            else challenge.winner_organisation_id
        )
        rule = describe_rule(terms)
        session.add_all(
            ChallengeSubsidyTranche(
                challenge_id=challenge.id,
                programme_id=challenge.subsidy_programme_id,
                kind=kind.value,
                amount_fen=amount,
                payee_organisation_id=payee,
                status=SubsidyTrancheStatus.planned.value,
                rule=rule,
            )
            for kind, amount in (
                (SubsidyTrancheKind.first, subsidy.first_fen),
                (SubsidyTrancheKind.final, subsidy.final_fen),
            )
        )
        await session.flush()
        summary["subsidy"] = {
            "programme_id": str(challenge.subsidy_programme_id),
            "payee_organisation_id": str(payee),
            "base_fen": subsidy.base_fen,
            "total_fen": subsidy.total_fen,
            "first_fen": subsidy.first_fen,
            "final_fen": subsidy.final_fen,
            "cap_fen": terms.cap_fen,
        }
    return summary


async def _held_escrow(session: AsyncSession, challenge: Challenge) -> ChallengeEscrow:
    escrow = await repo.get_escrow(session, challenge.id, for_update=True)
    if escrow is None or escrow.status != EscrowStatus.held.value:
        raise Conflict("榜单没有在托管中的榜单金额")
    return escrow


async def release_milestone(
    session: AsyncSession, challenge: Challenge, milestone: ChallengeMilestone, now: datetime
) -> ChallengeMoneyMovement:
    """Pay the accepted milestone's tranche to the winner from escrow; the first one makes the first subsidy
    tranche due (the poster's first payment)."""
    escrow = await _held_escrow(session, challenge)
    if escrow.released_fen + escrow.refunded_fen + milestone.amount_fen > escrow.reserved_fen:
        raise Conflict("托管余额不足以支付该里程碑")
    escrow.released_fen += milestone.amount_fen
    if escrow.released_fen == escrow.reserved_fen:
        escrow.status = EscrowStatus.settled.value
    movement = await _move(
        session,
        challenge,
        MoneyMovementKind.tranche_released,
        f"milestone:{milestone.sequence}",
        milestone.amount_fen,
        from_organisation_id=None,
        to_organisation_id=escrow.payee_organisation_id,
        milestone_id=milestone.id,
    )
    await emit_event(
        session,
        topic=events.TRANCHE_RELEASED,
        aggregate_type="challenge",
        aggregate_id=challenge.id,
        payload=events.money_payload(
            challenge,
            movement.movement_key,
            milestone.amount_fen,
            milestone_id=milestone.id,
            sequence=milestone.sequence,
            poster_share_fen=milestone.poster_share_fen,
            payee_organisation_id=escrow.payee_organisation_id,
            escrow_held_fen=escrow.reserved_fen - escrow.released_fen - escrow.refunded_fen,
        ),
    )
    if milestone.sequence == 1:
        await make_subsidy_due(session, challenge, SubsidyTrancheKind.first, now)
    return movement


async def make_subsidy_due(
    session: AsyncSession, challenge: Challenge, kind: SubsidyTrancheKind, now: datetime
) -> None:
    """The tranche's trigger happened: it becomes a government payable."""
    for tranche in await repo.subsidy_tranches(session, challenge.id, for_update=True):
        if tranche.kind != kind.value or tranche.status != SubsidyTrancheStatus.planned.value:
            continue
        tranche.status = SubsidyTrancheStatus.due.value
        tranche.due_at = now
        await session.flush()
        await emit_event(
            session,
            topic=events.SUBSIDY_DUE,
            aggregate_type="challenge",
            aggregate_id=challenge.id,
            payload=events.money_payload(
                challenge,
                _movement_key(challenge, f"subsidy:{kind.value}"),
                tranche.amount_fen,
                tranche_id=tranche.id,
                kind=kind.value,
                programme_id=tranche.programme_id,
                payee_organisation_id=tranche.payee_organisation_id,
            ),
        )


async def refund_on_termination(session: AsyncSession, challenge: Challenge) -> int:
    """Return what the escrow still holds to the poster and cancel the planned subsidy; returns the refund."""
    escrow = await _held_escrow(session, challenge)
    remaining = escrow.reserved_fen - escrow.released_fen - escrow.refunded_fen
    if remaining > 0:
        escrow.refunded_fen += remaining
        movement = await _move(
            session,
            challenge,
            MoneyMovementKind.escrow_refunded,
            "refund",
            remaining,
            from_organisation_id=None,
            to_organisation_id=escrow.payer_organisation_id,
        )
        await emit_event(
            session,
            topic=events.ESCROW_REFUNDED,
            aggregate_type="challenge",
            aggregate_id=challenge.id,
            payload=events.money_payload(
                challenge, movement.movement_key, remaining, payee_organisation_id=escrow.payer_organisation_id
            ),
        )
    escrow.status = EscrowStatus.closed.value
    await session.flush()
    for tranche in await repo.subsidy_tranches(session, challenge.id, for_update=True):
        if tranche.status != SubsidyTrancheStatus.planned.value:
            continue
        tranche.status = SubsidyTrancheStatus.cancelled.value
        await session.flush()
        await emit_event(
            session,
            topic=events.SUBSIDY_CANCELLED,
            aggregate_type="challenge",
            aggregate_id=challenge.id,
            payload=events.money_payload(
                challenge,
                _movement_key(challenge, f"subsidy:{tranche.kind}"),
                tranche.amount_fen,
                tranche_id=tranche.id,
                kind=tranche.kind,
                programme_id=tranche.programme_id,
            ),
        )
    return remaining
