"""Settlement fixtures: money helpers over HTTP, contracts with a payment schedule, localstripe and stripe-mock.

localstripe (a stateful fake Stripe from PyPI) is started once per session on a free loopback port; the tests
drive the real ``stripe`` SDK against it. stripe-mock (Stripe's own mock, a Go binary) answers the calls
localstripe does not implement (Connect transfers); its tests skip with the reason when it is not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.marketplace.models.identity import OrganisationKind, Role
from tests.marketplace.contracts.conftest import Deals
from tests.support import Actors

HERE = Path(__file__).resolve().parent
STRIPE_API_KEY = "sk_test_techmarket"
STRIPE_WEBHOOK_SECRET = "whsec_techmarket_test_secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_answers(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer at {url}")


@contextlib.contextmanager
def _running(command: list[str], url: str, what: str) -> Iterator[str]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        _wait_until_answers(url, process, what)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """localstripe on 127.0.0.1 (its own CLI binds every interface, so a tiny launcher binds loopback only)."""
    port = free_port()
    command = [sys.executable, str(HERE / "localstripe_server.py"), "--port", str(port)]
    with _running(command, f"http://127.0.0.1:{port}/v1/balance", "localstripe") as url:
        yield url.removesuffix("/v1/balance")


def stripe_mock_binary() -> str | None:
    found = shutil.which("stripe-mock")
    if found:
        return found
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    candidate = Path(gopath) / "bin" / "stripe-mock"
    return str(candidate) if candidate.exists() else None


@pytest.fixture(scope="session")
def stripe_mock() -> Iterator[str]:
    binary = stripe_mock_binary()
    if binary is None:
        pytest.skip(
            "stripe-mock is not installed (go install github.com/stripe/stripe-mock@latest); "
            "Connect transfers are not implemented by localstripe"
        )
    # Both listeners on loopback: without -https-addr it would also listen on every interface at port 12112.
    port, https_port = free_port(), free_port()
    command = [binary, "-http-addr", f"127.0.0.1:{port}", "-https-addr", f"127.0.0.1:{https_port}"]
    with _running(command, f"http://127.0.0.1:{port}/v1/balance", "stripe-mock") as url:
        yield url.removesuffix("/v1/balance")


@dataclass
class Money:
    """Drives settlement over HTTP with the standard cast: A (university) sells to B (enterprise)."""

    app: FastAPI
    client: httpx.AsyncClient
    actors: Actors
    deals: Deals

    def headers(self, name: str, key: str | None = None) -> dict[str, str]:
        headers = dict(self.actors[name].headers)
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
        return headers

    async def post(self, path: str, actor: str, body: Any = None, status: int = 200, **kwargs: Any) -> Any:
        response = await self.client.post(f"/v1/settlement{path}", json=body, headers=self.headers(actor), **kwargs)
        assert response.status_code == status, (path, actor, response.text)
        return response.json()

    async def get(self, path: str, actor: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.client.get(f"/v1/settlement{path}", headers=self.actors[actor].headers, **kwargs)
        assert response.status_code == status, (path, actor, response.text)
        return response.json()

    async def record_transfer(self, actor: str, status: int = 201, **body: Any) -> Any:
        body.setdefault("rail", "bank_transfer")
        body.setdefault("bank_reference", f"REF{uuid.uuid4().hex[:16].upper()}")
        return await self.post("/payments", actor, body, status=status)

    async def confirm(self, payment_id: str, status: int = 200) -> Any:
        return await self.post(f"/payments/{payment_id}/confirm", "platform_admin", status=status)

    async def deposit(self, actor: str, amount_fen: int, purpose: str = "escrow_deposit") -> Any:
        payment = await self.record_transfer(actor, purpose=purpose, amount_fen=amount_fen)
        return await self.confirm(payment["id"])

    async def pay_milestone(self, contract_id: str, index: int, amount_fen: int, actor: str = "b_member") -> Any:
        payment = await self.record_transfer(
            actor, purpose="milestone", contract_id=contract_id, milestone_index=index, amount_fen=amount_fen
        )
        return await self.confirm(payment["id"])

    async def accounts(self, actor: str) -> dict[str, dict[str, Any]]:
        return {account["kind"]: account for account in await self.get("/accounts", actor)}

    async def balance(self, actor: str, kind: str) -> int:
        accounts = await self.accounts(actor)
        return int(accounts[kind]["balance_fen"]) if kind in accounts else 0

    async def platform_balance(self, kind: str) -> int:
        accounts = await self.get("/accounts", "platform_admin")
        return sum(int(a["balance_fen"]) for a in accounts if a["kind"] == kind and a["organisation_id"] is None)


@pytest.fixture
async def deals(client: httpx.AsyncClient, actors: Actors) -> Deals:
    await actors.add_organisation("registry", OrganisationKind.government, {"registrar": [Role.registrar]})
    profile = await client.put(
        "/v1/brokers/me",
        json={"certification_number": "JSJJR-2026-0001", "field_codes": ["new_energy"], "region_codes": ["340100"]},
        headers=actors["broker"].headers,
    )
    assert profile.status_code == 200, profile.text
    return Deals(client, actors)


@pytest.fixture
def money(app: FastAPI, client: httpx.AsyncClient, actors: Actors, deals: Deals) -> Money:
    return Money(app, client, actors, deals)
