"""All identity queries; organisation scoping happens here."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import ApiKey, Organisation, RefreshToken, User, VerificationStatus


def readable_organisations(principal: Principal | None) -> Select[Organisation]:
    """Verified organisations for everyone; platform staff see all; members also see their own."""
    statement = select(Organisation)
    if principal is not None and principal.is_platform_admin:
        return statement
    visible = Organisation.verification_status == VerificationStatus.verified.value
    if principal is not None:
        visible = visible | (Organisation.id == principal.organisation_id)
    return statement.where(visible)


async def get_readable_organisation(
    session: AsyncSession,
    principal: Principal | None,
    organisation_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Organisation | None:
    statement = readable_organisations(principal).where(Organisation.id == organisation_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def organisation_with_uscc_exists(session: AsyncSession, uscc: str) -> bool:
    return (await session.scalar(select(Organisation.id).where(Organisation.uscc == uscc))) is not None


async def email_taken(session: AsyncSession, email: str) -> bool:
    return (await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))) is not None


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def readable_users(principal: Principal) -> Select[User]:
    """Platform staff see every user; everyone else only the users of their own organisation."""
    statement = select(User)
    if principal.is_platform_admin:
        return statement
    return statement.where(User.organisation_id == principal.organisation_id)


async def get_readable_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, *, for_update: bool = False
) -> User | None:
    statement = readable_users(principal).where(User.id == user_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def get_refresh_token_for_update(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    return await session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update())


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def revoke_user_refresh_tokens(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def readable_api_keys(principal: Principal) -> Select[ApiKey]:
    return select(ApiKey).where(ApiKey.organisation_id == principal.organisation_id)


async def get_readable_api_key(session: AsyncSession, principal: Principal, api_key_id: uuid.UUID) -> ApiKey | None:
    return await session.scalar(readable_api_keys(principal).where(ApiKey.id == api_key_id).with_for_update())
