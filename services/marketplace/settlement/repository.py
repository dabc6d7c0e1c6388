"""Settlement queries with their scoping: an organisation sees its own money, finance (platform_admin) all."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.models import (
    BankStatementLine,
    GovernmentPayable,
    InnovationVoucher,
    LedgerAccount,
    Payment,
    Payout,
    Refund,
    Role,
)
from services.marketplace.settlement.policies import PARTY_ROLES


def _own(principal: Principal, column: Any, *roles: Role) -> ColumnElement[bool]:
    return column == principal.organisation_id if principal.has_role(*roles) else false()


def readable_payments(principal: Principal) -> Select[Any]:
    if principal.is_platform_admin:
        return select(Payment)
    return select(Payment).where(_own(principal, Payment.payer_organisation_id, *PARTY_ROLES, Role.official))


async def get_payment(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, *, for_update: bool = False
) -> Payment | None:
    statement = readable_payments(principal).where(Payment.id == payment_id)
    if for_update:
        statement = statement.with_for_update()
    found: Payment | None = await session.scalar(statement)
    return found


async def lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    found: Payment | None = await session.scalar(
        select(Payment).where(Payment.id == payment_id).with_for_update().execution_options(populate_existing=True)
    )
    return found


async def payment_by_intent(session: AsyncSession, intent_id: str) -> Payment | None:
    found: Payment | None = await session.scalar(
        select(Payment)
        .where(Payment.stripe_payment_intent_id == intent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found


async def refunds_of(session: AsyncSession, payment_id: uuid.UUID) -> list[Refund]:
    return list(
        await session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at))
    )


def readable_accounts(principal: Principal) -> Select[Any]:
    if principal.is_platform_admin:
        return select(LedgerAccount)
    return select(LedgerAccount).where(
        _own(principal, LedgerAccount.organisation_id, *PARTY_ROLES, Role.official, Role.broker)
    )


def readable_payouts(principal: Principal) -> Select[Any]:
    if principal.is_platform_admin:
        return select(Payout)
    conditions = [_own(principal, Payout.organisation_id, *PARTY_ROLES)]
    if principal.user_id is not None:
        conditions.append(Payout.broker_user_id == principal.user_id)
    return select(Payout).where(or_(*conditions))


def readable_government_payables(principal: Principal) -> Select[Any]:
    if principal.is_platform_admin:
        return select(GovernmentPayable)
    return select(GovernmentPayable).where(
        or_(
            _own(principal, GovernmentPayable.government_organisation_id, Role.official, *PARTY_ROLES),
            _own(principal, GovernmentPayable.payee_organisation_id, *PARTY_ROLES),
        )
    )


def readable_vouchers(principal: Principal) -> Select[Any]:
    if principal.is_platform_admin:
        return select(InnovationVoucher)
    return select(InnovationVoucher).where(
        or_(
            _own(principal, InnovationVoucher.government_organisation_id, Role.official),
            _own(principal, InnovationVoucher.holder_organisation_id, *PARTY_ROLES),
        )
    )


async def get_voucher(
    session: AsyncSession, principal: Principal, voucher_id: uuid.UUID, *, for_update: bool = False
) -> InnovationVoucher | None:
    statement = readable_vouchers(principal).where(InnovationVoucher.id == voucher_id)
    if for_update:
        statement = statement.with_for_update()
    found: InnovationVoucher | None = await session.scalar(statement)
    return found


def statement_lines() -> Select[Any]:
    return select(BankStatementLine)
