"""Broker use cases: a broker keeps their own profile; anyone reads the directory and each broker's record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.contracts.brokers import repository as repo
from services.marketplace.contracts.brokers.schemas import BrokerProfileUpdate, BrokerRead, BrokerRecord
from services.marketplace.contracts.policies import require_user
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, Forbidden, NotFound
from services.marketplace.kit.money import BP_PER_UNIT
from services.marketplace.models import BrokerProfile, Organisation, OrganisationKind, Role, VerificationStatus
from services.marketplace.outbox.service import emit_event


def _record(counts: tuple[int, int, int, int] | None) -> BrokerRecord:
    registered, volume, completed, terminated = counts or (0, 0, 0, 0)
    finished = completed + terminated
    rate = None if finished == 0 else (completed * BP_PER_UNIT * 2 + finished) // (finished * 2)
    return BrokerRecord(
        contracts_registered=registered,
        registered_volume_fen=volume,
        registered_volume_fen_text=str(volume),
        completed=completed,
        terminated=terminated,
        completion_rate_bp=rate,
    )


async def read_models(session: AsyncSession, profiles: Sequence[BrokerProfile]) -> list[BrokerRead]:
    names = await repo.names(session, profiles)
    records = await repo.records(session, [profile.user_id for profile in profiles])
    return [
        BrokerRead(
            broker_id=profile.user_id,
            display_name=names[profile.user_id][0],
            organisation_id=profile.organisation_id,
            organisation_name=names[profile.user_id][1],
            certification_number=profile.certification_number,
            field_codes=profile.field_codes,
            region_codes=profile.region_codes,
            bio=profile.bio,
            record=_record(records.get(profile.user_id)),
            updated_at=profile.updated_at,
        )
        for profile in profiles
    ]


async def get_broker(session: AsyncSession, broker_id: uuid.UUID) -> BrokerRead:
    profile = await repo.get_public_profile(session, broker_id)
    if profile is None:
        raise NotFound("技术经纪人不存在")
    return (await read_models(session, [profile]))[0]


async def save_own_profile(session: AsyncSession, principal: Principal, data: BrokerProfileUpdate) -> BrokerProfile:
    """A broker of a verified transfer agency keeps their own certification and expertise."""
    user_id = require_user(principal, "维护经纪人资料")
    if not principal.has_role(Role.broker):
        raise Forbidden("只有具有 broker 角色的用户可以维护技术经纪人资料")
    organisation = await session.get(Organisation, principal.organisation_id)
    assert organisation is not None, "a principal's organisation always exists"
    if organisation.kind != OrganisationKind.transfer_agency.value:
        raise Forbidden("技术经纪人须隶属于技术转移机构")
    if organisation.verification_status != VerificationStatus.verified.value:
        raise Forbidden("所属技术转移机构通过认证后才能登记技术经纪人资料")
    if await repo.certification_taken(session, data.certification_number, user_id):
        raise Conflict("该证书编号已被其他经纪人登记")
    profile = await session.get(BrokerProfile, user_id, with_for_update=True)
    created = profile is None
    if profile is None:
        profile = BrokerProfile(user_id=user_id, organisation_id=organisation.id)
        session.add(profile)
    profile.organisation_id = organisation.id
    profile.certification_number = data.certification_number
    profile.field_codes = list(dict.fromkeys(data.field_codes))
    profile.region_codes = list(dict.fromkeys(data.region_codes))
    profile.bio = data.bio
    await session.flush()
    await session.refresh(profile)
    after = data.model_dump(mode="json")
    await record_audit(
        session,
        actor=principal,
        action="broker.profile_saved",
        object_type="broker",
        object_id=user_id,
        organisation_id=organisation.id,
        after=after,
    )
    await emit_event(
        session,
        topic="broker.profile_saved",
        aggregate_type="broker",
        aggregate_id=user_id,
        payload={"broker_id": str(user_id), "organisation_id": str(organisation.id), "created": created} | after,
    )
    return profile
