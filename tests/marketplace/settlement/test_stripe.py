"""Stripe through the real SDK against localstripe, with webhooks delivered to the running app."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import stripe
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func, select

from services.marketplace.models import LedgerEntry, OutboxEvent, Payment, StripeInboxEvent
from services.marketplace.outbox.relay import OutboxRelay
from services.marketplace.settings import Settings
from services.marketplace.settlement.specs import STRIPE_MAX_CHARGE_FEN
from services.marketplace.worker import build_handler_registry
from tests.marketplace.settlement import stripe_support
from tests.marketplace.settlement.conftest import STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET, Money, free_port


@pytest.fixture
def settings(database_url: str, localstripe: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        run_worker_in_process=False,
        log_json=False,
        log_level="WARNING",
        stripe_api_key=SecretStr(STRIPE_API_KEY),
        stripe_webhook_secret=SecretStr(STRIPE_WEBHOOK_SECRET),
        stripe_api_base=localstripe,
    )


@pytest.fixture
async def stripe_client(localstripe: str) -> AsyncIterator[stripe.StripeClient]:
    """The SDK as a payer's browser (Stripe.js) would use it: attach a card and confirm the PaymentIntent."""
    http_client = stripe.HTTPXClient()
    yield stripe.StripeClient(STRIPE_API_KEY, base_addresses={"api": localstripe}, http_client=http_client)
    await http_client.close_async()  # type: ignore[no-untyped-call]


@pytest.fixture
async def served(app: FastAPI, localstripe: str) -> AsyncIterator[str]:
    """The app on a loopback port, registered as localstripe's webhook endpoint."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        registered = await http.post(
            f"{localstripe}/_config/webhooks/techmarket",
            data={"url": f"{url}/v1/settlement/stripe/webhook", "secret": STRIPE_WEBHOOK_SECRET},
        )
        assert registered.status_code == 200, registered.text
    yield url
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def relay(app: FastAPI) -> int:
    relay = OutboxRelay(
        app.state.sessionmaker, build_handler_registry(app.state.search), max_attempts=5, backoff_base_seconds=0.01
    )
    return await relay.relay_batch(limit=1000)


async def wait_for_event(app: FastAPI, event_type: str, intent_id: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        async with app.state.sessionmaker() as session:
            found = await session.scalar(
                select(StripeInboxEvent.id).where(
                    StripeInboxEvent.type == event_type,
                    StripeInboxEvent.payload["data"]["object"]["id"].astext == intent_id,
                )
            )
        if found:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {event_type} webhook for {intent_id}")


async def pay_by_card(client: stripe.StripeClient, intent_id: str) -> None:
    card = await client.v1.payment_methods.create_async(
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    )
    await client.v1.payment_intents.update_async(intent_id, {"payment_method": card.id})
    confirmed = await client.v1.payment_intents.confirm_async(intent_id)
    assert confirmed.status == "succeeded"


async def start_card_payment(money: Money, contract: dict[str, Any], amount: int) -> dict[str, Any]:
    started: dict[str, Any] = await money.post(
        "/payments",
        "b_member",
        {
            "rail": "stripe",
            "purpose": "milestone",
            "contract_id": contract["id"],
            "milestone_index": 0,
            "amount_fen": amount,
        },
        status=201,
    )
    return started


async def test_a_card_payment_is_posted_when_stripes_signed_webhook_reaches_the_app(
    money: Money, app: FastAPI, served: str, stripe_client: stripe.StripeClient
) -> None:
    contract = await money.deals.registered(
        contract_amount_fen=60_000_000,
        non_technical_costs=[],
        milestones=[{"title": "首付", "amount_fen": 50_000_000}, {"title": "尾款", "amount_fen": 10_000_000}],
    )
    started = await start_card_payment(money, contract, 50_000_000)
    assert started["status"] == "pending"
    assert started["client_secret"].startswith(started["stripe_payment_intent_id"])
    intent = await stripe_client.v1.payment_intents.retrieve_async(started["stripe_payment_intent_id"])
    assert (intent.amount, intent.currency, intent.metadata["payment_id"]) == (50_000_000, "cny", started["id"])

    await pay_by_card(stripe_client, intent.id)
    await wait_for_event(app, "payment_intent.succeeded", intent.id)
    assert (await money.get(f"/payments/{started['id']}", "b_admin"))["status"] == "pending"
    await relay(app)
    paid = await money.get(f"/payments/{started['id']}", "b_admin")
    assert (paid["status"], paid["confirmed_via"]) == ("succeeded", "stripe")
    assert await money.balance("b_admin", "escrow") == 50_000_000
    assert await money.platform_balance("stripe_clearing") == 50_000_000

    refund = await money.post(
        f"/payments/{started['id']}/refunds", "platform_admin", {"amount_fen": 10_000_000, "reason": "部分退款"}, 201
    )
    assert refund["status"] == "succeeded"
    assert refund["stripe_refund_id"].startswith("re_")
    refunds = await stripe_client.v1.refunds.list_async({"payment_intent": intent.id})
    assert [(r.id, r.amount) for r in refunds.data] == [(refund["stripe_refund_id"], 10_000_000)]
    refunded = await money.get(f"/payments/{started['id']}", "b_admin")
    assert (refunded["status"], refunded["refunded_fen"]) == ("partially_refunded", 10_000_000)
    assert await money.balance("b_admin", "escrow") == 40_000_000
    await relay(app)  # any late webhook changes nothing
    assert await money.balance("b_admin", "escrow") == 40_000_000


async def test_an_amount_above_stripes_limit_is_sent_to_bank_transfer(money: Money, localstripe: str) -> None:
    contract = await money.deals.registered()
    response = await money.client.post(
        "/v1/settlement/payments",
        json={
            "rail": "stripe",
            "purpose": "milestone",
            "contract_id": contract["id"],
            "milestone_index": 0,
            "amount_fen": STRIPE_MAX_CHARGE_FEN + 1,
        },
        headers=money.headers("b_member"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/amount-above-online-limit")
    assert body["suggested_rail"] == "bank_transfer"
    assert "对公转账" in body["detail"]
    assert body["max_amount_fen"] == STRIPE_MAX_CHARGE_FEN


async def test_the_same_webhook_delivered_five_times_at_once_has_one_effect(
    money: Money, app: FastAPI, client: httpx.AsyncClient
) -> None:
    contract = await money.deals.registered()
    started = await start_card_payment(money, contract, 50_000_000)
    async with app.state.sessionmaker() as session:
        payment = await session.get(Payment, started["id"])
    assert payment is not None
    payload, headers = stripe_support.signed(stripe_support.intent_succeeded(payment), STRIPE_WEBHOOK_SECRET)
    responses = await asyncio.gather(
        *(client.post("/v1/settlement/stripe/webhook", content=payload, headers=headers) for _ in range(5))
    )
    assert [response.status_code for response in responses] == [200] * 5
    assert sorted(response.json()["duplicate"] for response in responses) == [False, True, True, True, True]
    await asyncio.gather(relay(app), relay(app))
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(StripeInboxEvent)) == 1
        received = select(func.count()).where(OutboxEvent.topic == "settlement.stripe_event_received")
        assert await session.scalar(received) == 1
        captures = select(func.count()).where(LedgerEntry.reference == f"payment:{started['id']}:capture")
        assert await session.scalar(captures) == 1
    assert await money.balance("b_admin", "escrow") == 50_000_000


async def test_a_bad_or_stale_signature_is_refused_and_nothing_is_stored(
    money: Money, app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = {"id": "evt_forged", "type": "payment_intent.succeeded", "data": {"object": {}}}
    payload, headers = stripe_support.signed(event, "whsec_someone_else")
    forged = await client.post("/v1/settlement/stripe/webhook", content=payload, headers=headers)
    assert forged.status_code == 400
    assert forged.json()["type"].endswith("/stripe-signature-invalid")
    payload, headers = stripe_support.signed(event, STRIPE_WEBHOOK_SECRET, timestamp=int(time.time()) - 3600)
    assert (await client.post("/v1/settlement/stripe/webhook", content=payload, headers=headers)).status_code == 400
    unsigned = await client.post("/v1/settlement/stripe/webhook", content=payload)
    assert unsigned.status_code == 400
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(StripeInboxEvent)) == 0


async def test_a_refund_before_the_success_ends_in_the_same_state(
    money: Money, app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Two payments receive the same events in opposite orders (and replays); they end identically."""
    await money.deals.registered()
    payments = []
    for _ in range(2):
        started = await money.post(
            "/payments", "b_admin", {"rail": "stripe", "purpose": "escrow_deposit", "amount_fen": 80_000}, status=201
        )
        async with app.state.sessionmaker() as session:
            payment = await session.get(Payment, started["id"])
        assert payment is not None
        payments.append(payment)

    async def deliver(event: dict[str, Any]) -> None:
        payload, headers = stripe_support.signed(event, STRIPE_WEBHOOK_SECRET)
        response = await client.post("/v1/settlement/stripe/webhook", content=payload, headers=headers)
        assert response.status_code == 200
        await relay(app)

    first, second = payments
    success, refund = stripe_support.intent_succeeded(first), stripe_support.charge_refunded(first, [30_000])
    for event in (success, refund, refund, success):
        await deliver(event)
    success, refund = stripe_support.intent_succeeded(second), stripe_support.charge_refunded(second, [30_000])
    for event in (refund, success, refund):
        await deliver(event)

    async with app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Payment.status, Payment.refunded_fen, Payment.refund_posted_fen).where(
                    Payment.id.in_([p.id for p in payments])
                )
            )
        ).all()
        entries = [
            sorted(
                await session.scalars(select(LedgerEntry.kind).where(LedgerEntry.reference.like(f"payment:{p.id}:%")))
            )
            for p in payments
        ]
    assert {tuple(row) for row in rows} == {("partially_refunded", 30_000, 30_000)}
    assert entries[0] == entries[1] == ["payment_escrow_deposit", "payment_refund"]
    assert await money.balance("b_admin", "escrow") == 2 * (80_000 - 30_000)


async def test_without_stripe_configured_online_payments_and_webhooks_are_off(
    money: Money, app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings = app.state.settings.model_copy(
        update={"stripe_api_key": None, "stripe_webhook_secret": SecretStr("")}
    )
    response = await client.post(
        "/v1/settlement/payments",
        json={"rail": "stripe", "purpose": "service_fee", "amount_fen": 100},
        headers=money.headers("b_admin"),
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/payment-rail-unavailable")
    payload, headers = stripe_support.signed({"id": "evt_1", "type": "x", "data": {}}, "")
    assert (await client.post("/v1/settlement/stripe/webhook", content=payload, headers=headers)).status_code == 404
