from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from services.matching.health import meilisearch_available

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    database: bool
    search: bool
    search_engine: Literal["meilisearch", "embedded"]


@router.get("/healthz")
async def liveness() -> Liveness:
    """The process is up and serving; says nothing about its dependencies."""
    return Liveness()


async def _database_reachable(request: Request) -> bool:
    try:
        async with request.app.state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@router.get("/readyz", responses={503: {"model": Readiness, "description": "A dependency is unreachable"}})
async def readiness(request: Request) -> Response:
    """Ready when the database and the search engine answer (the embedded engine lives in the database)."""
    settings = request.app.state.settings
    database = await _database_reachable(request)
    if settings.meili_url:
        search = await meilisearch_available(request.app.state.http_client, settings.meili_url)
        engine: Literal["meilisearch", "embedded"] = "meilisearch"
    elif settings.search_database_url:
        # The embedded engine on a pool of its own: its endpoint can fail while the main database answers.
        search, engine = await request.app.state.search.healthy(), "embedded"
    else:
        search, engine = database, "embedded"
    ready = database and search
    body = Readiness(status="ready" if ready else "unavailable", database=database, search=search, search_engine=engine)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
