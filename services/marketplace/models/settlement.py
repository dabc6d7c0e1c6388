"""Settlement: the double-entry ledger, payments on two rails, escrowed milestones, payouts, vouchers.

The ledger's guarantees live in the database (migration 0007): every journal entry's postings sum to zero per
currency (a deferred constraint trigger), entries and postings are append-only, a non-negative account's balance
never drops below what is held on it (a CHECK on its balance rows), and a pending entry resolves at most once
(a trigger refuses any change to a resolved one). Amounts are BIGINT fen; a posting is signed, debit positive.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.marketplace.models.base import Base, Timestamps, UUIDPrimaryKey, enum_check


class AccountKind(StrEnum):
    # per organisation
    receivable = "receivable"  # what the organisation owes the platform (asset)
    payable = "payable"  # what the platform owes the organisation, until paid out
    escrow = "escrow"  # money the organisation put in escrow
    # platform (no owner)
    bank_clearing = "bank_clearing"  # the platform's bank account (对公账户)
    stripe_clearing = "stripe_clearing"  # the platform's Stripe balance
    fee_income = "fee_income"  # platform fees earned
    commissions_payable = "commissions_payable"  # broker commissions owed
    # per government organisation
    subsidies_payable = "subsidies_payable"  # subsidies committed to teams (奖补)
    voucher_fund = "voucher_fund"  # the innovation-voucher fund (合创券)


class NormalSide(StrEnum):
    debit = "debit"
    credit = "credit"


PLATFORM_KINDS = frozenset(
    {AccountKind.bank_clearing, AccountKind.stripe_clearing, AccountKind.fee_income, AccountKind.commissions_payable}
)
GOVERNMENT_KINDS = frozenset({AccountKind.subsidies_payable, AccountKind.voucher_fund})
DEBIT_NORMAL_KINDS = frozenset({AccountKind.receivable, AccountKind.bank_clearing, AccountKind.stripe_clearing})
# Accounts whose balance may never go negative (nor below what is held on them).
NON_NEGATIVE_KINDS = frozenset(
    {
        AccountKind.payable,
        AccountKind.escrow,
        AccountKind.commissions_payable,
        AccountKind.subsidies_payable,
        AccountKind.voucher_fund,
    }
)


def _in(column: str, values: frozenset[AccountKind]) -> str:
    return f"{column} IN ({', '.join(sorted(repr(kind.value) for kind in values))})"


class LedgerAccount(UUIDPrimaryKey, Base):
    """One account of the platform's books; platform accounts have no owner, the others an organisation."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(enum_check("kind", AccountKind), name="kind"),
        CheckConstraint(enum_check("normal_side", NormalSide), name="normal_side"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("shards BETWEEN 1 AND 64", name="shards"),
        CheckConstraint(f"(organisation_id IS NULL) = ({_in('kind', PLATFORM_KINDS)})", name="owner"),
        CheckConstraint(f"non_negative = ({_in('kind', NON_NEGATIVE_KINDS)})", name="non_negative"),
        CheckConstraint(f"(normal_side = 'debit') = ({_in('kind', DEBIT_NORMAL_KINDS)})", name="normal_side_of_kind"),
        UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
        Index(
            "uq_ledger_accounts_organisation_kind",
            "organisation_id",
            "kind",
            "currency",
            unique=True,
            postgresql_where=text("organisation_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_accounts_platform_kind",
            "kind",
            "currency",
            unique=True,
            postgresql_where=text("organisation_id IS NULL"),
        ),
    )

    kind: Mapped[str] = mapped_column(String(24))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    currency: Mapped[str] = mapped_column(String(3), server_default="CNY")
    normal_side: Mapped[str] = mapped_column(String(6))
    non_negative: Mapped[bool] = mapped_column(Boolean)
    # Balance rows: hot platform accounts spread their balance over several rows (see ledger.py).
    shards: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LedgerBalance(Base):
    """One balance row of an account, on its normal side; the account's balance is the sum of its rows.

    ``held_fen`` is what pending entries hold on the account: a non-negative account keeps balance ≥ held ≥ 0.
    """

    __tablename__ = "ledger_balances"
    __table_args__ = (
        CheckConstraint("held_fen >= 0", name="held_non_negative"),
        CheckConstraint("non_negative OR held_fen = 0", name="holds_on_non_negative_only"),
        CheckConstraint("NOT non_negative OR balance_fen >= held_fen", name="balance_covers_holds"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    non_negative: Mapped[bool] = mapped_column(Boolean)
    balance_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    held_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class LedgerEntry(Base):
    """A journal entry: two or more postings summing to zero per currency. Append-only."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    # Unique: a business event (a payment's capture, a milestone's release) posts at most once.
    reference: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    memo: Mapped[str | None] = mapped_column(Text)
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class LedgerPosting(Base):
    """One leg of an entry: signed fen, debit positive. Its currency is its account's (composite key)."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_non_zero"),
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
        ),
        Index("ix_ledger_postings_account_id_id", "account_id", "id"),
        Index("ix_ledger_postings_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    account_id: Mapped[uuid.UUID]
    currency: Mapped[str] = mapped_column(String(3))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class PendingStatus(StrEnum):
    pending = "pending"
    posted = "posted"
    voided = "voided"
    expired = "expired"


class LedgerPendingEntry(UUIDPrimaryKey, Base):
    """A reserve: ``amount_fen`` held on ``debit_account_id`` until posted (fully or partly), voided or expired.

    The destination may be left open (a voucher budget) and named when posting. Posting part of it may carry the
    rest into a successor (a challenge's next tranche); the entry itself resolves once, as the database enforces.
    """

    __tablename__ = "ledger_pending_entries"
    __table_args__ = (
        CheckConstraint(enum_check("status", PendingStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("posted_fen BETWEEN 0 AND amount_fen", name="posted_within_amount"),
        CheckConstraint("(status = 'pending') = (resolved_at IS NULL)", name="resolution_time"),
        CheckConstraint("status = 'posted' OR posted_fen = 0", name="posted_only_when_posted"),
        CheckConstraint("(status = 'posted') = (resolution_entry_id IS NOT NULL)", name="posted_entry"),
        CheckConstraint("credit_account_id IS NULL OR credit_account_id <> debit_account_id", name="distinct"),
        Index("ix_ledger_pending_entries_due", "expires_at", postgresql_where=text("status = 'pending'")),
        Index("ix_ledger_pending_entries_debit_account", "debit_account_id", "status"),
    )

    reference: Mapped[str] = mapped_column(String(160), unique=True)
    purpose: Mapped[str] = mapped_column(String(40))
    debit_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    credit_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8), server_default=PendingStatus.pending.value)
    posted_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None]
    resolution_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    predecessor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_pending_entries.id"), unique=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))


# --- payments ---------------------------------------------------------------------------------------


class Rail(StrEnum):
    bank_transfer = "bank_transfer"  # 对公转账
    stripe = "stripe"


class PaymentPurpose(StrEnum):
    milestone = "milestone"  # a contract milestone, into the buyer's escrow
    escrow_deposit = "escrow_deposit"  # funds an organisation's escrow (a challenge reward)
    service_fee = "service_fee"  # a platform service fee
    voucher_fund = "voucher_fund"  # a government funds its innovation-voucher fund
    government_payable = "government_payable"  # a government pays a subsidy tranche it owes


class PaymentStatus(StrEnum):
    pending = "pending"  # recorded by the payer (bank) or awaiting the card (Stripe)
    succeeded = "succeeded"  # the money arrived and is posted
    partially_refunded = "partially_refunded"
    refunded = "refunded"
    rejected = "rejected"  # finance found no such transfer
    cancelled = "cancelled"  # the PaymentIntent was cancelled


class Payment(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "settlement_payments"
    __table_args__ = (
        CheckConstraint(enum_check("rail", Rail), name="rail"),
        CheckConstraint(enum_check("purpose", PaymentPurpose), name="purpose"),
        CheckConstraint(enum_check("status", PaymentStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("refunded_fen BETWEEN 0 AND amount_fen", name="refunded_within_amount"),
        CheckConstraint("refund_posted_fen BETWEEN 0 AND refunded_fen", name="refund_posted_within_refunded"),
        CheckConstraint("reported_refunded_fen BETWEEN 0 AND amount_fen", name="reported_refunded_within_amount"),
        CheckConstraint("rail = 'bank_transfer' OR bank_reference IS NULL", name="bank_reference_rail"),
        CheckConstraint(
            "rail = 'bank_transfer' OR stripe_payment_intent_id IS NOT NULL OR status = 'pending'", name="stripe_intent"
        ),
        CheckConstraint("(purpose = 'milestone') = (milestone_id IS NOT NULL)", name="milestone"),
        CheckConstraint(
            "(purpose = 'government_payable') = (government_payable_id IS NOT NULL)", name="government_payable"
        ),
        CheckConstraint(
            "(status IN ('pending', 'rejected', 'cancelled')) = (capture_entry_id IS NULL)", name="captured"
        ),
        Index(
            "uq_settlement_payments_bank_reference",
            "bank_reference",
            unique=True,
            postgresql_where=text("rail = 'bank_transfer' AND status <> 'rejected'"),
        ),
        Index("ix_settlement_payments_payer_created", "payer_organisation_id", "created_at", "id"),
        Index("ix_settlement_payments_status_created", "status", "created_at", "id"),
        Index("ix_settlement_payments_milestone_id", "milestone_id"),
    )

    rail: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(20), server_default=PaymentStatus.pending.value)
    payer_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    milestone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("settlement_milestones.id"))
    government_payable_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("government_payables.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), server_default="CNY")
    description: Mapped[str | None] = mapped_column(Text)
    # What the rails report back: refunds known to Stripe (the largest reported total) or recorded by finance.
    refunded_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    reported_refunded_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    refund_posted_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    paid_on: Mapped[date | None] = mapped_column(Date)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_message: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    confirmed_via: Mapped[str | None] = mapped_column(String(24))
    succeeded_at: Mapped[datetime | None]
    capture_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class RefundStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class Refund(UUIDPrimaryKey, Base):
    """A refund of a payment: asked for through the API, or learnt from Stripe (a dashboard refund)."""

    __tablename__ = "settlement_refunds"
    __table_args__ = (
        CheckConstraint(enum_check("status", RefundStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_settlement_refunds_payment_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("settlement_payments.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MilestoneStatus(StrEnum):
    open = "open"  # awaiting the buyer's payment
    funded = "funded"  # paid in full, held in the buyer's escrow
    released = "released"  # accepted by the buyer and released to the seller


class SettlementMilestone(UUIDPrimaryKey, Timestamps, Base):
    """A contract milestone's money: the buyer pays ``gross_fen`` into escrow; acceptance releases it.

    ``gross_fen`` is the milestone amount plus the milestone's share of the commission when the buyer pays it.
    """

    __tablename__ = "settlement_milestones"
    __table_args__ = (
        CheckConstraint(enum_check("status", MilestoneStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("commission_fen >= 0", name="commission_non_negative"),
        CheckConstraint("funded_fen BETWEEN 0 AND gross_fen", name="funded_within_gross"),
        CheckConstraint("status = 'open' OR funded_fen = gross_fen", name="funded_in_full"),
        CheckConstraint(
            "(status = 'released') = (release_entry_id IS NOT NULL AND fee_fen IS NOT NULL AND payee_fen IS NOT NULL)",
            name="release_recorded",
        ),
        CheckConstraint("payee_fen IS NULL OR payee_fen + fee_fen + commission_fen = gross_fen", name="split_exact"),
        UniqueConstraint("contract_id", "milestone_index", name="uq_settlement_milestones_contract_index"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    milestone_index: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    payer_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    payee_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    broker_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    commission_fen: Mapped[int] = mapped_column(BigInteger)
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    funded_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(12), server_default=MilestoneStatus.open.value)
    fee_bp: Mapped[int | None] = mapped_column(Integer)
    fee_fen: Mapped[int | None] = mapped_column(BigInteger)
    payee_fen: Mapped[int | None] = mapped_column(BigInteger)
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None]
    release_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))


# --- bank statements --------------------------------------------------------------------------------


class StatementLineStatus(StrEnum):
    matched = "matched"  # reference and amount match a recorded transfer, now confirmed
    unmatched = "unmatched"  # no recorded transfer has this reference
    amount_mismatch = "amount_mismatch"  # a recorded transfer has this reference but another amount
    resolved = "resolved"  # a person matched it to a payment
    dismissed = "dismissed"  # a person decided it is not a platform payment


class BankStatementImport(UUIDPrimaryKey, Base):
    __tablename__ = "bank_statement_imports"

    filename: Mapped[str] = mapped_column(String(255))
    imported_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    imported_at: Mapped[datetime] = mapped_column(server_default=func.now())
    total_lines: Mapped[int] = mapped_column(Integer)
    new_lines: Mapped[int] = mapped_column(Integer)


class BankStatementLine(UUIDPrimaryKey, Base):
    """A credit line of the platform account's statement; re-importing the same line is a no-op."""

    __tablename__ = "bank_statement_lines"
    __table_args__ = (
        CheckConstraint(enum_check("status", StatementLineStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_bank_statement_lines_status_booked", "status", "booked_on", "id"),
        Index("ix_bank_statement_lines_reference", "bank_reference"),
    )

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bank_statement_imports.id"))
    line_number: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    booked_on: Mapped[date] = mapped_column(Date)
    bank_reference: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    counterparty: Mapped[str | None] = mapped_column(String(200))
    memo: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("settlement_payments.id"))
    note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


# --- Stripe inbox -----------------------------------------------------------------------------------


class StripeInboxEvent(Base):
    """A verified Stripe webhook event, once per Stripe event id; the worker processes it."""

    __tablename__ = "stripe_inbox_events"
    __table_args__ = (
        Index("ix_stripe_inbox_events_unprocessed", "received_at", postgresql_where=text("processed_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    livemode: Mapped[bool] = mapped_column(Boolean)
    stripe_created: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)


# --- payouts ----------------------------------------------------------------------------------------


class PayoutSource(StrEnum):
    payable = "payable"  # the organisation's payable account
    commissions = "commissions"  # a broker's share of the platform's commissions payable


class PayoutStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class Payout(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "settlement_payouts"
    __table_args__ = (
        CheckConstraint(enum_check("rail", Rail), name="rail"),
        CheckConstraint(enum_check("source", PayoutSource), name="source"),
        CheckConstraint(enum_check("status", PayoutStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("(source = 'commissions') = (broker_user_id IS NOT NULL)", name="broker"),
        CheckConstraint("rail = 'bank_transfer' OR stripe_account_id IS NOT NULL", name="stripe_destination"),
        CheckConstraint("(status = 'paid') = (paid_at IS NOT NULL)", name="paid_at"),
        CheckConstraint("status = 'pending' OR entry_id IS NOT NULL", name="posted"),
        Index("ix_settlement_payouts_organisation_created", "organisation_id", "created_at", "id"),
    )

    rail: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(12))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    broker_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), server_default="CNY")
    status: Mapped[str] = mapped_column(String(8), server_default=PayoutStatus.pending.value)
    stripe_account_id: Mapped[str | None] = mapped_column(String(255))
    stripe_transfer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None]


# --- government payables and innovation vouchers ---------------------------------------------------------


class GovernmentPayableStatus(StrEnum):
    open = "open"
    paid = "paid"


class GovernmentPayable(UUIDPrimaryKey, Timestamps, Base):
    """A subsidy tranche (奖补) a government owes a team; paid when the government's bank transfer is confirmed."""

    __tablename__ = "government_payables"
    __table_args__ = (
        CheckConstraint(enum_check("status", GovernmentPayableStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("(status = 'paid') = (paid_entry_id IS NOT NULL)", name="paid_entry"),
        Index("ix_government_payables_government_created", "government_organisation_id", "created_at", "id"),
    )

    reference: Mapped[str] = mapped_column(String(160), unique=True)
    government_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    payee_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), server_default=GovernmentPayableStatus.open.value)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"))
    paid_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    paid_at: Mapped[datetime | None]


class VoucherStatus(StrEnum):
    active = "active"
    expired = "expired"


class InnovationVoucher(UUIDPrimaryKey, Timestamps, Base):
    """An innovation voucher (合创券): a budget an official issues to an SME, held on the government's fund.

    ``committed_fen`` is what the SME assigned to service contracts (paid or not); the hold on the fund covers
    the budget not yet paid; at the end date the uncommitted part returns to the fund.
    """

    __tablename__ = "innovation_vouchers"
    __table_args__ = (
        CheckConstraint(enum_check("status", VoucherStatus), name="status"),
        CheckConstraint("budget_fen > 0", name="budget_positive"),
        CheckConstraint("paid_fen BETWEEN 0 AND committed_fen", name="paid_within_committed"),
        CheckConstraint("committed_fen BETWEEN 0 AND budget_fen", name="committed_within_budget"),
        CheckConstraint("valid_until >= valid_from", name="validity"),
        Index("ix_innovation_vouchers_holder_created", "holder_organisation_id", "created_at", "id"),
        Index("ix_innovation_vouchers_government_created", "government_organisation_id", "created_at", "id"),
        Index("ix_innovation_vouchers_due", "valid_until", postgresql_where=text("status = 'active'")),
    )

    government_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    holder_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(200))
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    committed_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    paid_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), server_default=VoucherStatus.active.value)
    hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_pending_entries.id"))
    issued_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    expired_at: Mapped[datetime | None]


class RedemptionStatus(StrEnum):
    committed = "committed"
    paid = "paid"
    cancelled = "cancelled"


class VoucherRedemption(UUIDPrimaryKey, Timestamps, Base):
    """Part of a voucher assigned to a technology-service contract; paid to the provider on acceptance."""

    __tablename__ = "voucher_redemptions"
    __table_args__ = (
        CheckConstraint(enum_check("status", RedemptionStatus), name="status"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("(status = 'paid') = (entry_id IS NOT NULL)", name="paid_entry"),
        Index(
            "uq_voucher_redemptions_open_contract",
            "voucher_id",
            "contract_id",
            unique=True,
            postgresql_where=text("status = 'committed'"),
        ),
        Index("ix_voucher_redemptions_voucher_id", "voucher_id"),
    )

    voucher_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("innovation_vouchers.id"))
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    provider_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), server_default=RedemptionStatus.committed.value)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime | None]
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
