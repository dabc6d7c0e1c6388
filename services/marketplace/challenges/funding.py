"""Pure money and score arithmetic of challenges: the poster's share per milestone, the subsidy tranches, the
experts' weighted scores and the panel ranking. Integers only.

Subsidy rounding rule: programme percentages are ceilings ("20% of the poster's payments, at most 500万";
"the first tranche at most 50% of the poster's first payment"), so each percentage is rounded **down** to the
fen; the cap then bounds the total, and the final tranche is the total minus the first, so the tranches sum
exactly to the total and never exceed the cap.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from services.marketplace.kit.money import BP_PER_UNIT, split_largest_remainder


def _require_int(name: str, value: int) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def rate_floor(fen: int, rate_bp: int) -> int:
    """``fen × rate_bp / 10000`` rounded down to whole fen (for non-negative amounts and rates)."""
    _require_int("fen", fen)
    _require_int("rate_bp", rate_bp)
    if fen < 0 or rate_bp < 0:
        raise ValueError("amounts and rates must be non-negative")
    return fen * rate_bp // BP_PER_UNIT


def poster_shares(milestone_amounts: Sequence[int], poster_funded_fen: int) -> list[int]:
    """The self-funded part of each milestone: the poster's funding split in proportion to the milestone amounts
    by largest remainder, so the parts sum exactly to it."""
    if not milestone_amounts:
        raise ValueError("a milestone plan has at least one milestone")
    if not 0 <= poster_funded_fen <= sum(milestone_amounts):
        raise ValueError("the poster's funding lies between 0 and the reward")
    return split_largest_remainder(poster_funded_fen, milestone_amounts)


@dataclass(frozen=True)
class SubsidyTerms:
    rate_bp: int  # share of the poster's payments the government adds
    cap_fen: int  # at most this much per challenge
    first_tranche_bp: int  # the first tranche is at most this share of the poster's first payment


@dataclass(frozen=True)
class SubsidyPlan:
    base_fen: int  # the poster's payments the rate applies to
    total_fen: int
    first_fen: int  # due after the poster's first payment
    final_fen: int  # due after acceptance


def plan_subsidy(terms: SubsidyTerms, poster_payments: Sequence[int]) -> SubsidyPlan:
    """The subsidy for a challenge whose poster pays ``poster_payments`` (one per milestone, first first)."""
    if not poster_payments:
        raise ValueError("a milestone plan has at least one milestone")
    for payment in poster_payments:
        if _require_int("payment", payment) < 0:
            raise ValueError("payments must be non-negative")
    if not 0 < terms.rate_bp <= BP_PER_UNIT or not 0 <= terms.first_tranche_bp <= BP_PER_UNIT:
        raise ValueError("rates lie between 0 and 10000 basis points")
    if terms.cap_fen <= 0:
        raise ValueError("the cap must be positive")
    base = sum(poster_payments)
    total = min(terms.cap_fen, rate_floor(base, terms.rate_bp))
    first = min(total, rate_floor(poster_payments[0], terms.first_tranche_bp))
    return SubsidyPlan(base_fen=base, total_fen=total, first_fen=first, final_fen=total - first)


def describe_rule(terms: SubsidyTerms) -> str:
    return (
        f"发榜方自筹支付额的 {terms.rate_bp / 100:g}%（向下取整到分），上限 {terms.cap_fen} 分；"
        f"首笔不超过发榜方首笔支付额的 {terms.first_tranche_bp / 100:g}%，其余于验收通过后拨付"
    )


# --- expert review ----------------------------------------------------------------------------------------


def _div_half_up(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (1 if 2 * remainder >= denominator else 0)


def weighted_score_centi(criteria: Sequence[Mapping[str, object]], scores: Mapping[str, int]) -> int:
    """Σ weight × score / Σ weight in hundredths of a point (0–10000), rounded half-up."""
    weights = {str(criterion["code"]): int(str(criterion["weight"])) for criterion in criteria}
    total_weight = sum(weights.values())
    weighted = sum(weight * scores[code] for code, weight in weights.items())
    return _div_half_up(weighted * 100, total_weight)


@dataclass(frozen=True)
class RankedApplication:
    application_id: uuid.UUID
    organisation_id: uuid.UUID
    rank: int
    mean_score_centi: int
    score_count: int


def rank_applications(
    applications: Sequence[tuple[uuid.UUID, uuid.UUID, datetime]],
    weighted_scores: Mapping[uuid.UUID, Sequence[int]],
) -> list[RankedApplication]:
    """Order applications by their experts' mean weighted score, highest first; equal means share a rank
    (1, 2, 2, 4) and list the earlier submission first. ``applications`` are (id, organisation, submitted_at)."""
    means = {
        application_id: Fraction(sum(scores), len(scores)) if scores else Fraction(-1)
        for application_id, scores in ((app_id, weighted_scores.get(app_id, ())) for app_id, _, _ in applications)
    }
    ordered = sorted(applications, key=lambda row: (-means[row[0]], row[2], str(row[0])))
    ranked: list[RankedApplication] = []
    for position, (application_id, organisation_id, _) in enumerate(ordered, start=1):
        mean = means[application_id]
        tied = ranked and means[ranked[-1].application_id] == mean
        scores = weighted_scores.get(application_id, ())
        ranked.append(
            RankedApplication(
                application_id=application_id,
                organisation_id=organisation_id,
                rank=ranked[-1].rank if tied else position,
                mean_score_centi=_div_half_up(mean.numerator, mean.denominator) if scores else 0,
                score_count=len(scores),
            )
        )
    return ranked
