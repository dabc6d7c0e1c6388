"""Password hashing (argon2id), JWT access tokens and opaque secrets (refresh tokens, API keys)."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import Type

from services.marketplace.kit.timeutil import utcnow
from services.marketplace.settings import Settings

# OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1

password_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM, type=Type.ID
)
# Verified against when the account does not exist, so that response time does not reveal which emails exist.
_DUMMY_HASH = password_hasher.hash(secrets.token_urlsafe(16))

API_KEY_PREFIX = "tmk_"
# What `new_api_key` issues; anything else (a NUL character included) never reaches the database.
API_KEY_PREFIX_PATTERN = re.compile(r"[0-9a-f]{12}")


def hash_password(password: str) -> str:
    return password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return password_hasher.check_needs_rehash(password_hash)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    roles: frozenset[str]
    token_id: str
    expires_at: datetime


class InvalidToken(Exception):
    pass


def issue_access_token(
    settings: Settings, *, user_id: uuid.UUID, organisation_id: uuid.UUID, roles: list[str]
) -> tuple[str, datetime]:
    now = utcnow()
    expires_at = now + timedelta(seconds=settings.access_token_ttl_seconds)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "org": str(organisation_id),
        "roles": sorted(roles),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": expires_at,
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm)
    return token, expires_at


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "jti"]},
        )
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            organisation_id=uuid.UUID(claims["org"]),
            roles=frozenset(str(role) for role in claims.get("roles", [])),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def new_refresh_token() -> str:
    return secrets.token_urlsafe(48)


def new_api_key() -> tuple[str, str]:
    """Return ``(full_key, prefix)``; only the SHA-256 of the full key is stored."""
    prefix = secrets.token_hex(6)
    return f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}", prefix


def api_key_prefix(full_key: str) -> str | None:
    if not full_key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, _ = full_key[len(API_KEY_PREFIX) :].partition("_")
    return prefix if sep and API_KEY_PREFIX_PATTERN.fullmatch(prefix) else None
