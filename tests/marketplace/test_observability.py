from __future__ import annotations

import json
import logging

import httpx

from services.marketplace.observability import JsonFormatter, request_id_var


async def test_metrics_count_requests_per_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/v1/organisations/00000000-0000-0000-0000-000000000000")
    metrics = (await client.get("/metrics")).text
    assert 'techmarket_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics
    assert 'route="/v1/organisations/{organisation_id}",status="404"' in metrics
    assert "techmarket_http_request_duration_seconds_bucket" in metrics


async def test_readiness_reports_the_database_and_the_embedded_search(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": True, "search": True, "search_engine": "embedded"}


async def test_readiness_fails_when_the_database_is_unreachable(client: httpx.AsyncClient, app: object) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    working = app.state.engine  # type: ignore[attr-defined]
    app.state.engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")  # type: ignore[attr-defined]
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.engine.dispose()  # type: ignore[attr-defined]
        app.state.engine = working  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.json()["database"] is False
    assert (await client.get("/healthz")).status_code == 200


def test_log_lines_are_json_with_the_request_id() -> None:
    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord("techmarket", logging.INFO, __file__, 1, "登录成功 %s", ("x",), None)
        record.user = "u-1"
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-42"
    assert line["message"] == "登录成功 x"
    assert line["user"] == "u-1"
    assert line["level"] == "info"
