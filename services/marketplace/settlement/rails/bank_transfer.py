"""Bank transfer (对公转账): money moves between bank accounts outside the platform; people record it.

An incoming transfer is recorded by the payer with its bank reference and confirmed by platform finance or by
a statement line with the same reference and amount (``statements.py``). Refunds and payouts are transfers
finance made from the platform account, recorded with their bank reference, so they succeed when recorded.
"""

from __future__ import annotations

from services.marketplace.kit.errors import ValidationProblem
from services.marketplace.models import Payment, Payout, Refund
from services.marketplace.models.settlement import Rail, RefundStatus
from services.marketplace.settlement.rails import PaymentStart, PayoutOutcome, RefundOutcome


class BankTransferRail:
    rail = Rail.bank_transfer

    async def start_payment(self, payment: Payment) -> PaymentStart:
        if not payment.bank_reference:
            raise ValidationProblem.for_field(["body", "bank_reference"], "对公转账须填写银行流水号")
        return PaymentStart(external_id=payment.bank_reference)

    async def refund(self, payment: Payment, refund: Refund) -> RefundOutcome:
        if not refund.bank_reference:
            raise ValidationProblem.for_field(["body", "bank_reference"], "对公转账退款须填写退款的银行流水号")
        return RefundOutcome(RefundStatus.succeeded, refund.bank_reference)

    async def payout(self, payout: Payout) -> PayoutOutcome:
        if not payout.bank_reference:
            raise ValidationProblem.for_field(["body", "bank_reference"], "对公转账出款须填写银行流水号")
        return PayoutOutcome(payout.bank_reference)
