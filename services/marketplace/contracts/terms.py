"""The money rules of a contract, as pure functions over integer fen.

技术交易额 = 合同成交额 − the non-technical cost lines (equipment, materials, …), so it is never negative and
never above the contract amount; the payment schedule sums to the contract amount exactly; a commission
is a rate of the contract amount (basis points, half-up) or a fixed amount no larger than it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.marketplace.kit.errors import FieldError, ValidationProblem
from services.marketplace.kit.money import apply_rate_bp, format_yuan
from services.marketplace.models.contracts import CommissionMode

Loc = Sequence[str | int]


@dataclass(frozen=True)
class Amounts:
    contract_amount_fen: int
    non_technical_amount_fen: int
    technology_amount_fen: int


def fen_total(items: Sequence[dict[str, Any]]) -> int:
    return sum(int(item["amount_fen"]) for item in items)


def amount_problems(
    contract_amount_fen: int, cost_lines: Sequence[dict[str, Any]], milestones: Sequence[dict[str, Any]], loc: Loc
) -> list[FieldError]:
    """Field errors for cost lines above the contract amount and a schedule that does not sum to it."""
    errors: list[FieldError] = []
    non_technical = fen_total(cost_lines)
    if non_technical > contract_amount_fen:
        errors.append(
            FieldError(
                loc=[*loc, "non_technical_costs"],
                msg=f"非技术性费用合计 {format_yuan(non_technical)} 超过合同成交额 {format_yuan(contract_amount_fen)}",
                type="technology_amount_negative",
            )
        )
    scheduled = fen_total(milestones)
    if milestones and scheduled != contract_amount_fen:
        errors.append(
            FieldError(
                loc=[*loc, "milestones"],
                msg=f"付款节点合计 {format_yuan(scheduled)} 与合同成交额 {format_yuan(contract_amount_fen)} 不一致",
                type="milestones_sum_mismatch",
            )
        )
    return errors


def compute_amounts(contract_amount_fen: int, cost_lines: Sequence[dict[str, Any]]) -> Amounts:
    non_technical = fen_total(cost_lines)
    if not 0 <= non_technical <= contract_amount_fen:
        raise ValueError("non-technical costs must lie between 0 and the contract amount")
    return Amounts(contract_amount_fen, non_technical, contract_amount_fen - non_technical)


def check_amounts(
    contract_amount_fen: int, cost_lines: Sequence[dict[str, Any]], milestones: Sequence[dict[str, Any]], loc: Loc
) -> Amounts:
    errors = amount_problems(contract_amount_fen, cost_lines, milestones, loc)
    if errors:
        raise ValidationProblem(errors[0].msg, errors=errors)
    return compute_amounts(contract_amount_fen, cost_lines)


def commission_fen(
    mode: str | None, rate_bp: int | None, fixed_fen: int | None, contract_amount_fen: int
) -> int | None:
    """The commission in fen: a rate applies to the contract amount; a fixed amount is taken as agreed."""
    if mode is None:
        return None
    if mode == CommissionMode.rate.value:
        assert rate_bp is not None
        return apply_rate_bp(contract_amount_fen, rate_bp)
    assert fixed_fen is not None
    return fixed_fen


def commission_problem(
    mode: str | None, fixed_fen: int | None, contract_amount_fen: int, loc: Loc
) -> FieldError | None:
    if mode == CommissionMode.fixed.value and fixed_fen is not None and fixed_fen > contract_amount_fen:
        return FieldError(
            loc=[*loc, "commission", "amount_fen"], msg="固定佣金不能超过合同成交额", type="commission_too_high"
        )
    return None
