"""Stripe events as Stripe signs them (``t=<unix>,v1=<HMAC-SHA256 of "<t>.<payload>">``), for webhook tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from services.marketplace.models import Payment


def signed(event: dict[str, Any], secret: str, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event, separators=(",", ":")).encode()
    stamp = int(time.time()) if timestamp is None else timestamp
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}


def _event(kind: str, data_object: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": data_object},
    }


def intent_succeeded(payment: Payment) -> dict[str, Any]:
    return _event(
        "payment_intent.succeeded",
        {
            "id": payment.stripe_payment_intent_id,
            "object": "payment_intent",
            "amount": payment.amount_fen,
            "amount_received": payment.amount_fen,
            "currency": payment.currency.lower(),
            "status": "succeeded",
            "metadata": {"payment_id": str(payment.id)},
        },
    )


def charge_refunded(payment: Payment, refunds: list[int]) -> dict[str, Any]:
    return _event(
        "charge.refunded",
        {
            "id": f"ch_{str(payment.id)[:8]}",
            "object": "charge",
            "payment_intent": payment.stripe_payment_intent_id,
            "amount": payment.amount_fen,
            "amount_refunded": sum(refunds),
            "refunds": {
                "data": [
                    {
                        "id": f"re_{str(payment.id)[:8]}_{index}",
                        "object": "refund",
                        "amount": amount,
                        "status": "succeeded",
                        "payment_intent": payment.stripe_payment_intent_id,
                    }
                    for index, amount in enumerate(refunds)
                ]
            },
        },
    )
