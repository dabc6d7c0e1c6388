"""``techmarket stats verify``: recompute everything from the raw contracts and compare."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.models import Contract, ContractAmendment, StatContractChange, StatRollup
from services.marketplace.statistics.rollups import Cell, Sums, all_changes, cells, watched_scopes


@dataclass
class VerifyReport:
    facts_missing: list[str] = field(default_factory=list)
    facts_extra: list[str] = field(default_factory=list)
    facts_wrong: list[str] = field(default_factory=list)
    rollup_differences: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (self.facts_missing or self.facts_extra or self.facts_wrong or self.rollup_differences)


async def _expected_facts(session: AsyncSession) -> dict[str, tuple[int, int, int, str]]:
    """Change key → (count, contract delta, technology delta, date) from the contracts as registered."""
    expected: dict[str, tuple[int, int, int, str]] = {}
    registered = await session.scalars(select(Contract).where(Contract.registration_number.is_not(None)))
    for contract in registered:
        assert contract.registered_on is not None
        assert contract.registered_contract_amount_fen is not None
        assert contract.registered_technology_amount_fen is not None
        expected[f"registration:{contract.id}"] = (
            1,
            contract.registered_contract_amount_fen,
            contract.registered_technology_amount_fen,
            contract.registered_on.isoformat(),
        )
    amendments = await session.scalars(select(ContractAmendment).where(ContractAmendment.registered_on.is_not(None)))
    for amendment in amendments:
        assert amendment.registered_on is not None
        expected[f"amendment:{amendment.id}"] = (
            0,
            amendment.contract_amount_delta_fen,
            amendment.technology_amount_delta_fen,
            amendment.registered_on.isoformat(),
        )
    return expected


async def verify_statistics(session: AsyncSession) -> VerifyReport:
    report = VerifyReport()
    expected = await _expected_facts(session)
    facts = {
        fact.change_key: (
            fact.count_delta,
            fact.contract_amount_delta_fen,
            fact.technology_amount_delta_fen,
            fact.registered_on.isoformat(),
        )
        for fact in await session.scalars(select(StatContractChange))
    }
    report.facts_missing = sorted(set(expected) - set(facts))
    report.facts_extra = sorted(set(facts) - set(expected))
    report.facts_wrong = sorted(key for key in set(expected) & set(facts) if expected[key] != facts[key])
    recomputed = cells(await all_changes(session), watched_scopes())
    stored: dict[Cell, Sums] = {
        (row.scope, row.year, row.month, row.measure, row.dimension, row.value): (
            row.contract_count,
            row.contract_amount_fen,
            row.technology_amount_fen,
        )
        for row in await session.scalars(select(StatRollup))
    }
    for cell in sorted(set(recomputed) | set(stored)):
        want, have = recomputed.get(cell, (0, 0, 0)), stored.get(cell, (0, 0, 0))
        if want != have:
            report.rollup_differences.append(f"{'/'.join(map(str, cell))}: expected {want}, stored {have}")
    return report
