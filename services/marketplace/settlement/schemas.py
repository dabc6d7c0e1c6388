"""Settlement request and response models. Money is integer fen; input models forbid unknown fields."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

from services.marketplace.kit.validators import MAX_FEN, Title
from services.marketplace.models.settlement import (
    AccountKind,
    MilestoneStatus,
    PaymentPurpose,
    PaymentStatus,
    PayoutSource,
    PayoutStatus,
    Rail,
    RedemptionStatus,
    RefundStatus,
    StatementLineStatus,
)

PositiveFen = Annotated[int, Strict(), Field(gt=0, le=MAX_FEN, description="金额（分，正整数）")]
BankReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, min_length=4, max_length=64, pattern=r"^[A-Za-z0-9_/-]+$"),
    Field(description="银行流水号（字母、数字、-、_、/）"),
]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
StripeAccountId = Annotated[str, StringConstraints(pattern=r"^acct_[A-Za-z0-9]{1,64}$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentCreate(_Input):
    """A payment on one rail. Milestone payments name the contract and the milestone (0-based index)."""

    rail: Rail = Rail.bank_transfer
    purpose: PaymentPurpose
    amount_fen: PositiveFen
    contract_id: uuid.UUID | None = None
    milestone_index: Annotated[int, Strict(), Field(ge=0, le=999)] | None = None
    government_payable_id: uuid.UUID | None = None
    bank_reference: BankReference | None = None
    paid_on: date | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None

    @model_validator(mode="after")
    def _fields_of_purpose_and_rail(self) -> PaymentCreate:
        milestone = self.purpose is PaymentPurpose.milestone
        if milestone != (self.contract_id is not None and self.milestone_index is not None):
            raise ValueError("contract_id 与 milestone_index 仅用于（且必须用于）合同付款节点付款")
        if (self.purpose is PaymentPurpose.government_payable) != (self.government_payable_id is not None):
            raise ValueError("government_payable_id 仅用于（且必须用于）政府应付款项")
        if self.rail is Rail.bank_transfer and self.bank_reference is None:
            raise ValueError("对公转账须填写银行流水号 bank_reference")
        if self.rail is Rail.stripe and (self.bank_reference is not None or self.paid_on is not None):
            raise ValueError("在线支付不填写银行流水号与转账日期")
        return self


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rail: Rail
    purpose: PaymentPurpose
    status: PaymentStatus
    payer_organisation_id: uuid.UUID
    milestone_id: uuid.UUID | None
    government_payable_id: uuid.UUID | None
    amount_fen: int
    refunded_fen: int
    currency: str
    description: str | None
    bank_reference: str | None
    paid_on: date | None
    stripe_payment_intent_id: str | None
    failure_message: str | None
    confirmed_via: str | None
    succeeded_at: datetime | None
    rejection_reason: str | None
    created_at: datetime


class PaymentStarted(PaymentRead):
    client_secret: str | None = Field(default=None, description="Stripe PaymentIntent 的 client_secret（在线支付）")


class PaymentReject(_Input):
    reason: Reason


class RefundCreate(_Input):
    amount_fen: PositiveFen | None = Field(default=None, description="默认退还全部可退金额")
    reason: Reason
    bank_reference: BankReference | None = Field(default=None, description="对公转账退款的银行流水号")


class RefundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payment_id: uuid.UUID
    amount_fen: int
    status: RefundStatus
    reason: str | None
    stripe_refund_id: str | None
    bank_reference: str | None
    created_at: datetime


class MilestoneRead(BaseModel):
    contract_id: uuid.UUID
    milestone_index: int
    title: str
    amount_fen: int
    commission_fen: int
    gross_fen: int
    funded_fen: int
    status: MilestoneStatus
    fee_fen: int | None
    payee_fen: int | None
    released_at: datetime | None


class AccountRead(BaseModel):
    id: uuid.UUID
    kind: AccountKind
    organisation_id: uuid.UUID | None
    currency: str
    balance_fen: int
    held_fen: int
    available_fen: int


class PostingRead(BaseModel):
    id: int
    entry_id: int
    reference: str
    kind: str
    amount_fen: int = Field(description="借方为正、贷方为负（分）")
    created_at: datetime


class StatementImportRead(BaseModel):
    import_id: uuid.UUID
    total_lines: int
    new_lines: int
    matched: int
    unmatched: int
    amount_mismatch: int
    skipped_debits: int


class StatementLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    import_id: uuid.UUID
    line_number: int
    booked_on: date
    bank_reference: str
    amount_fen: int
    counterparty: str | None
    memo: str | None
    status: StatementLineStatus
    payment_id: uuid.UUID | None
    note: str | None
    resolved_at: datetime | None


class StatementLineQuery(_Input):
    status: StatementLineStatus | None = None


class StatementLineResolve(_Input):
    action: Literal["match", "dismiss"]
    payment_id: uuid.UUID | None = None
    note: Reason | None = None

    @model_validator(mode="after")
    def _payment_for_match(self) -> StatementLineResolve:
        if (self.action == "match") != (self.payment_id is not None):
            raise ValueError("match 须指定 payment_id；dismiss 不指定")
        if self.action == "dismiss" and self.note is None:
            raise ValueError("忽略流水须说明原因 note")
        return self


class PayoutCreate(_Input):
    """Pay an organisation what the platform owes it (its payable), or a broker their commissions."""

    rail: Rail = Rail.bank_transfer
    source: PayoutSource = PayoutSource.payable
    organisation_id: uuid.UUID | None = None
    broker_id: uuid.UUID | None = None
    amount_fen: PositiveFen
    stripe_account_id: StripeAccountId | None = None
    bank_reference: BankReference | None = None

    @model_validator(mode="after")
    def _recipient_and_destination(self) -> PayoutCreate:
        if (self.source is PayoutSource.payable) != (self.organisation_id is not None and self.broker_id is None):
            raise ValueError("payable 出款指定 organisation_id；commissions 出款指定 broker_id")
        if self.rail is Rail.stripe and (self.stripe_account_id is None or self.bank_reference is not None):
            raise ValueError("Stripe 出款须指定 stripe_account_id（Connect 账户）")
        if self.rail is Rail.bank_transfer and (self.bank_reference is None or self.stripe_account_id is not None):
            raise ValueError("对公转账出款须填写银行流水号 bank_reference")
        return self


class PayoutRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rail: Rail
    source: PayoutSource
    organisation_id: uuid.UUID
    broker_user_id: uuid.UUID | None
    amount_fen: int
    currency: str
    status: PayoutStatus
    stripe_account_id: str | None
    stripe_transfer_id: str | None
    bank_reference: str | None
    paid_at: datetime | None
    created_at: datetime


class GovernmentPayableRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    government_organisation_id: uuid.UUID
    payee_organisation_id: uuid.UUID
    amount_fen: int
    description: str
    status: str
    paid_at: datetime | None
    created_at: datetime


class VoucherCreate(_Input):
    holder_organisation_id: uuid.UUID
    title: Title
    budget_fen: PositiveFen
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _validity(self) -> VoucherCreate:
        if self.valid_until < self.valid_from:
            raise ValueError("有效期截止日不能早于起始日")
        return self


class VoucherRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    government_organisation_id: uuid.UUID
    holder_organisation_id: uuid.UUID
    title: str
    budget_fen: int
    committed_fen: int
    paid_fen: int
    valid_from: date
    valid_until: date
    status: str
    expired_at: datetime | None
    created_at: datetime


class RedemptionCreate(_Input):
    contract_id: uuid.UUID
    amount_fen: PositiveFen


class RedemptionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    voucher_id: uuid.UUID
    contract_id: uuid.UUID
    provider_organisation_id: uuid.UUID
    amount_fen: int
    status: RedemptionStatus
    accepted_at: datetime | None
    created_at: datetime


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool
