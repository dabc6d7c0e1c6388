"""The bare baseline for ``bench_organisation_get.py``: Starlette + asyncpg, nothing else.

It serves ``GET /v1/organisations/{organisation_id}`` the way the real service does, minus the framework:
the same bearer-token check (PyJWT, same secret, algorithm, audience, issuer and required claims), the
same visibility rule and SQL (``organisations.*`` by id; callers other than platform admins see verified
organisations and their own), and a byte-identical JSON body. No ORM, no dependency injection, no
pydantic, no middleware, no session or transaction: one prepared statement on a pooled connection.

Configured from the same environment variables as the service::

    TECHMARKET_DATABASE_URL     postgresql+asyncpg://user@/db?host=/socket/dir (the +asyncpg is dropped)
    TECHMARKET_SECRET_KEY       HMAC secret of the access tokens
    TECHMARKET_JWT_ALGORITHM    default HS256
    TECHMARKET_JWT_ISSUER       default techmarket
    TECHMARKET_JWT_AUDIENCE     default techmarket-api
    BASELINE_POOL_SIZE          asyncpg pool size (min = max), default 10 like the service's pool_size

Run it with ``uvicorn bench.baseline_app:app``.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PLATFORM_ADMIN = "platform_admin"
VERIFIED = "verified"
_COLUMNS = (
    "organisations.kind, organisations.name, organisations.uscc, organisations.region_code, "
    "organisations.verification_status, organisations.verification_reason, organisations.verified_at, "
    "organisations.verified_by, organisations.version, organisations.id, organisations.created_at, "
    "organisations.updated_at"
)
# The statements SQLAlchemy emits for the service's repository.get_readable_organisation.
SQL_ANY = f"SELECT {_COLUMNS} FROM organisations WHERE organisations.id = $1::UUID"  # noqa: S608 - constant
SQL_VISIBLE = (
    f"SELECT {_COLUMNS} FROM organisations "  # noqa: S608 - constant
    "WHERE (organisations.verification_status = $1::VARCHAR OR organisations.id = $2::UUID) "
    "AND organisations.id = $3::UUID"
)
_JWT_OPTIONS = {"require": ["exp", "iat", "sub", "aud", "iss", "jti"]}


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (asyncpg)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


SECRET = os.environ.get("TECHMARKET_SECRET_KEY", "")
ALGORITHM = os.environ.get("TECHMARKET_JWT_ALGORITHM", "HS256")
ISSUER = os.environ.get("TECHMARKET_JWT_ISSUER", "techmarket")
AUDIENCE = os.environ.get("TECHMARKET_JWT_AUDIENCE", "techmarket-api")
POOL_SIZE = int(os.environ.get("BASELINE_POOL_SIZE", "10"))


def _problem(status: int, title: str) -> Response:
    body = json.dumps({"type": "about:blank", "title": title, "status": status}, ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/problem+json")


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    # pydantic writes UTC as "Z"; asyncpg returns timestamptz as aware UTC datetimes.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _render(row: asyncpg.Record) -> bytes:
    document: dict[str, Any] = {
        "id": str(row["id"]),
        "kind": row["kind"],
        "name": row["name"],
        "uscc": row["uscc"],
        "region_code": row["region_code"],
        "verification_status": row["verification_status"],
        "verification_reason": row["verification_reason"],
        "verified_at": _timestamp(row["verified_at"]),
        "created_at": _timestamp(row["created_at"]),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def get_organisation(request: Request) -> Response:
    try:
        organisation_id = uuid.UUID(request.path_params["organisation_id"])
    except ValueError:
        return _problem(422, "Unprocessable Content")
    caller_org: uuid.UUID | None = None
    roles: frozenset[str] = frozenset()
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _problem(401, "Unauthorized")
        try:
            claims = jwt.decode(
                token, SECRET, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER, options=_JWT_OPTIONS
            )
            uuid.UUID(claims["sub"])
            caller_org = uuid.UUID(claims["org"])
            roles = frozenset(str(role) for role in claims.get("roles", []))
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return _problem(401, "Unauthorized")
    pool: asyncpg.Pool = request.app.state.pool
    if PLATFORM_ADMIN in roles:
        row = await pool.fetchrow(SQL_ANY, organisation_id)
    elif caller_org is not None:
        row = await pool.fetchrow(SQL_VISIBLE, VERIFIED, caller_org, organisation_id)
    else:
        row = await pool.fetchrow(
            f"SELECT {_COLUMNS} FROM organisations "  # noqa: S608 - constant
            "WHERE organisations.verification_status = $1::VARCHAR AND organisations.id = $2::UUID",
            VERIFIED,
            organisation_id,
        )
    if row is None:
        return _problem(404, "Not Found")
    return Response(_render(row), media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        asyncpg_dsn(os.environ["TECHMARKET_DATABASE_URL"]),
        min_size=POOL_SIZE,
        max_size=POOL_SIZE,
        server_settings={"application_name": "techmarket-baseline", "timezone": "UTC"},
    )
    try:
        yield
    finally:
        await app.state.pool.close()


app = Starlette(routes=[Route("/v1/organisations/{organisation_id}", get_organisation)], lifespan=lifespan)
