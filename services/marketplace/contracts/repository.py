"""Contract queries with their scoping: parties, the contract's broker, registrars, officials; nobody else."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.contracts.policies import PARTY_ROLES
from services.marketplace.contracts.specs import REGISTERED_STATUSES, REGISTRAR_STATUSES
from services.marketplace.identity.auth import Principal
from services.marketplace.models import (
    BrokerProfile,
    Contract,
    ContractAmendment,
    ContractSignature,
    Organisation,
    RegistrationCounter,
    Role,
    User,
)
from services.marketplace.models.contracts import AmendmentStatus


def _visibility(principal: Principal) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if principal.has_role(*PARTY_ROLES):
        conditions += [
            Contract.seller_organisation_id == principal.organisation_id,
            Contract.buyer_organisation_id == principal.organisation_id,
        ]
    if principal.user_id is not None and principal.has_role(Role.broker):
        conditions.append(Contract.broker_user_id == principal.user_id)
    if principal.has_role(Role.registrar):
        conditions.append(Contract.status.in_(REGISTRAR_STATUSES))
    if principal.has_role(Role.official):
        conditions.append(Contract.status.in_(REGISTERED_STATUSES))
    return or_(*conditions) if conditions else false()


def readable_contracts(principal: Principal) -> Select[Any]:
    return select(Contract).where(_visibility(principal))


async def get_readable(
    session: AsyncSession, principal: Principal, contract_id: uuid.UUID, *, for_update: bool = False
) -> Contract | None:
    statement = readable_contracts(principal).where(Contract.id == contract_id)
    if for_update:
        statement = statement.with_for_update()
    contract: Contract | None = await session.scalar(statement)
    return contract


async def current_signatures(session: AsyncSession, contract: Contract) -> list[ContractSignature]:
    rows = await session.scalars(
        select(ContractSignature)
        .where(ContractSignature.contract_id == contract.id, ContractSignature.version == contract.version)
        .order_by(ContractSignature.signed_at, ContractSignature.side)
    )
    return list(rows)


async def current_signatures_of(
    session: AsyncSession, contracts: Sequence[Contract]
) -> dict[uuid.UUID, list[ContractSignature]]:
    if not contracts:
        return {}
    pairs = [and_(ContractSignature.contract_id == c.id, ContractSignature.version == c.version) for c in contracts]
    rows = await session.scalars(
        select(ContractSignature).where(or_(*pairs)).order_by(ContractSignature.signed_at, ContractSignature.side)
    )
    by_contract: dict[uuid.UUID, list[ContractSignature]] = defaultdict(list)
    for signature in rows:
        by_contract[signature.contract_id].append(signature)
    return by_contract


async def issue_registration_serial(session: AsyncSession, registry_prefix: str, year: int) -> int:
    """The next serial of a registry's year. The upsert locks the counter row until the transaction ends, so
    concurrent registrations queue on it and a rolled-back registration gives its serial back (no gaps)."""
    statement = (
        insert(RegistrationCounter)
        .values(registry_prefix=registry_prefix, year=year, last_serial=1)
        .on_conflict_do_update(
            index_elements=[RegistrationCounter.registry_prefix, RegistrationCounter.year],
            set_={"last_serial": RegistrationCounter.last_serial + 1},
        )
        .returning(RegistrationCounter.last_serial)
    )
    serial = await session.scalar(statement)
    assert serial is not None
    return int(serial)


async def get_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> Organisation | None:
    return await session.get(Organisation, organisation_id)


async def get_certified_broker(session: AsyncSession, user_id: uuid.UUID) -> tuple[User, BrokerProfile] | None:
    """An active user with the broker role and a profile, in a verified organisation."""
    row = (
        await session.execute(
            select(User, BrokerProfile)
            .join(BrokerProfile, BrokerProfile.user_id == User.id)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(
                User.id == user_id,
                User.is_active.is_(True),
                User.roles.contains([Role.broker.value]),
                Organisation.verification_status == "verified",
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


def amendments_of(contract_id: uuid.UUID) -> Select[Any]:
    return select(ContractAmendment).where(ContractAmendment.contract_id == contract_id)


async def get_amendment(
    session: AsyncSession, contract_id: uuid.UUID, amendment_id: uuid.UUID, *, for_update: bool = False
) -> ContractAmendment | None:
    statement = amendments_of(contract_id).where(ContractAmendment.id == amendment_id)
    if for_update:
        statement = statement.with_for_update()
    amendment: ContractAmendment | None = await session.scalar(statement)
    return amendment


async def has_open_amendment(session: AsyncSession, contract_id: uuid.UUID) -> bool:
    found = await session.scalar(
        amendments_of(contract_id)
        .with_only_columns(ContractAmendment.id)
        .where(ContractAmendment.status.in_([AmendmentStatus.proposed.value, AmendmentStatus.submitted.value]))
    )
    return found is not None


async def next_amendment_sequence(session: AsyncSession, contract_id: uuid.UUID) -> int:
    """Callers hold the contract row lock, so two proposals cannot take the same number."""
    last = await session.scalar(
        select(func.max(ContractAmendment.sequence)).where(ContractAmendment.contract_id == contract_id)
    )
    return int(last or 0) + 1
