"""Identity use cases. Services flush; the request or job boundary commits."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.audit.service import record_audit
from services.marketplace.identity import events, policies
from services.marketplace.identity import repository as repo
from services.marketplace.identity.auth import Principal
from services.marketplace.identity.schemas import (
    ApiKeyCreate,
    OrganisationRegistration,
    OrganisationUpdate,
    UserCreate,
)
from services.marketplace.identity.security import (
    hash_password,
    issue_access_token,
    new_api_key,
    new_refresh_token,
    password_needs_rehash,
    sha256_hex,
    verify_password,
)
from services.marketplace.kit.errors import Conflict, Forbidden, NotFound, Unauthorized
from services.marketplace.kit.statemachine import StateMachine
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import ApiKey, Organisation, RefreshToken, Role, User, VerificationStatus
from services.marketplace.outbox.service import emit_event
from services.marketplace.settings import Settings

ORGANISATION_VERIFICATION = StateMachine(
    "机构认证",
    {
        (VerificationStatus.registered.value, "verify"): VerificationStatus.verified.value,
        (VerificationStatus.registered.value, "reject"): VerificationStatus.rejected.value,
        (VerificationStatus.rejected.value, "resubmit"): VerificationStatus.registered.value,
    },
)


def organisation_snapshot(organisation: Organisation) -> dict[str, Any]:
    return {
        "kind": organisation.kind,
        "name": organisation.name,
        "uscc": organisation.uscc,
        "region_code": organisation.region_code,
        "verification_status": organisation.verification_status,
        "verification_reason": organisation.verification_reason,
    }


def user_snapshot(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "roles": sorted(user.roles),
        "is_active": user.is_active,
    }


async def _require_unique_email(session: AsyncSession, email: str) -> None:
    if await repo.email_taken(session, email):
        raise Conflict("该邮箱已被注册", field="email")


async def register_organisation(session: AsyncSession, data: OrganisationRegistration) -> tuple[Organisation, User]:
    if await repo.organisation_with_uscc_exists(session, data.uscc):
        raise Conflict("该统一社会信用代码已注册", field="uscc")
    await _require_unique_email(session, data.admin.email)
    organisation = Organisation(
        kind=data.kind,
        name=data.name,
        uscc=data.uscc,
        region_code=data.region_code,
        verification_status=VerificationStatus.registered.value,
    )
    session.add(organisation)
    await session.flush()
    admin = await _add_user(
        session,
        organisation,
        data.admin.email,
        data.admin.display_name,
        data.admin.password,
        [Role.org_admin],
    )
    await record_audit(
        session,
        actor=None,
        action="organisation.registered",
        object_type="organisation",
        object_id=organisation.id,
        organisation_id=organisation.id,
        after=organisation_snapshot(organisation),
    )
    await emit_event(
        session,
        topic=events.ORGANISATION_REGISTERED,
        aggregate_type="organisation",
        aggregate_id=organisation.id,
        payload=events.organisation_payload(organisation),
    )
    return organisation, admin


async def _add_user(
    session: AsyncSession,
    organisation: Organisation,
    email: str,
    display_name: str,
    password: str,
    roles: list[Role],
) -> User:
    user = User(
        organisation_id=organisation.id,
        email=email,
        display_name=display_name,
        password_hash=await asyncio.to_thread(hash_password, password),
        roles=sorted({role.value for role in roles}),
    )
    session.add(user)
    await session.flush()
    return user


async def get_organisation(
    session: AsyncSession, principal: Principal | None, organisation_id: uuid.UUID
) -> Organisation:
    organisation = await repo.get_readable_organisation(session, principal, organisation_id)
    if organisation is None:
        raise NotFound("机构不存在")
    return organisation


async def _manageable_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    organisation = await repo.get_readable_organisation(session, principal, organisation_id, for_update=True)
    if organisation is None:
        raise NotFound("机构不存在")
    if not policies.can_manage_organisation(principal, organisation):
        raise Forbidden("只有本机构管理员或平台管理员可以执行此操作")
    return organisation


async def update_organisation(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, data: OrganisationUpdate
) -> Organisation:
    organisation = await _manageable_organisation(session, principal, organisation_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return organisation
    if organisation.verification_status == VerificationStatus.verified.value and not principal.is_platform_admin:
        raise Conflict("已认证机构的名称和区划须由平台管理员变更")
    before = organisation_snapshot(organisation)
    for name, value in changes.items():
        setattr(organisation, name, value)
    organisation.version += 1
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action="organisation.updated",
        object_type="organisation",
        object_id=organisation.id,
        organisation_id=organisation.id,
        before=before,
        after=organisation_snapshot(organisation),
    )
    await emit_event(
        session,
        topic=events.ORGANISATION_UPDATED,
        aggregate_type="organisation",
        aggregate_id=organisation.id,
        payload=events.organisation_payload(organisation),
    )
    return organisation


async def decide_verification(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, action: str, reason: str | None
) -> Organisation:
    """Platform staff verify or reject; the organisation's admin resubmits after a rejection."""
    organisation = await _manageable_organisation(session, principal, organisation_id)
    if action in ("verify", "reject") and not principal.is_platform_admin:
        raise Forbidden("只有平台管理员可以审核机构")
    before = organisation_snapshot(organisation)
    organisation.verification_status = ORGANISATION_VERIFICATION.next_state(organisation.verification_status, action)
    organisation.verification_reason = reason
    organisation.verified_at = utcnow() if action == "verify" else None
    organisation.verified_by = principal.user_id if action == "verify" else None
    organisation.version += 1
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action=f"organisation.{action}",
        object_type="organisation",
        object_id=organisation.id,
        organisation_id=organisation.id,
        before=before,
        after=organisation_snapshot(organisation),
    )
    topic = {"verify": events.ORGANISATION_VERIFIED, "reject": events.ORGANISATION_REJECTED}.get(action)
    if topic is not None:
        payload = events.organisation_payload(organisation) | {"reason": reason}
        await emit_event(
            session, topic=topic, aggregate_type="organisation", aggregate_id=organisation.id, payload=payload
        )
    return organisation


async def create_user(
    session: AsyncSession, principal: Principal, organisation_id: uuid.UUID, data: UserCreate
) -> User:
    organisation = await _manageable_organisation(session, principal, organisation_id)
    policies.check_roles_assignable(principal, organisation, data.roles)
    await _require_unique_email(session, data.email)
    user = await _add_user(session, organisation, data.email, data.display_name, data.password, data.roles)
    await record_audit(
        session,
        actor=principal,
        action="user.created",
        object_type="user",
        object_id=user.id,
        organisation_id=organisation.id,
        after=user_snapshot(user),
    )
    return user


async def _manageable_user(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID
) -> tuple[User, Organisation]:
    user = await repo.get_readable_user(session, principal, user_id, for_update=True)
    if user is None:
        raise NotFound("用户不存在")
    organisation = await _manageable_organisation(session, principal, user.organisation_id)
    return user, organisation


async def set_roles(session: AsyncSession, principal: Principal, user_id: uuid.UUID, roles: list[Role]) -> User:
    user, organisation = await _manageable_user(session, principal, user_id)
    granted = set(roles) - {Role(role) for role in user.roles}
    removed = {Role(role) for role in user.roles} - set(roles)
    policies.check_roles_assignable(principal, organisation, sorted(granted | removed))
    if user.id == principal.user_id and Role.org_admin in removed:
        raise Conflict("不能撤销自己的机构管理员角色")
    before = user_snapshot(user)
    user.roles = sorted(role.value for role in roles)
    await repo.revoke_user_refresh_tokens(session, user.id)
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action="user.roles_changed",
        object_type="user",
        object_id=user.id,
        organisation_id=organisation.id,
        before=before,
        after=user_snapshot(user),
    )
    return user


async def deactivate_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    user, organisation = await _manageable_user(session, principal, user_id)
    if user.id == principal.user_id:
        raise Conflict("不能停用自己的账号")
    before = user_snapshot(user)
    user.is_active = False
    await repo.revoke_user_refresh_tokens(session, user.id)
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action="user.deactivated",
        object_type="user",
        object_id=user.id,
        organisation_id=organisation.id,
        before=before,
        after=user_snapshot(user),
    )
    return user


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    expires_in: int
    refresh_token: str


async def _issue_tokens(
    session: AsyncSession, settings: Settings, user: User, family_id: uuid.UUID | None = None
) -> IssuedTokens:
    access_token, _ = issue_access_token(
        settings, user_id=user.id, organisation_id=user.organisation_id, roles=user.roles
    )
    refresh_token = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=sha256_hex(refresh_token),
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    await session.flush()
    return IssuedTokens(access_token, settings.access_token_ttl_seconds, refresh_token)


async def login(session: AsyncSession, settings: Settings, email: str, password: str) -> IssuedTokens:
    user = await repo.get_user_by_email(session, email)
    # argon2id costs ~20 ms of CPU and releases the GIL: in a thread, the event loop keeps serving meanwhile.
    verified = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if not verified or user is None or not user.is_active:
        raise Unauthorized("邮箱或密码错误")
    if password_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = utcnow()
    return await _issue_tokens(session, settings, user)


async def refresh(session: AsyncSession, settings: Settings, refresh_token: str) -> IssuedTokens:
    """Rotate: the presented token is spent; presenting a spent token revokes its whole family."""
    stored = await repo.get_refresh_token_for_update(session, sha256_hex(refresh_token))
    if stored is None:
        raise Unauthorized("刷新令牌无效")
    if stored.used_at is not None or stored.revoked_at is not None:
        await repo.revoke_refresh_family(session, stored.family_id)
        raise RefreshTokenReused
    if stored.expires_at <= utcnow():
        raise Unauthorized("刷新令牌已过期")
    user = await repo.get_user(session, stored.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("账号已停用")
    stored.used_at = utcnow()
    return await _issue_tokens(session, settings, user, family_id=stored.family_id)


class RefreshTokenReused(Unauthorized):
    """Raised after the family was revoked; the endpoint commits that revocation before answering."""

    slug = "refresh-token-reused"
    title = "刷新令牌已被使用，该登录会话已全部撤销"


async def revoke(session: AsyncSession, refresh_token: str) -> None:
    stored = await repo.get_refresh_token_for_update(session, sha256_hex(refresh_token))
    if stored is not None:
        await repo.revoke_refresh_family(session, stored.family_id)


async def create_api_key(session: AsyncSession, principal: Principal, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    if principal.user_id is None:
        raise Forbidden("API 密钥不能创建新的 API 密钥")
    policies.check_api_key_roles(principal, data.roles)
    full_key, prefix = new_api_key()
    api_key = ApiKey(
        organisation_id=principal.organisation_id,
        created_by=principal.user_id,
        name=data.name,
        prefix=prefix,
        key_hash=sha256_hex(full_key),
        scopes=sorted({scope.value for scope in data.scopes}),
        roles=sorted({role.value for role in data.roles}),
        expires_at=data.expires_at,
    )
    session.add(api_key)
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action="api_key.created",
        object_type="api_key",
        object_id=api_key.id,
        organisation_id=principal.organisation_id,
        after={"name": api_key.name, "scopes": api_key.scopes, "roles": api_key.roles},
    )
    return api_key, full_key


async def revoke_api_key(session: AsyncSession, principal: Principal, api_key_id: uuid.UUID) -> ApiKey:
    api_key = await repo.get_readable_api_key(session, principal, api_key_id)
    if api_key is None:
        raise NotFound("API 密钥不存在")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await session.flush()
        await record_audit(
            session,
            actor=principal,
            action="api_key.revoked",
            object_type="api_key",
            object_id=api_key.id,
            organisation_id=api_key.organisation_id,
        )
    return api_key
