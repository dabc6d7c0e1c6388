"""Fixtures of the fault-injection tests: a PostgreSQL cluster of their own (so stopping it hurts no other test),
a migrated template on it, and a fresh database per test cloned from that template."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.marketplace.migrate import upgrade_to_head_async
from tests.faults.harness import Cluster

FAULT_TEMPLATE = "faults_template"


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="techmarket-faults-") as data_dir:
        own = Cluster(Path(data_dir))
        try:
            yield own
        finally:
            own.destroy()


@pytest.fixture(scope="session")
async def fault_template(cluster: Cluster) -> str:
    admin = await cluster.connect("postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{FAULT_TEMPLATE}"')
    finally:
        await admin.close()
    await upgrade_to_head_async(cluster.url(FAULT_TEMPLATE))
    return FAULT_TEMPLATE


@pytest.fixture
async def fault_database(cluster: Cluster, fault_template: str) -> AsyncIterator[str]:
    """The name of a fresh migrated database on the fault cluster (restarted first at teardown if need be)."""
    name = f"faults_{uuid.uuid4().hex[:12]}"
    admin = await cluster.connect("postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{fault_template}" STRATEGY FILE_COPY')
    finally:
        await admin.close()
    yield name
    await asyncio.to_thread(cluster.ensure_running)
    admin = await cluster.connect("postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
