"""Settlement workflows in one place: the lifecycles, Stripe's limits, and which payment goes on which rail."""

from __future__ import annotations

from services.marketplace.kit.statemachine import StateMachine
from services.marketplace.models.settlement import (
    MilestoneStatus,
    PaymentPurpose,
    PaymentStatus,
    PayoutStatus,
    Rail,
    RedemptionStatus,
    StatementLineStatus,
    VoucherStatus,
)

P = PaymentStatus
PAYMENT_LIFECYCLE = StateMachine(
    "付款",
    {
        (P.pending.value, "succeed"): P.succeeded.value,
        (P.pending.value, "reject"): P.rejected.value,
        (P.pending.value, "cancel"): P.cancelled.value,
        (P.succeeded.value, "refund_part"): P.partially_refunded.value,
        (P.succeeded.value, "refund_all"): P.refunded.value,
        (P.partially_refunded.value, "refund_part"): P.partially_refunded.value,
        (P.partially_refunded.value, "refund_all"): P.refunded.value,
    },
)
# Statuses in which the money arrived and was posted.
CAPTURED_STATUSES = frozenset({P.succeeded.value, P.partially_refunded.value, P.refunded.value})

M = MilestoneStatus
MILESTONE_LIFECYCLE = StateMachine(
    "付款节点",
    {
        (M.open.value, "fund"): M.funded.value,
        (M.funded.value, "refund"): M.open.value,
        (M.funded.value, "release"): M.released.value,
    },
)

PAYOUT_LIFECYCLE = StateMachine(
    "出款",
    {
        (PayoutStatus.pending.value, "pay"): PayoutStatus.paid.value,
        (PayoutStatus.pending.value, "fail"): PayoutStatus.failed.value,
    },
)

VOUCHER_LIFECYCLE = StateMachine(
    "合创券",
    {
        (VoucherStatus.active.value, "redeem"): VoucherStatus.active.value,
        (VoucherStatus.active.value, "expire"): VoucherStatus.expired.value,
    },
)

REDEMPTION_LIFECYCLE = StateMachine(
    "合创券使用",
    {
        (RedemptionStatus.committed.value, "accept"): RedemptionStatus.paid.value,
        (RedemptionStatus.committed.value, "cancel"): RedemptionStatus.cancelled.value,
    },
)

L = StatementLineStatus
STATEMENT_LINE_LIFECYCLE = StateMachine(
    "银行流水",
    {
        (L.unmatched.value, "resolve"): L.resolved.value,
        (L.amount_mismatch.value, "resolve"): L.resolved.value,
        (L.unmatched.value, "dismiss"): L.dismissed.value,
        (L.amount_mismatch.value, "dismiss"): L.dismissed.value,
    },
)

# Stripe's largest single charge is eight digits in the currency's minor unit: ¥999,999.99 for CNY.
STRIPE_MAX_CHARGE_FEN = 99_999_999
# What each rail may carry. Bank transfer (对公转账) carries everything, of any size; Stripe the online payments.
RAIL_PURPOSES: dict[Rail, frozenset[PaymentPurpose]] = {
    Rail.bank_transfer: frozenset(PaymentPurpose),
    Rail.stripe: frozenset({PaymentPurpose.milestone, PaymentPurpose.service_fee, PaymentPurpose.escrow_deposit}),
}
# Contract statuses in which milestone money may move: signed and not ended.
PAYABLE_CONTRACT_STATUSES = frozenset({"signed", "submitted", "registered", "rejected", "performing", "completed"})
# Contract types a voucher buys: technology services and consulting (技术服务、技术咨询).
VOUCHER_CONTRACT_TYPES = frozenset({"service", "consulting"})
