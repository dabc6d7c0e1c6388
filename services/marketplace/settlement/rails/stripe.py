"""Stripe: PaymentIntents for online payments, refunds, and Connect transfers for payouts.

Every call carries a deterministic idempotency key derived from our own row id (``payment-<id>``,
``refund-<id>``, ``payout-<id>``), so a retried request never charges, refunds or pays twice. Webhooks are
verified with the official library (``stripe.Webhook.construct_event``, default tolerance); an empty webhook
secret disables the endpoint.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import stripe

from services.marketplace.kit.errors import Problem, ServiceUnavailable
from services.marketplace.models import Payment, Payout, Refund
from services.marketplace.models.settlement import Rail, RefundStatus
from services.marketplace.settings import Settings
from services.marketplace.settlement.rails import (
    PaymentStart,
    PayoutOutcome,
    RailRefused,
    RailUnavailable,
    RefundOutcome,
)

STRIPE_API_BASE = "https://api.stripe.com"
REQUEST_TIMEOUT_SECONDS = 20.0


class BadSignature(Problem):
    status = 400
    slug = "stripe-signature-invalid"
    title = "Stripe 签名无效"


class WebhookDisabled(Problem):
    status = 404
    slug = "not-found"
    title = "资源不存在"


def stripe_enabled(settings: Settings) -> bool:
    return settings.stripe_api_key is not None and bool(settings.stripe_api_key.get_secret_value())


def verify_webhook(settings: Settings, payload: bytes, signature: str | None) -> dict[str, Any]:
    """The event, if ``signature`` is Stripe's for ``payload`` with our secret (and recent enough)."""
    secret = settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else ""
    if not secret:
        raise WebhookDisabled("未配置 Stripe Webhook 密钥，此端点已停用")
    if not signature:
        raise BadSignature("缺少 Stripe-Signature 请求头")
    try:
        stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature("Stripe-Signature 校验失败") from exc
    except ValueError as exc:
        raise BadSignature("Webhook 内容不是有效的 JSON") from exc
    event: dict[str, Any] = json.loads(payload)
    if not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BadSignature("Webhook 内容不是 Stripe 事件")
    return event


def _refused(exc: stripe.StripeError) -> Problem:
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return ServiceUnavailable("Stripe 暂时无法访问，请稍后重试")
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return RailUnavailable("Stripe 凭据无效，在线支付暂不可用，请使用对公转账")
    return RailRefused(exc.user_message or str(exc), stripe_code=exc.code)


class StripeRail:
    rail = Rail.stripe

    def __init__(self, api_key: str, api_base: str | None) -> None:
        self.api_key = api_key
        self.api_base = api_base

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeRail:
        if not stripe_enabled(settings):
            raise RailUnavailable("在线支付（Stripe）未启用，请使用对公转账")
        assert settings.stripe_api_key is not None
        return cls(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)

    @asynccontextmanager
    async def client(self) -> AsyncIterator[stripe.StripeClient]:
        http_client = stripe.HTTPXClient(timeout=REQUEST_TIMEOUT_SECONDS)
        client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.api_base or STRIPE_API_BASE},
            http_client=http_client,
            max_network_retries=2,
        )
        try:
            yield client
        except stripe.StripeError as exc:
            raise _refused(exc) from exc
        finally:
            await http_client.close_async()  # type: ignore[no-untyped-call]

    async def start_payment(self, payment: Payment) -> PaymentStart:
        async with self.client() as client:
            intent = await client.v1.payment_intents.create_async(
                {
                    "amount": payment.amount_fen,
                    "currency": payment.currency.lower(),
                    "metadata": {"payment_id": str(payment.id), "purpose": payment.purpose},
                },
                {"idempotency_key": f"payment-{payment.id}"},
            )
        return PaymentStart(client_secret=intent.client_secret, external_id=intent.id)

    async def refund(self, payment: Payment, refund: Refund) -> RefundOutcome:
        assert payment.stripe_payment_intent_id is not None
        async with self.client() as client:
            created = await client.v1.refunds.create_async(
                {
                    "payment_intent": payment.stripe_payment_intent_id,
                    "amount": refund.amount_fen,
                    "metadata": {"payment_id": str(payment.id), "refund_id": str(refund.id)},
                },
                {"idempotency_key": f"refund-{refund.id}"},
            )
        return RefundOutcome(refund_status(created.status), created.id)

    async def payout(self, payout: Payout) -> PayoutOutcome:
        assert payout.stripe_account_id is not None
        async with self.client() as client:
            transfer = await client.v1.transfers.create_async(
                {
                    "amount": payout.amount_fen,
                    "currency": payout.currency.lower(),
                    "destination": payout.stripe_account_id,
                    "metadata": {"payout_id": str(payout.id)},
                },
                {"idempotency_key": f"payout-{payout.id}"},
            )
        return PayoutOutcome(transfer.id)


def refund_status(stripe_status: str | None) -> RefundStatus:
    """Stripe's refund statuses on ours: ``succeeded``; ``failed``/``canceled``; anything else is pending."""
    if stripe_status == "succeeded":
        return RefundStatus.succeeded
    if stripe_status in ("failed", "canceled"):
        return RefundStatus.failed
    return RefundStatus.pending
