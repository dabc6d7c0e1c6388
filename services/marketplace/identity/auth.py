"""Who is calling: bearer access tokens (users) or API keys (machine clients), and role checks."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select, update

from services.marketplace.dependencies import SessionDep, SettingsDep
from services.marketplace.identity.security import (
    InvalidToken,
    api_key_prefix,
    decode_access_token,
    sha256_hex,
)
from services.marketplace.kit.errors import Forbidden, Unauthorized
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import ApiKey, Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. Exactly one of ``user_id`` and ``api_key_id`` is set."""

    organisation_id: uuid.UUID
    roles: frozenset[str]
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    can_write: bool = True

    def has_role(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)

    @property
    def is_platform_admin(self) -> bool:
        return Role.platform_admin.value in self.roles

    def belongs_to(self, organisation_id: uuid.UUID) -> bool:
        return self.organisation_id == organisation_id

    @property
    def key(self) -> str:
        """Stable identity string for idempotency and rate-limit buckets."""
        return f"user:{self.user_id}" if self.user_id else f"apikey:{self.api_key_id}"


async def _principal_from_api_key(session: SessionDep, raw_key: str) -> Principal:
    prefix = api_key_prefix(raw_key)
    if prefix is None:
        raise Unauthorized("API 密钥格式无效")
    api_key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    now = utcnow()
    if (
        api_key is None
        or not hmac.compare_digest(api_key.key_hash, sha256_hex(raw_key))
        or api_key.revoked_at is not None
        or (api_key.expires_at is not None and api_key.expires_at <= now)
    ):
        raise Unauthorized("API 密钥无效、已过期或已吊销")
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=5):
        await session.execute(update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now))
    return Principal(
        organisation_id=api_key.organisation_id,
        roles=frozenset(api_key.roles),
        api_key_id=api_key.id,
        can_write="write" in api_key.scopes,
    )


async def get_optional_principal(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    if bearer:
        try:
            claims = decode_access_token(settings, bearer)
        except InvalidToken as exc:
            raise Unauthorized("访问令牌无效或已过期") from exc
        principal = Principal(organisation_id=claims.organisation_id, roles=claims.roles, user_id=claims.user_id)
    elif api_key:
        principal = await _principal_from_api_key(session, api_key)
    else:
        return None
    if request.method not in SAFE_METHODS and not principal.can_write:
        raise Forbidden("此 API 密钥只有读取权限")
    request.state.principal = principal
    return principal


async def get_principal(principal: Annotated[Principal | None, Depends(get_optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("需要登录")
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """Function-level authorization: the caller must hold one of ``roles``."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden("需要以下角色之一：" + "、".join(role.value for role in roles))
        return principal

    return dependency
