from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.marketplace.challenges.funding import (
    SubsidyTerms,
    plan_subsidy,
    poster_shares,
    rank_applications,
    rate_floor,
    weighted_score_centi,
)
from services.marketplace.kit.money import FEN_PER_WAN

amounts = st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=12)
terms = st.builds(
    SubsidyTerms,
    rate_bp=st.integers(min_value=1, max_value=10_000),
    cap_fen=st.integers(min_value=1, max_value=10**13),
    first_tranche_bp=st.integers(min_value=0, max_value=10_000),
)


@given(terms=terms, milestones=amounts, funded_share=st.fractions(min_value=0, max_value=1))
def test_subsidy_tranches_sum_exactly_and_never_exceed_the_cap_or_the_rates(
    terms: SubsidyTerms, milestones: list[int], funded_share: object
) -> None:
    funded = int(sum(milestones) * funded_share)  # type: ignore[operator]
    shares = poster_shares(milestones, funded)
    assert sum(shares) == funded
    assert all(0 <= share <= amount for share, amount in zip(shares, milestones, strict=True))
    plan = plan_subsidy(terms, shares)
    assert plan.first_fen + plan.final_fen == plan.total_fen
    assert plan.first_fen >= 0
    assert plan.final_fen >= 0
    assert plan.total_fen <= terms.cap_fen
    assert plan.total_fen * 10_000 <= funded * terms.rate_bp  # never above the percentage
    assert plan.first_fen * 10_000 <= shares[0] * terms.first_tranche_bp  # first ≤ x% of the first payment
    assert plan.total_fen == min(terms.cap_fen, rate_floor(funded, terms.rate_bp))  # and no fen less than due


def test_the_nanchang_rule_caps_at_five_million_yuan() -> None:
    nanchang = SubsidyTerms(rate_bp=2000, cap_fen=500 * FEN_PER_WAN, first_tranche_bp=5000)
    small = plan_subsidy(nanchang, [1_000 * FEN_PER_WAN, 1_000 * FEN_PER_WAN])  # 2000万 paid → 400万
    assert (small.total_fen, small.first_fen, small.final_fen) == (400 * FEN_PER_WAN, 400 * FEN_PER_WAN, 0)
    large = plan_subsidy(nanchang, [600 * FEN_PER_WAN, 2_400 * FEN_PER_WAN])  # 3000万 paid → 600万, capped
    assert (large.total_fen, large.first_fen, large.final_fen) == (
        500 * FEN_PER_WAN,
        300 * FEN_PER_WAN,
        200 * FEN_PER_WAN,
    )


def test_percentages_round_down_to_the_fen() -> None:
    plan = plan_subsidy(SubsidyTerms(rate_bp=3333, cap_fen=10**9, first_tranche_bp=3333), [1, 2])
    assert (plan.total_fen, plan.first_fen, plan.final_fen) == (0, 0, 0)
    plan = plan_subsidy(SubsidyTerms(rate_bp=3333, cap_fen=10**9, first_tranche_bp=5000), [101, 200])
    assert (plan.total_fen, plan.first_fen, plan.final_fen) == (100, 50, 50)
    with pytest.raises(TypeError):
        rate_floor(1.5, 100)  # type: ignore[arg-type]


def test_weighted_scores_and_ranking_share_ranks_on_equal_means() -> None:
    criteria = [{"code": "technical", "weight": 60}, {"code": "team", "weight": 40}]
    assert weighted_score_centi(criteria, {"technical": 90, "team": 80}) == 8600
    assert weighted_score_centi(criteria, {"technical": 33, "team": 34}) == 3340
    ids = [uuid.UUID(int=n) for n in range(1, 5)]
    org = uuid.uuid4()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [(app_id, org, start + timedelta(minutes=index)) for index, app_id in enumerate(ids)]
    ranked = rank_applications(rows, {ids[0]: [7000, 8000], ids[1]: [7500], ids[2]: [9000], ids[3]: []})
    assert [(row.application_id, row.rank, row.mean_score_centi) for row in ranked] == [
        (ids[2], 1, 9000),
        (ids[0], 2, 7500),  # ties with ids[1]: the earlier submission first, the same rank
        (ids[1], 2, 7500),
        (ids[3], 4, 0),
    ]
