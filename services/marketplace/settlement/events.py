"""Outbox topics and payloads of settlement. Amounts are integer fen; ids are strings."""

from __future__ import annotations

from typing import Any

from services.marketplace.models import (
    GovernmentPayable,
    InnovationVoucher,
    LedgerPendingEntry,
    Payment,
    Payout,
    SettlementMilestone,
    VoucherRedemption,
)

STRIPE_EVENT_RECEIVED = "settlement.stripe_event_received"


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def payment_payload(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": str(payment.id),
        "rail": payment.rail,
        "purpose": payment.purpose,
        "status": payment.status,
        "payer_organisation_id": str(payment.payer_organisation_id),
        "milestone_id": _optional(payment.milestone_id),
        "government_payable_id": _optional(payment.government_payable_id),
        "amount_fen": payment.amount_fen,
        "refunded_fen": payment.refunded_fen,
        "currency": payment.currency,
    }


def milestone_payload(milestone: SettlementMilestone) -> dict[str, Any]:
    return {
        "milestone_id": str(milestone.id),
        "contract_id": str(milestone.contract_id),
        "milestone_index": milestone.milestone_index,
        "status": milestone.status,
        "payer_organisation_id": str(milestone.payer_organisation_id),
        "payee_organisation_id": str(milestone.payee_organisation_id),
        "broker_id": _optional(milestone.broker_user_id),
        "gross_fen": milestone.gross_fen,
        "funded_fen": milestone.funded_fen,
        "commission_fen": milestone.commission_fen,
        "fee_fen": milestone.fee_fen,
        "payee_fen": milestone.payee_fen,
    }


def pending_payload(pending: LedgerPendingEntry) -> dict[str, Any]:
    return {
        "pending_entry_id": str(pending.id),
        "reference": pending.reference,
        "purpose": pending.purpose,
        "status": pending.status,
        "amount_fen": pending.amount_fen,
        "posted_fen": pending.posted_fen,
        "debit_account_id": str(pending.debit_account_id),
        "credit_account_id": _optional(pending.credit_account_id),
        "resolution_entry_id": pending.resolution_entry_id,
        "details": pending.details,
    }


def payout_payload(payout: Payout) -> dict[str, Any]:
    return {
        "payout_id": str(payout.id),
        "rail": payout.rail,
        "source": payout.source,
        "status": payout.status,
        "organisation_id": str(payout.organisation_id),
        "broker_id": _optional(payout.broker_user_id),
        "amount_fen": payout.amount_fen,
    }


def government_payable_payload(payable: GovernmentPayable) -> dict[str, Any]:
    return {
        "government_payable_id": str(payable.id),
        "reference": payable.reference,
        "status": payable.status,
        "government_organisation_id": str(payable.government_organisation_id),
        "payee_organisation_id": str(payable.payee_organisation_id),
        "amount_fen": payable.amount_fen,
    }


def voucher_payload(voucher: InnovationVoucher) -> dict[str, Any]:
    return {
        "voucher_id": str(voucher.id),
        "status": voucher.status,
        "government_organisation_id": str(voucher.government_organisation_id),
        "holder_organisation_id": str(voucher.holder_organisation_id),
        "budget_fen": voucher.budget_fen,
        "committed_fen": voucher.committed_fen,
        "paid_fen": voucher.paid_fen,
        "valid_until": voucher.valid_until.isoformat(),
    }


def redemption_payload(voucher: InnovationVoucher, redemption: VoucherRedemption) -> dict[str, Any]:
    return voucher_payload(voucher) | {
        "redemption_id": str(redemption.id),
        "contract_id": str(redemption.contract_id),
        "provider_organisation_id": str(redemption.provider_organisation_id),
        "amount_fen": redemption.amount_fen,
        "redemption_status": redemption.status,
    }
