"""Security headers, CORS by configuration, docs off in production, no internals in any response, log audit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text

from services.marketplace.app import create_app
from services.marketplace.settings import Settings
from tests.log_audit import find_leaks, suite_secrets
from tests.marketplace.test_problems import assert_problem
from tests.support import PASSWORD, Actors


async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def configured(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    changed = settings.model_copy(
        update={
            "cors_allow_origins": ["https://www.ahtechmarket.example.cn"],
            "docs_enabled": False,
            "hsts_max_age_seconds": 31_536_000,
        }
    )
    async for http in serve(changed):
        yield http


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient, actors: Actors) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/v1/nothing-here"),
        await client.get("/v1/users/me", headers=actors["a_admin"].headers),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers  # plain HTTP in tests
        assert "server" not in response.headers
    personal = await client.get("/v1/users/me", headers=actors["a_admin"].headers)
    assert personal.headers["cache-control"] == "no-store"
    dashboard = await client.get("/dashboard")
    assert "script-src 'self'" in dashboard.headers["content-security-policy"]  # the page keeps its own policy


async def test_cors_answers_only_configured_origins(client: httpx.AsyncClient, configured: httpx.AsyncClient) -> None:
    origin = "https://www.ahtechmarket.example.cn"
    assert "access-control-allow-origin" not in (await client.get("/healthz", headers={"origin": origin})).headers
    allowed = await configured.get("/healthz", headers={"origin": origin})
    assert allowed.headers["access-control-allow-origin"] == origin
    assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
    stranger = await configured.get("/healthz", headers={"origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in stranger.headers
    preflight = await configured.options(
        "/v1/achievements",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    refused = await configured.options(
        "/v1/achievements",
        headers={"origin": "https://evil.example.com", "access-control-request-method": "POST"},
    )
    assert refused.status_code == 400
    assert configured_hsts(await configured.get("/healthz"))


def configured_hsts(response: httpx.Response) -> bool:
    return response.headers.get("strict-transport-security") == "max-age=31536000; includeSubDomains"


async def test_docs_can_be_switched_off(client: httpx.AsyncClient, configured: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).status_code == 200
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert_problem(await configured.get(path), 404)


def test_production_serves_no_docs_and_refuses_wildcard_origins() -> None:
    production = {
        "environment": "production",
        "secret_key": "x" * 40,
        "database_url": "postgresql+asyncpg://techmarket@db/techmarket",
    }
    settings = Settings(**production)  # type: ignore[arg-type]
    assert not settings.serve_docs
    assert settings.effective_hsts_max_age_seconds == 365 * 24 * 3600
    assert Settings(**production, docs_enabled=True).serve_docs  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="CORS_ALLOW_ORIGINS"):
        Settings(**production, cors_allow_origins=["*"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="without a path"):
        Settings(cors_allow_origins=["https://example.cn/app"])


def test_origins_come_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TECHMARKET_CORS_ALLOW_ORIGINS", "https://a.example.cn, https://b.example.cn:8443")
    assert Settings().cors_allow_origins == ["https://a.example.cn", "https://b.example.cn:8443"]
    monkeypatch.setenv("TECHMARKET_CORS_ALLOW_ORIGINS", '["https://c.example.cn"]')
    assert Settings().cors_allow_origins == ["https://c.example.cn"]


async def test_failures_never_show_stack_traces_or_sql(app: FastAPI) -> None:
    async def broken_sql() -> None:
        async with app.state.sessionmaker() as session:
            await session.execute(text("SELECT secret_column FROM no_such_table WHERE password = 'hunter22'"))

    async def broken_code() -> None:
        raise RuntimeError("Traceback: connection string postgresql://admin:hunter22@db/techmarket")

    app.add_api_route("/test-only/broken-sql", broken_sql)
    app.add_api_route("/test-only/broken-code", broken_code)
    # The test transport re-raises server errors by default; a real server answers with the handler's 500.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        responses = [await client.get(path) for path in ("/test-only/broken-sql", "/test-only/broken-code")]
    for path, response in zip(("/test-only/broken-sql", "/test-only/broken-code"), responses, strict=True):
        body = assert_problem(response, 500)
        text_ = response.text
        for leak in ("Traceback", "SELECT", "no_such_table", "hunter22", "postgresql://", 'File "', "line "):
            assert leak not in text_, (path, leak, body)
        assert set(body) <= {"type", "title", "status", "detail", "instance", "request_id", "errors"}
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_log_audit_recognises_secrets() -> None:
    secrets = suite_secrets()
    assert PASSWORD in secrets
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    lines = [
        '{"message": "request", "path": "/v1/users/me", "status": 200}',
        f'{{"message": "login", "password": "{PASSWORD}"}}',
        f'{{"authorization": "Bearer {jwt}"}}',
        '{"key": "tmk_ab12cd34_' + "Z" * 43 + '"}',
        '{"refresh_token": "' + "Ab_-" * 16 + '"}',
        '{"digest": "' + "0123456789abcdef" * 4 + '"}',
    ]
    found = {(leak.line_number, leak.what) for leak in find_leaks(lines, secrets)}
    assert found == {
        (2, "password or secret used by the suite"),
        (3, "access token (JWT)"),
        (4, "API key"),
        (5, "refresh token"),
    }


async def test_logins_and_token_use_log_no_secrets(
    client: httpx.AsyncClient, actors: Actors, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    login = await client.post("/v1/auth/token", data={"username": actors["a_admin"].email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    await client.post("/v1/auth/token", data={"username": actors["a_admin"].email, "password": PASSWORD + "x"})
    await client.get("/v1/users/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
    await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"]):
        assert secret not in logged
