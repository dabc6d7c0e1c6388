"""Experiments: our app with one overhead at a time taken away, to find where the time goes.

Nothing here changes the service: each variant builds the normal app with ``create_app()`` and then
adjusts it inside the benchmark's server process only. Choose variants with ``BENCH_VARIANTS`` (comma
separated), or through ``bench_organisation_get.py --variant NAME`` (repeatable):

``async_settings``
    ``get_settings`` is a plain ``def`` dependency, which FastAPI runs in the anyio thread pool on every
    request; make it an ``async def`` (in place, see ``_make_get_settings_async``).
``no_pre_ping``
    engine without ``pool_pre_ping`` (SQLAlchemy's asyncpg ping is BEGIN; ``;``; ROLLBACK: three round
    trips on every checkout).
``autocommit``
    engine with ``isolation_level="AUTOCOMMIT"``: no BEGIN/COMMIT around the single SELECT (and the
    ping, if still on, is one round trip).
``no_middleware``
    without ``RequestContextMiddleware`` (request id, Prometheus metrics, access log call) and
    ``BodyLimitMiddleware``.

Run as ``uvicorn bench.ours_variants:create_app --factory``.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.marketplace import db
from services.marketplace import dependencies as deps
from services.marketplace.app import create_app as create_real_app
from services.marketplace.kit.limits import BodyLimitMiddleware
from services.marketplace.observability import RequestContextMiddleware
from services.marketplace.settings import Settings

KNOWN = frozenset({"async_settings", "no_pre_ping", "autocommit", "no_middleware"})


def selected() -> frozenset[str]:
    names = frozenset(name.strip() for name in os.environ.get("BENCH_VARIANTS", "").split(",") if name.strip())
    unknown = names - KNOWN
    if unknown:
        raise ValueError(f"unknown BENCH_VARIANTS {sorted(unknown)}; known: {sorted(KNOWN)}")
    return names


def _engine_factory(variants: frozenset[str]) -> Any:
    def create_engine(settings: Settings, url: str) -> AsyncEngine:
        options: dict[str, Any] = {
            "pool_size": settings.database_pool_size,
            "max_overflow": settings.database_max_overflow,
            "pool_pre_ping": "no_pre_ping" not in variants,
            "connect_args": {"server_settings": {"application_name": "techmarket", "timezone": "UTC"}},
        }
        if "autocommit" in variants:
            options["isolation_level"] = "AUTOCOMMIT"
        return create_async_engine(url, **options)

    return create_engine


async def _async_get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _make_get_settings_async() -> None:
    """Turn ``dependencies.get_settings`` into a coroutine function, in place.

    ``app.dependency_overrides`` would be the tidy way, but FastAPI then rebuilds the dependant of every
    overridden dependency on every request (``get_dependant`` in ``solve_dependencies``), which costs far
    more than the thread hop it would save. Swapping the code object keeps the function's identity (so the
    routes' dependants and the per-request dependency cache still match it) and its signature.
    """
    deps.get_settings.__code__ = _async_get_settings.__code__


def create_app() -> FastAPI:
    variants = selected()
    if variants & {"no_pre_ping", "autocommit"}:
        # The lifespan calls db.create_engine through the module, so this swaps the engine options only.
        db.create_engine = _engine_factory(variants)
    if "async_settings" in variants:
        _make_get_settings_async()
    app = create_real_app(Settings())
    if "no_middleware" in variants:
        app.user_middleware = [
            middleware
            for middleware in app.user_middleware
            if middleware.cls not in (RequestContextMiddleware, BodyLimitMiddleware)
        ]
    return app
