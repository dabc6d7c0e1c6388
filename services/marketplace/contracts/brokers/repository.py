"""Broker queries: the public directory is certified brokers of verified organisations, active accounts only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts.brokers.schemas import BrokerQuery
from services.marketplace.models import BrokerProfile, Contract, Organisation, Role, User, VerificationStatus
from services.marketplace.models.contracts import ContractStatus


def public_profiles() -> Select[Any]:
    return (
        select(BrokerProfile)
        .join(User, User.id == BrokerProfile.user_id)
        .join(Organisation, Organisation.id == BrokerProfile.organisation_id)
        .where(
            User.is_active.is_(True),
            User.roles.contains([Role.broker.value]),
            User.organisation_id == BrokerProfile.organisation_id,
            Organisation.verification_status == VerificationStatus.verified.value,
        )
    )


def filter_profiles(statement: Select[Any], query: BrokerQuery) -> Select[Any]:
    if query.field_code:
        statement = statement.where(BrokerProfile.field_codes.contains([query.field_code]))
    if query.region:
        regions = func.unnest(BrokerProfile.region_codes).table_valued("code").render_derived()
        statement = statement.where(
            exists(select(1).select_from(regions).where(regions.c.code.startswith(query.region, autoescape=True)))
        )
    return statement


async def get_public_profile(session: AsyncSession, broker_id: uuid.UUID) -> BrokerProfile | None:
    profile: BrokerProfile | None = await session.scalar(public_profiles().where(BrokerProfile.user_id == broker_id))
    return profile


async def names(session: AsyncSession, profiles: Sequence[BrokerProfile]) -> dict[uuid.UUID, tuple[str, str]]:
    """Display name and organisation name by broker id."""
    if not profiles:
        return {}
    rows = await session.execute(
        select(User.id, User.display_name, Organisation.name)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.id.in_([profile.user_id for profile in profiles]))
    )
    return {row[0]: (row[1], row[2]) for row in rows}


async def records(session: AsyncSession, broker_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int, int, int]]:
    """(registered contracts, their current contract amount, completed, terminated) by broker id."""
    if not broker_ids:
        return {}
    rows = await session.execute(
        select(
            Contract.broker_user_id,
            func.count(),
            func.coalesce(func.sum(Contract.contract_amount_fen), 0),
            func.count().filter(Contract.status == ContractStatus.completed.value),
            func.count().filter(Contract.status == ContractStatus.terminated.value),
        )
        .where(Contract.broker_user_id.in_(broker_ids), Contract.registered_at.is_not(None))
        .group_by(Contract.broker_user_id)
    )
    return {row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows if row[0] is not None}


async def certification_taken(session: AsyncSession, certification_number: str, user_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(BrokerProfile.user_id).where(
            func.upper(BrokerProfile.certification_number) == certification_number.upper(),
            BrokerProfile.user_id != user_id,
        )
    )
    return found is not None
