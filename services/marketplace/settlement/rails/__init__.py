"""Two payment rails behind one interface: bank transfer (对公转账) and Stripe.

A rail moves money outside the platform; the ledger records what it moved. ``start_payment`` opens an
incoming payment (Stripe: a PaymentIntent; bank: nothing to open, the payer already transferred), ``refund``
returns money to the payer, ``payout`` sends money to an organisation (Stripe: a Connect transfer to its
connected account; bank: a transfer finance made, recorded by its reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.marketplace.kit.errors import Conflict
from services.marketplace.models import Payment, Payout, Refund
from services.marketplace.models.settlement import Rail, RefundStatus
from services.marketplace.settings import Settings


class RailUnavailable(Conflict):
    slug = "payment-rail-unavailable"
    title = "支付通道不可用"


class RailRefused(Conflict):
    slug = "payment-rail-refused"
    title = "支付通道拒绝了请求"


@dataclass(frozen=True)
class PaymentStart:
    client_secret: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class RefundOutcome:
    status: RefundStatus
    external_id: str | None = None


@dataclass(frozen=True)
class PayoutOutcome:
    external_id: str | None = None


class PaymentRail(Protocol):
    rail: Rail

    async def start_payment(self, payment: Payment) -> PaymentStart: ...

    async def refund(self, payment: Payment, refund: Refund) -> RefundOutcome: ...

    async def payout(self, payout: Payout) -> PayoutOutcome: ...


def rail_for(settings: Settings, rail: Rail) -> PaymentRail:
    from services.marketplace.settlement.rails.bank_transfer import BankTransferRail
    from services.marketplace.settlement.rails.stripe import StripeRail

    if rail is Rail.bank_transfer:
        return BankTransferRail()
    return StripeRail.from_settings(settings)
