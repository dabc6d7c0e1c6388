from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from fastapi import FastAPI

from services.marketplace.identity.security import (
    ARGON2_MEMORY_KIB,
    ARGON2_TIME_COST,
    hash_password,
    verify_password,
)
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.settings import Settings
from tests.support import PASSWORD, Actors


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": email, "password": password})


def test_passwords_are_hashed_with_argon2id_at_or_above_the_owasp_minimum() -> None:
    encoded = hash_password("s3cret-password")
    assert encoded.startswith("$argon2id$")
    parameters = encoded.split("$")[3]  # "m=19456,t=2,p=1": the encoded hash carries its parameters
    memory = int(parameters.split(",")[0].removeprefix("m="))
    time_cost = int(parameters.split(",")[1].removeprefix("t="))
    assert memory == ARGON2_MEMORY_KIB
    assert memory >= 19 * 1024
    assert time_cost == ARGON2_TIME_COST
    assert time_cost >= 2
    assert verify_password(encoded, "s3cret-password")
    assert not verify_password(encoded, "wrong")
    assert not verify_password(None, "anything")
    assert PasswordHasher(type=Type.ID).verify(encoded, "s3cret-password")


async def test_login_issues_a_short_lived_access_token_and_a_refresh_token(
    client: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    response = await login(client, actors["a_admin"].email)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == settings.access_token_ttl_seconds <= 15 * 60
    claims = jwt.decode(
        tokens["access_token"],
        settings.secret_key.get_secret_value(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["sub"] == str(actors["a_admin"].user_id)
    me = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == actors["a_admin"].email


async def test_wrong_password_and_unknown_account_get_the_same_401(client: httpx.AsyncClient, actors: Actors) -> None:
    wrong = await login(client, actors["a_admin"].email, "not-the-password")
    unknown = await login(client, "nobody@example.cn")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_refresh_rotates_and_reuse_of_a_spent_token_revokes_the_family(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    first = (await login(client, actors["a_admin"].email)).json()["refresh_token"]
    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first

    replayed = await client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert replayed.status_code == 401
    assert replayed.json()["type"].endswith("/refresh-token-reused")
    # the legitimate holder's newer token went with the family
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": second})).status_code == 401


async def test_revoked_refresh_tokens_no_longer_work(client: httpx.AsyncClient, actors: Actors) -> None:
    token = (await login(client, actors["b_admin"].email)).json()["refresh_token"]
    assert (await client.post("/v1/auth/revoke", json={"refresh_token": token})).status_code == 204
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": token})).status_code == 401
    assert (await client.post("/v1/auth/revoke", json={"refresh_token": "unknown"})).status_code == 204


async def test_deactivated_users_can_neither_log_in_nor_refresh(client: httpx.AsyncClient, actors: Actors) -> None:
    refresh = (await login(client, actors["a_member"].email)).json()["refresh_token"]
    response = await client.post(
        f"/v1/users/{actors['a_member'].user_id}/deactivate", headers=actors["a_admin"].headers
    )
    assert response.status_code == 200
    assert (await login(client, actors["a_member"].email)).status_code == 401
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": refresh})).status_code == 401


def _unsigned(claims: dict[str, object]) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _claims(settings: Settings, actors: Actors, **overrides: object) -> dict[str, object]:
    now = utcnow()
    claims: dict[str, object] = {
        "sub": str(actors["a_admin"].user_id),
        "org": str(actors["a_admin"].organisation_id),
        "roles": ["platform_admin"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda s, a: _unsigned(_claims(s, a)), id="alg-none"),
        pytest.param(
            lambda s, a: jwt.encode(_claims(s, a), "another-secret-of-sufficient-length!!", "HS256"), id="bad-signature"
        ),
        pytest.param(
            lambda s, a: jwt.encode(
                _claims(s, a, exp=int((utcnow() - timedelta(seconds=1)).timestamp())),
                s.secret_key.get_secret_value(),
                "HS256",
            ),
            id="expired",
        ),
        pytest.param(
            lambda s, a: jwt.encode(_claims(s, a, aud="another-api"), s.secret_key.get_secret_value(), "HS256"),
            id="wrong-audience",
        ),
        pytest.param(
            lambda s, a: jwt.encode(_claims(s, a, iss="someone-else"), s.secret_key.get_secret_value(), "HS256"),
            id="wrong-issuer",
        ),
        pytest.param(
            lambda s, a: jwt.encode(_claims(s, a), s.secret_key.get_secret_value() * 2, "HS512"),
            id="unexpected-algorithm",
        ),
        pytest.param(lambda s, a: "not.a.jwt", id="garbage"),
    ],
)
async def test_forged_or_stale_tokens_are_rejected(
    client: httpx.AsyncClient, actors: Actors, settings: Settings, forge: object
) -> None:
    token = forge(settings, actors)  # type: ignore[operator]
    response = await client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


async def test_login_is_rate_limited_per_account_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, settings: Settings
) -> None:
    email = actors["b_member"].email
    for _ in range(settings.login_rate_limit_per_account):
        assert (await login(client, email, "wrong-password")).status_code == 401
    limited = await login(client, email)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= settings.login_rate_limit_window_seconds
    assert limited.json()["type"].endswith("/rate-limited")
    # another account from another address is unaffected
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("198.51.100.9", 1)),
        base_url="http://testserver",
    )
    async with other:
        assert (await login(other, actors["a_admin"].email)).status_code == 200


async def test_login_is_rate_limited_per_client_address(app: FastAPI, actors: Actors, settings: Settings) -> None:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.44", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for attempt in range(settings.login_rate_limit_per_address):
            response = await login(http, f"user{attempt}@example.cn", "wrong-password")
            assert response.status_code == 401
        assert (await login(http, actors["a_admin"].email)).status_code == 429


async def test_api_keys_authenticate_within_their_scope_and_stop_when_revoked(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    admin = actors["a_admin"]
    created = await client.post(
        "/v1/api-keys", json={"name": "ERP 同步", "scopes": ["read"], "roles": ["org_admin"]}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("tmk_")
    key_headers = {"X-API-Key": key}
    assert (await client.get("/v1/api-keys", headers=key_headers)).status_code == 200
    write = await client.post(f"/v1/users/{admin.user_id}/deactivate", headers=key_headers)
    assert write.status_code == 403

    revoked = await client.post(f"/v1/api-keys/{created.json()['id']}/revoke", headers=admin.headers)
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/v1/api-keys", headers=key_headers)).status_code == 401
    assert (await client.get("/v1/api-keys", headers={"X-API-Key": key[:-1] + "x"})).status_code == 401


@pytest.mark.parametrize("expires_at", ["2030-12-31T23:59:59", "9999-12-31T23:59:59-14:00", "2020-01-01T00:00:00Z"])
async def test_an_api_key_expires_at_a_real_future_moment(
    client: httpx.AsyncClient, actors: Actors, expires_at: str
) -> None:
    """Without an offset, past year 9999 in UTC, or past: a 422 on the field (the first two were 500s)."""
    response = await client.post(
        "/v1/api-keys",
        json={"name": "ERP 同步", "scopes": ["read"], "roles": ["org_admin"], "expires_at": expires_at},
        headers=actors["a_admin"].headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "expires_at"]


async def test_api_keys_cannot_carry_roles_their_creator_lacks(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.post(
        "/v1/api-keys",
        json={"name": "k", "scopes": ["write"], "roles": ["registrar"]},
        headers=actors["a_admin"].headers,
    )
    assert response.status_code == 403


async def test_api_keys_are_stored_hashed(client: httpx.AsyncClient, actors: Actors, app: FastAPI) -> None:
    from sqlalchemy import select

    from services.marketplace.models import ApiKey

    created = await client.post(
        "/v1/api-keys",
        json={"name": "k", "scopes": ["read", "write"], "roles": ["org_admin"]},
        headers=actors["b_admin"].headers,
    )
    key = created.json()["key"]
    async with app.state.sessionmaker() as session:
        stored = await session.scalar(select(ApiKey))
        assert stored is not None
        assert key not in (stored.key_hash, stored.prefix)
        assert len(stored.key_hash) == 64
