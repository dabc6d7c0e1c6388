"""Test harness: one real PostgreSQL per session, a migrated template, and a fresh database per test.

Set ``TEST_DATABASE_URL`` (postgresql+asyncpg://…) to use an existing server instead of the embedded one;
the harness creates and drops its own databases there.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from services.marketplace.app import create_app
from services.marketplace.embedded import start_embedded_postgres
from services.marketplace.migrate import upgrade_to_head_async
from services.marketplace.settings import Settings
from tests.support import Actors

pytest_plugins = ["tests.log_audit"]

TEMPLATE_DATABASE = "techmarket_test_template"
SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def _libpq_dsn(url: str, database: str) -> str:
    """asyncpg DSN for ``database`` on the server of the SQLAlchemy ``url``."""
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A SQLAlchemy URL of the test server (its database part is replaced per test)."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="techmarket-test-") as data_dir:
        yield start_embedded_postgres(Path(data_dir), database="postgres", delete_on_exit=True)


@pytest.fixture(scope="session")
async def template_database(server_url: str) -> str:
    connection = await asyncpg.connect(_libpq_dsn(server_url, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DATABASE}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{TEMPLATE_DATABASE}"')
    finally:
        await connection.close()
    url = make_url(server_url).set(database=TEMPLATE_DATABASE).render_as_string(hide_password=False)
    await upgrade_to_head_async(url)
    return TEMPLATE_DATABASE


@pytest.fixture
async def database_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A database of its own for each test, cloned from the migrated template."""
    name = f"techmarket_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_libpq_dsn(server_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}" STRATEGY FILE_COPY')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        run_worker_in_process=False,
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def actors(app: FastAPI, client: httpx.AsyncClient) -> Actors:
    return await Actors.create(app, client)
