"""Where the CPU of ``GET /v1/organisations/{id}`` goes, layer by layer, in one process and without HTTP.

    .venv/bin/python bench/breakdown_organisation_get.py [--calls 3000]

Companion of ``bench_organisation_get.py``: that one measures the two servers over HTTP; this one times,
one call at a time on uvloop (no concurrency, no network client), the pieces our request is made of and
the whole app called as ASGI, next to the bare baseline app called the same way:

* the database read as the baseline does it (asyncpg ``fetchrow`` of a prepared statement) and as we do
  it (SQLAlchemy ORM session + ``scalar`` + ``commit``), the latter with the engine as configured
  (``pool_pre_ping``, a transaction) and with the ping and/or the transaction left out, and the same
  with SQLAlchemy Core instead of the ORM;
* building the ORM statement, decoding the JWT, validating and serialising the response model;
* both whole apps through their ASGI interface (middleware, routing, dependencies, JSON), no uvicorn.

Figures are CPU microseconds per call (``time.process_time``, so worker threads count), the median of
``--repeat`` runs. Everything runs against an embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import atexit
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from asgi_lifespan import LifespanManager
from bench_organisation_get import Fixture, prepare_database, remove_work_dir
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from services.marketplace.identity import repository
from services.marketplace.identity.auth import Principal
from services.marketplace.identity.schemas import OrganisationRead
from services.marketplace.identity.security import decode_access_token
from services.marketplace.models import Organisation
from services.marketplace.settings import DEVELOPMENT_SECRET, Settings


async def cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int, repeat: int) -> float:
    for _ in range(min(300, calls)):
        await call()
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(calls):
            await call()
        runs.append(1e6 * (time.process_time() - started) / calls)
    return statistics.median(runs)


def asgi_caller(app: Any, path: str, token: str) -> Callable[[], Awaitable[None]]:
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]

    async def call() -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")

    return call


async def breakdown(fixture: Fixture, calls: int, repeat: int) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []

    async def measure(label: str, call: Callable[[], Awaitable[Any]]) -> None:
        rows.append((label, await cpu_per_call(call, calls, repeat)))
        print(f"  {rows[-1][1]:8.1f} µs  {label}", flush=True)

    settings = Settings(database_url=fixture.database_url, secret_key=DEVELOPMENT_SECRET)
    claims = decode_access_token(settings, fixture.token)
    principal = Principal(organisation_id=claims.organisation_id, roles=claims.roles, user_id=claims.user_id)
    organisation_id = fixture.organisation_id
    server_settings = {"application_name": "techmarket-breakdown", "timezone": "UTC"}

    print("database read (one connection, one call at a time):")
    import baseline_app

    pool = await asyncpg.create_pool(
        baseline_app.asyncpg_dsn(fixture.database_url), min_size=1, max_size=1, server_settings=server_settings
    )
    try:
        await measure(
            "asyncpg pool.fetchrow (the baseline)", lambda: pool.fetchrow(baseline_app.SQL_ANY, organisation_id)
        )
    finally:
        await pool.close()
    configurations = [
        ("as configured: pre_ping, transaction", {"pool_pre_ping": True}),
        ("no pre_ping, transaction", {"pool_pre_ping": False}),
        ("no pre_ping, AUTOCOMMIT", {"pool_pre_ping": False, "isolation_level": "AUTOCOMMIT"}),
    ]
    table = Organisation.__table__
    core_statement = select(table).where(table.c.id == organisation_id)
    for label, options in configurations:
        engine = create_async_engine(
            fixture.database_url,
            pool_size=1,
            max_overflow=0,
            connect_args={"server_settings": server_settings},
            **options,
        )
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

        async def orm_read(sessionmaker: async_sessionmaker[Any] = sessionmaker) -> None:
            async with sessionmaker() as session:
                await session.scalar(
                    repository.readable_organisations(principal).where(Organisation.id == organisation_id)
                )
                await session.commit()

        async def core_read(engine: Any = engine) -> None:
            async with engine.connect() as connection:
                (await connection.execute(core_statement)).first()

        try:
            await measure(f"SQLAlchemy ORM session.scalar + commit, {label}", orm_read)
            await measure(f"SQLAlchemy Core connection.execute, {label}", core_read)
        finally:
            await engine.dispose()

    print("other pieces:")

    async def build_statement() -> None:
        repository.readable_organisations(principal).where(Organisation.id == organisation_id)

    await measure("build the ORM select (repository.readable_organisations)", build_statement)

    async def decode() -> None:
        decode_access_token(settings, fixture.token)

    await measure("decode + verify the JWT (PyJWT, same in both)", decode)
    engine = create_async_engine(fixture.database_url, pool_size=1, max_overflow=0)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        organisation = await session.scalar(select(Organisation).where(Organisation.id == organisation_id))
    await engine.dispose()
    adapter = TypeAdapter(OrganisationRead)

    async def serialise() -> None:
        adapter.dump_json(OrganisationRead.model_validate(organisation))

    await measure("OrganisationRead.model_validate + JSON", serialise)

    print("whole apps through ASGI (no uvicorn, no HTTP parsing):")
    from services.marketplace.app import create_app

    path = f"/v1/organisations/{organisation_id}"
    for label, app in [("ours: create_app()", create_app(Settings())), ("baseline_app", baseline_app.app)]:
        async with LifespanManager(app) as manager:
            await measure(label, asgi_caller(manager.app, path, fixture.token))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU per call of each layer of GET /v1/organisations/{id}")
    parser.add_argument("--calls", type=int, default=3000, help="calls per timed run (default 3000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per item, median reported (default 3)")
    args = parser.parse_args()
    if not 100 <= args.calls <= 50_000 or not 1 <= args.repeat <= 10:
        parser.error("bounded runs only: 100 <= --calls <= 50000, 1 <= --repeat <= 10")
    work_dir = Path(tempfile.mkdtemp(prefix="techmarket-bench-"))
    atexit.register(remove_work_dir, work_dir)
    print(f"setting up: embedded PostgreSQL in {work_dir} …", flush=True)
    fixture = prepare_database(work_dir, "admin")
    os.environ.update(
        {
            "TECHMARKET_DATABASE_URL": fixture.database_url,
            "TECHMARKET_SECRET_KEY": DEVELOPMENT_SECRET,
            "TECHMARKET_RUN_WORKER_IN_PROCESS": "false",
            "TECHMARKET_LOG_LEVEL": "WARNING",
        }
    )
    print(f"CPU µs per call, median of {args.repeat} x {args.calls} calls, uvloop, one call at a time\n")
    try:
        import uvloop
    except ImportError:
        import asyncio

        asyncio.run(breakdown(fixture, args.calls, args.repeat))
    else:
        uvloop.run(breakdown(fixture, args.calls, args.repeat))


if __name__ == "__main__":
    main()
