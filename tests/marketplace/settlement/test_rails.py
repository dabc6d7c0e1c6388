"""Every Stripe call carries an idempotency key derived from our own row, so a retry never repeats money."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.marketplace.models import Payment, Payout, Refund
from services.marketplace.settlement.rails.stripe import StripeRail
from tests.marketplace.settlement.conftest import STRIPE_API_KEY, free_port

OBJECTS = {
    "/v1/payment_intents": {"id": "pi_recorded", "object": "payment_intent", "client_secret": "pi_recorded_secret_x"},
    "/v1/refunds": {"id": "re_recorded", "object": "refund", "status": "succeeded", "amount": 10},
    "/v1/transfers": {"id": "tr_recorded", "object": "transfer", "amount": 10},
}


@pytest.fixture
async def recording_stripe() -> AsyncIterator[tuple[str, list[tuple[str, str | None]]]]:
    """A stand-in for Stripe's API that records the path and Idempotency-Key of each call."""
    calls: list[tuple[str, str | None]] = []

    async def endpoint(request: Request) -> JSONResponse:
        calls.append((request.url.path, request.headers.get("idempotency-key")))
        return JSONResponse(OBJECTS[request.url.path])

    app = Starlette(routes=[Route(path, endpoint, methods=["POST"]) for path in OBJECTS])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}", calls
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_stripe_calls_carry_keys_derived_from_our_rows(
    recording_stripe: tuple[str, list[tuple[str, str | None]]],
) -> None:
    base, calls = recording_stripe
    rail = StripeRail(STRIPE_API_KEY, base)
    payment = Payment(id=uuid.uuid4(), amount_fen=10, currency="CNY", purpose="service_fee")
    payment.stripe_payment_intent_id = "pi_recorded"
    refund = Refund(id=uuid.uuid4(), amount_fen=10)
    payout = Payout(id=uuid.uuid4(), amount_fen=10, currency="CNY", stripe_account_id="acct_1")
    for _ in range(2):  # a retried request sends the same key
        started = await rail.start_payment(payment)
        await rail.refund(payment, refund)
        await rail.payout(payout)
    assert started.client_secret == "pi_recorded_secret_x"
    expected = [
        ("/v1/payment_intents", f"payment-{payment.id}"),
        ("/v1/refunds", f"refund-{refund.id}"),
        ("/v1/transfers", f"payout-{payout.id}"),
    ]
    assert calls == expected * 2
