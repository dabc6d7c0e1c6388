"""Contract fuzzing harness: one database, one cast and one served app for the whole fuzz session.

Schemathesis sends every request in process through its ASGI transport, which runs the app (its lifespan, hence
its connection pool) on an event-loop thread of its own. The cast is created beforehand by a second instance of
the app on pytest's loop, and every user logs in through ``POST /v1/auth/token``.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy.engine import make_url

from services.marketplace.app import create_app
from services.marketplace.kit.taxonomy import fields, industries
from services.marketplace.models.identity import OrganisationKind, Role
from services.marketplace.settings import Settings
from tests.conftest import _libpq_dsn
from tests.support import PASSWORD, Actors, valid_uscc

# Examples per operation and phase (and scenarios per role of the stateful test): the time box of the fuzz run.
EXAMPLES = int(os.environ.get("TECHMARKET_FUZZ_EXAMPLES", "15"))

# The document the app serves at /openapi.json (the `fuzz_app` fixture checks that it is served unchanged);
# the tests are parametrized from it at collection time, before any database exists.
DOCUMENT: dict[str, Any] = create_app(Settings(environment="test")).openapi()


def _cursor(values: list[object]) -> str:
    """A forged pagination cursor (real ones are the base64 JSON of the last row's keys)."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


# Values the schema cannot pin down (a code from a table, a check character, a time in the future) are drawn
# from real ones most of the time, so that valid requests get past validation and reach the database; the
# hostile ones are values the database cannot store or compare, which must be refused with a 422.
DICTIONARIES: dict[str, list[str | int]] = {
    "region-codes": ["340104", "340111", "340100", "340000", "110108"],
    "field-codes": sorted(fields()),
    "industry-codes": sorted(industries()),
    "usccs": [valid_uscc("9134020") for _ in range(20)],
    "future-times": ["2030-06-30T16:00:00Z", "2031-01-01T00:00:00+08:00", "9999-12-31T23:59:59-14:00"],
    "patent-numbers": ["ZL201811564288.X", "ZL201710601862.3", "ZL200510096239.4"],
    "hostile-cursors": [
        _cursor([2**63]),
        _cursor([{"t": "0001-01-01T00:00:00+14:00"}, {"u": str(uuid.UUID(int=0))}]),
        _cursor([{"u": 5}, "\x00"]),
    ],
    "hostile-strings": ["\x00", "ab\x00", "\x00" * 3],
    "hostile-integers": [2**31, 2**63, -(2**63) - 1, 10**20],
}
# Parameter (or body field) → the dictionary its values are drawn from, and how often.
BINDINGS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(["body.region_code", "query.region_code", "query.region"], ("region-codes", 0.9)),
    **dict.fromkeys(["body.field_code", "query.field_code"], ("field-codes", 0.9)),
    **dict.fromkeys(["body.industry_code", "query.industry_code"], ("industry-codes", 0.9)),
    "body.uscc": ("usccs", 0.9),
    **dict.fromkeys(["body.valid_until", "body.deadline", "body.expires_at"], ("future-times", 0.9)),
    "body.ip_items[*].number": ("patent-numbers", 0.9),
    "query.cursor": ("hostile-cursors", 0.3),
}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260101,
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
        "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
        "parameters": {
            key: {"dictionary": name, "probability": probability} for key, (name, probability) in BINDINGS.items()
        },
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
            "dictionaries": {
                "string": {"dictionary": "hostile-strings", "probability": 0.01},
                "integer": {"dictionary": "hostile-integers", "probability": 0.02},
            },
        },
        # Coverage: the deterministic boundary and type-violation cases of every parameter and field.
        "phases": {"coverage": {"enabled": True}},
        # Not run: `positive_data_acceptance` (rules the schema cannot state, such as a region code from the table
        # or milestones that add up to the amount, refuse schema-valid data with a 422), `unsupported_method` and
        # `allow_header_conformance` (Starlette's 405 names only the methods of the first route matching a path,
        # and a literal path such as /count is also the shape of /{listing_id}).
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "negative_data_rejection": {"enabled": True},
            "use_after_free": {"enabled": True},
            "ensure_resource_availability": {"enabled": True},
        },
    }
)

# The anonymous caller and a user of every role (the expert and the registrar join the cast of tests.support).
ROLES = (
    "anonymous",
    "platform_admin",
    "a_admin",
    "a_member",
    "b_admin",
    "official",
    "broker",
    "expert",
    "registrar",
)


def load_schema() -> OpenApiSchema:
    """A schema of its own over a copy of the document (stateful testing adds the links it infers to it)."""
    return schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=CONFIG)


@dataclass(frozen=True)
class Credentials:
    """Bearer tokens obtained through the real login, by actor name."""

    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}


@pytest.fixture(scope="session")
async def fuzz_database_url(server_url: str, template_database: str) -> AsyncIterator[str]:
    """A database of its own for the fuzz session: everything the fuzzer creates accumulates there."""
    name = f"techmarket_fuzz_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_libpq_dsn(server_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}" STRATEGY FILE_COPY')
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def fuzz_settings(fuzz_database_url: str) -> Settings:
    # Requests arrive one at a time; a small pool keeps few connections open for the rest of the test session.
    return Settings(
        environment="test",
        database_url=fuzz_database_url,
        database_pool_size=3,
        database_max_overflow=2,
        run_worker_in_process=False,
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
async def fuzz_credentials(fuzz_settings: Settings) -> Credentials:
    """The cast of ``tests.support.Actors`` plus an expert and a registrar, each logged in with its password."""
    application = create_app(fuzz_settings)
    async with LifespanManager(application):
        transport = httpx.ASGITransport(app=application, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            actors = await Actors.create(application, http)
            await actors.add_organisation("institute", OrganisationKind.research_institute, {"expert": [Role.expert]})
            await actors.add_organisation("registry", OrganisationKind.government, {"registrar": [Role.registrar]})
            tokens = {}
            for role in ROLES[1:]:
                login = {"username": actors[role].email, "password": PASSWORD}
                response = await http.post("/v1/auth/token", data=login)
                assert response.status_code == 200, response.text
                tokens[role] = response.json()["access_token"]
    return Credentials(tokens)


@pytest.fixture(scope="session")
def fuzz_app(fuzz_settings: Settings) -> Iterator[FastAPI]:
    """An instance of the app started on Schemathesis' event loop, serving the fuzzed document."""
    application = create_app(fuzz_settings)
    served = schemathesis.openapi.from_asgi("/openapi.json", application)
    assert served.raw_schema == DOCUMENT, "the fuzzed document must be the one the app serves"
    try:
        yield application
    finally:
        shutdown_lifespans()
