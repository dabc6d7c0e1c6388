"""The application factory: ``create_app(settings)``; the lifespan owns the engine and the clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.responses import JSONResponse

from services.marketplace import db
from services.marketplace.audit.endpoints import router as audit_router
from services.marketplace.challenges.endpoints import routers as challenge_routers
from services.marketplace.contracts.endpoints import routers as contract_routers
from services.marketplace.dashboard.endpoints import router as dashboard_router
from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.health.endpoints import router as health_router
from services.marketplace.identity.endpoints import routers as identity_routers
from services.marketplace.kit.errors import (
    ServiceUnavailable,
    handle_unexpected,
    install_problem_handlers,
    problem_response,
)
from services.marketplace.kit.idempotency import IdempotentReplay, render_replay
from services.marketplace.kit.limits import BodyLimitMiddleware
from services.marketplace.kit.nul_characters import reject_nul_characters
from services.marketplace.kit.openapi import install_problem_documentation
from services.marketplace.kit.ratelimit import RateLimiter
from services.marketplace.kit.security import SecurityHeadersMiddleware, install_cors
from services.marketplace.listings.endpoints import routers as listing_routers
from services.marketplace.notifications.endpoints import router as notifications_router
from services.marketplace.observability import Metrics, RequestContextMiddleware
from services.marketplace.outbox.endpoints import router as outbox_router
from services.marketplace.search.endpoints import matches_router
from services.marketplace.search.endpoints import router as search_router
from services.marketplace.search.engines import create_search_engine, prepare_indexes
from services.marketplace.settings import Settings
from services.marketplace.settlement.endpoints import routers as settlement_routers
from services.marketplace.statistics.endpoints import router as statistics_router
from services.marketplace.worker import run_worker
from services.matching.engine import SearchUnavailable

API_TITLE = "安徽科技大市场 API"
API_DESCRIPTION = (
    "Backend of the Anhui Science & Technology Market (安徽科技大市场): organisations, listings, "
    "揭榜挂帅 challenges, technology contracts, settlement and statistics. Errors are RFC 9457 "
    "`application/problem+json`; money is integer fen."
)


ROUTERS: list[APIRouter] = [
    health_router,
    *identity_routers,
    *listing_routers,
    *contract_routers,
    *challenge_routers,
    search_router,
    matches_router,
    notifications_router,
    statistics_router,
    dashboard_router,
    *settlement_routers,
    audit_router,
    outbox_router,
]


async def search_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, ServiceUnavailable("检索服务暂时不可用，请稍后重试"))


def operation_id(route: APIRoute) -> str:
    """Clean operation ids (``tag-route_name``) for generated clients."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


async def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(start_embedded_postgres, settings.data_dir)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = db.create_engine(settings, await resolve_database_url(settings))
    app.state.engine = engine
    app.state.sessionmaker = db.create_sessionmaker(engine)
    app.state.rate_limiter = RateLimiter(engine)
    app.state.http_client = httpx.AsyncClient()
    app.state.search = create_search_engine(settings, engine)
    await prepare_indexes(app.state.search)
    stop = asyncio.Event()
    worker = (
        asyncio.create_task(run_worker(settings, app.state.sessionmaker, stop, app.state.search))
        if settings.run_worker_in_process
        else None
    )
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await app.state.search.close()
        await app.state.http_client.aclose()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title=API_TITLE,
        description=API_DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(reject_nul_characters)],
        docs_url="/docs" if settings.serve_docs else None,
        redoc_url="/redoc" if settings.serve_docs else None,
        openapi_url="/openapi.json" if settings.serve_docs else None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    install_problem_handlers(app)
    install_problem_documentation(app)
    app.add_exception_handler(IdempotentReplay, render_replay)
    app.add_exception_handler(SearchUnavailable, search_unavailable)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    install_cors(app, settings)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics, on_unhandled=handle_unexpected)
    # Outermost, so that every answer carries the headers, the 500s rendered by the request context included.
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age_seconds=settings.effective_hsts_max_age_seconds)
    return app
