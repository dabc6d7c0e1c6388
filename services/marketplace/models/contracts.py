"""Technology contracts (技术合同), their signatures and registered amendments, brokers and deal rooms.

Money columns are BIGINT fen. Cost lines, milestones and attachments are JSONB lists that belong to one
contract version; ``fen_total(jsonb)`` (an immutable SQL function created by migration 0005) lets CHECK
constraints hold the amount rules in the database too.
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
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.marketplace.models.base import Base, Timestamps, UUIDPrimaryKey, enum_check
from services.marketplace.models.listings import TransferMode


class ContractType(StrEnum):
    development = "development"  # 技术开发
    transfer = "transfer"  # 技术转让
    license = "license"  # 技术许可
    consulting = "consulting"  # 技术咨询
    service = "service"  # 技术服务


class ContractSubtype(StrEnum):
    commissioned = "commissioned"  # 委托开发
    cooperative = "cooperative"  # 合作开发
    patent_right = "patent_right"  # 专利权转让
    patent_application_right = "patent_application_right"  # 专利申请权转让
    technical_secret = "technical_secret"  # noqa: S105 - 技术秘密转让
    other_ip = "other_ip"  # 其他知识产权转让（软件著作权、集成电路布图设计、植物新品种）
    patent_license = "patent_license"  # 专利实施许可
    technical_secret_license = "technical_secret_license"  # noqa: S105 - 技术秘密使用许可
    other_ip_license = "other_ip_license"  # 其他知识产权许可
    general = "general"  # 技术服务
    training = "training"  # 技术培训
    brokerage = "brokerage"  # 技术中介


# The sub-types each contract type allows; a type with none (consulting) has no sub-type.
SUBTYPES: dict[ContractType, tuple[ContractSubtype, ...]] = {
    ContractType.development: (ContractSubtype.commissioned, ContractSubtype.cooperative),
    ContractType.transfer: (
        ContractSubtype.patent_right,
        ContractSubtype.patent_application_right,
        ContractSubtype.technical_secret,
        ContractSubtype.other_ip,
    ),
    ContractType.license: (
        ContractSubtype.patent_license,
        ContractSubtype.technical_secret_license,
        ContractSubtype.other_ip_license,
    ),
    ContractType.consulting: (),
    ContractType.service: (ContractSubtype.general, ContractSubtype.training, ContractSubtype.brokerage),
}


class ContractStatus(StrEnum):
    draft = "draft"
    awaiting_signatures = "awaiting_signatures"
    signed = "signed"
    submitted = "submitted"
    registered = "registered"
    rejected = "rejected"
    performing = "performing"
    completed = "completed"
    terminated = "terminated"
    cancelled = "cancelled"


class LegalNature(StrEnum):
    """A party's legal-nature kind as the registration form asks it."""

    enterprise = "enterprise"
    university = "university"
    research_institute = "research_institute"
    government = "government"
    other = "other"


class Side(StrEnum):
    seller = "seller"  # 让与方 / 受托方 / 许可方
    buyer = "buyer"  # 受让方 / 委托方 / 被许可方


class CostKind(StrEnum):
    """Non-technical cost lines, deducted from the contract amount to give the technology amount."""

    equipment = "equipment"  # 设备、仪器
    materials = "materials"  # 原材料、零部件
    other = "other"  # 其他非技术性费用


class CommissionMode(StrEnum):
    rate = "rate"
    fixed = "fixed"


class RejectionReason(StrEnum):
    unclear_parties = "unclear_parties"  # 当事人不明确
    unclear_subject = "unclear_subject"  # 标的不明确
    unclear_price = "unclear_price"  # 价款、报酬不明确
    missing_documents = "missing_documents"  # 缺少必要材料
    not_a_technology_contract = "not_a_technology_contract"  # 不属于技术合同
    other = "other"


class AmendmentKind(StrEnum):
    amount_change = "amount_change"
    termination = "termination"


class AmendmentStatus(StrEnum):
    proposed = "proposed"  # waiting for the other party's confirmation
    submitted = "submitted"  # both parties agreed; waiting for the registrar
    registered = "registered"
    rejected = "rejected"
    withdrawn = "withdrawn"


class DealRoomStatus(StrEnum):
    open = "open"
    closed = "closed"


class OfferStatus(StrEnum):
    open = "open"
    countered = "countered"
    superseded = "superseded"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"


def _subtype_check() -> str:
    pairs = []
    for contract_type, subtypes in SUBTYPES.items():
        if subtypes:
            allowed = ", ".join(f"'{subtype.value}'" for subtype in subtypes)
            pairs.append(f"(contract_type = '{contract_type.value}' AND contract_subtype IN ({allowed}))")
        else:
            pairs.append(f"(contract_type = '{contract_type.value}' AND contract_subtype IS NULL)")
    return "contract_subtype IS NULL OR " + " OR ".join(pairs)


def _party_checks(side: str) -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(enum_check(f"{side}_legal_nature", LegalNature), name=f"{side}_legal_nature"),
        CheckConstraint(f"({side}_region_code IS NULL) <> ({side}_country_code IS NULL)", name=f"{side}_location"),
        CheckConstraint(f"{side}_region_code ~ '^[0-9]{{6}}$'", name=f"{side}_region_code"),
        CheckConstraint(f"{side}_country_code ~ '^[A-Z]{{2}}$'", name=f"{side}_country_code"),
    )


# Statuses after the parties signed: the schedule is complete from there on.
_SIGNED_STATUSES = ", ".join(
    f"'{status.value}'"
    for status in ContractStatus
    if status not in (ContractStatus.draft, ContractStatus.awaiting_signatures, ContractStatus.cancelled)
)


class Contract(UUIDPrimaryKey, Timestamps, Base):
    """The contract record as a registrar reads it; ``version`` grows with every edit, signatures name one."""

    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(enum_check("status", ContractStatus), name="status"),
        CheckConstraint(enum_check("contract_type", ContractType), name="contract_type"),
        CheckConstraint(_subtype_check(), name="contract_subtype"),
        *_party_checks("seller"),
        *_party_checks("buyer"),
        CheckConstraint(
            "seller_organisation_id IS NOT NULL OR buyer_organisation_id IS NOT NULL", name="platform_party"
        ),
        CheckConstraint("seller_organisation_id <> buyer_organisation_id", name="distinct_parties"),
        CheckConstraint("contract_amount_fen > 0", name="contract_amount_positive"),
        CheckConstraint("non_technical_amount_fen = fen_total(non_technical_costs)", name="non_technical_total"),
        CheckConstraint(
            "technology_amount_fen = contract_amount_fen - non_technical_amount_fen", name="technology_amount"
        ),
        CheckConstraint("technology_amount_fen >= 0", name="technology_amount_non_negative"),
        CheckConstraint(
            "jsonb_array_length(milestones) = 0 OR fen_total(milestones) = contract_amount_fen",
            name="milestones_sum",
        ),
        CheckConstraint(
            f"status NOT IN ({_SIGNED_STATUSES}) OR jsonb_array_length(milestones) > 0", name="milestones_when_signed"
        ),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from", name="validity"),
        CheckConstraint(
            "commission_mode IS NULL OR " + enum_check("commission_mode", CommissionMode), name="commission_mode"
        ),
        CheckConstraint("commission_payer IS NULL OR " + enum_check("commission_payer", Side), name="commission_payer"),
        CheckConstraint("broker_user_id IS NOT NULL OR commission_mode IS NULL", name="commission_needs_broker"),
        CheckConstraint(
            "commission_mode IS NULL AND commission_fen IS NULL AND commission_rate_bp IS NULL "
            "AND commission_payer IS NULL "
            "OR commission_mode = 'rate' AND commission_rate_bp BETWEEN 1 AND 10000 AND commission_fen IS NOT NULL "
            "AND commission_payer IS NOT NULL "
            "OR commission_mode = 'fixed' AND commission_rate_bp IS NULL AND commission_fen IS NOT NULL "
            "AND commission_payer IS NOT NULL",
            name="commission_terms",
        ),
        CheckConstraint(
            "commission_fen IS NULL OR commission_fen BETWEEN 0 AND contract_amount_fen", name="commission"
        ),
        CheckConstraint("registration_number ~ '^[0-9]{16}$'", name="registration_number"),
        CheckConstraint(
            "(registration_number IS NULL) = (registered_at IS NULL) "
            "AND (registered_at IS NULL) = (registered_on IS NULL) "
            "AND (registered_at IS NULL) = (registered_contract_amount_fen IS NULL) "
            "AND (registered_at IS NULL) = (registered_technology_amount_fen IS NULL)",
            name="registration_complete",
        ),
        CheckConstraint("local_conversion OR NOT local_conversion_academic", name="local_conversion_academic"),
        Index("ix_contracts_seller_created", "seller_organisation_id", "created_at", "id"),
        Index("ix_contracts_buyer_created", "buyer_organisation_id", "created_at", "id"),
        Index("ix_contracts_broker_created", "broker_user_id", "created_at", "id"),
        Index("ix_contracts_status_created", "status", "created_at", "id"),
        Index("ix_contracts_registered_at", "registered_at", postgresql_where=text("registered_at IS NOT NULL")),
    )

    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(24), server_default=ContractStatus.draft.value)
    title: Mapped[str] = mapped_column(String(200))
    contract_type: Mapped[str] = mapped_column(String(16))
    contract_subtype: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[str | None] = mapped_column(Text)

    seller_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_uscc: Mapped[str | None] = mapped_column(String(18))
    seller_region_code: Mapped[str | None] = mapped_column(String(6))
    seller_country_code: Mapped[str | None] = mapped_column(String(2))
    seller_legal_nature: Mapped[str] = mapped_column(String(24))
    buyer_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_uscc: Mapped[str | None] = mapped_column(String(18))
    buyer_region_code: Mapped[str | None] = mapped_column(String(6))
    buyer_country_code: Mapped[str | None] = mapped_column(String(2))
    buyer_legal_nature: Mapped[str] = mapped_column(String(24))

    contract_amount_fen: Mapped[int] = mapped_column(BigInteger)
    non_technical_costs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    non_technical_amount_fen: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    technology_amount_fen: Mapped[int] = mapped_column(BigInteger)
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)

    achievement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("achievements.id"), index=True)
    demand_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("demands.id"), index=True)
    field_code: Mapped[str | None] = mapped_column(String(40))
    industry_code: Mapped[str | None] = mapped_column(String(40))
    local_conversion: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    local_conversion_academic: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    broker_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    commission_mode: Mapped[str | None] = mapped_column(String(8))
    commission_rate_bp: Mapped[int | None] = mapped_column(Integer)
    commission_fen: Mapped[int | None] = mapped_column(BigInteger)
    commission_payer: Mapped[str | None] = mapped_column(String(8))

    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    signed_on: Mapped[date | None] = mapped_column(Date)
    submitted_at: Mapped[datetime | None]
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    registration_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    registered_at: Mapped[datetime | None]
    registered_on: Mapped[date | None] = mapped_column(Date)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    registered_contract_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    registered_technology_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    rejected_at: Mapped[datetime | None]
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rejection_reasons: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'::varchar[]"))
    rejection_comment: Mapped[str | None] = mapped_column(Text)
    performance_started_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class ContractSignature(UUIDPrimaryKey, Base):
    """One party's signature of one version; an edit makes a new version, so older signatures stop counting.

    A platform party signs itself (``offline`` false, ``user_id`` its org_admin). An outside party signs on
    paper: the counterparty's org_admin records it (``offline`` true, ``user_id`` the recorder).
    """

    __tablename__ = "contract_signatures"
    __table_args__ = (
        CheckConstraint(enum_check("side", Side), name="side"),
        UniqueConstraint("contract_id", "side", "version", name="uq_contract_signatures_side_version"),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    side: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    offline: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    note: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ContractAmendment(UUIDPrimaryKey, Timestamps, Base):
    """A change of a registered contract; it counts from its own registration date, never rewriting the past."""

    __tablename__ = "contract_amendments"
    __table_args__ = (
        CheckConstraint(enum_check("kind", AmendmentKind), name="kind"),
        CheckConstraint(enum_check("status", AmendmentStatus), name="status"),
        CheckConstraint(enum_check("proposed_by_side", Side), name="proposed_by_side"),
        CheckConstraint("contract_amount_fen_after > 0", name="contract_amount_positive"),
        CheckConstraint(
            "technology_amount_fen_after BETWEEN 0 AND contract_amount_fen_after", name="technology_amount"
        ),
        CheckConstraint(
            "contract_amount_delta_fen = contract_amount_fen_after - contract_amount_fen_before", name="contract_delta"
        ),
        CheckConstraint(
            "technology_amount_delta_fen = technology_amount_fen_after - technology_amount_fen_before",
            name="technology_delta",
        ),
        CheckConstraint("fen_total(milestones) = contract_amount_fen_after", name="milestones_sum"),
        CheckConstraint(
            "kind <> 'termination' OR (contract_amount_delta_fen <= 0 AND technology_amount_delta_fen <= 0)",
            name="termination_reduces",
        ),
        CheckConstraint(
            "(status = 'registered') = (registered_at IS NOT NULL) "
            "AND (registered_at IS NULL) = (registered_on IS NULL)",
            name="registration_complete",
        ),
        UniqueConstraint("contract_id", "sequence", name="uq_contract_amendments_contract_id_sequence"),
        Index(
            "uq_contract_amendments_open",
            "contract_id",
            unique=True,
            postgresql_where=text("status IN ('proposed', 'submitted')"),
        ),
        Index(
            "ix_contract_amendments_registered_at", "registered_at", postgresql_where=text("registered_at IS NOT NULL")
        ),
    )

    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    contract_amount_fen_before: Mapped[int] = mapped_column(BigInteger)
    technology_amount_fen_before: Mapped[int] = mapped_column(BigInteger)
    contract_amount_fen_after: Mapped[int] = mapped_column(BigInteger)
    technology_amount_fen_after: Mapped[int] = mapped_column(BigInteger)
    contract_amount_delta_fen: Mapped[int] = mapped_column(BigInteger)
    technology_amount_delta_fen: Mapped[int] = mapped_column(BigInteger)
    non_technical_costs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    proposed_by_side: Mapped[str] = mapped_column(String(8))
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    counterparty_signed_offline: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    registered_on: Mapped[date | None] = mapped_column(Date)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None]
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rejection_comment: Mapped[str | None] = mapped_column(Text)


class RegistrationCounter(Base):
    """The last serial issued per registry and Shanghai year; its row lock makes numbering race-free and gapless."""

    __tablename__ = "contract_registration_counters"
    __table_args__ = (
        CheckConstraint("registry_prefix ~ '^[0-9]{4}$'", name="registry_prefix"),
        CheckConstraint("year BETWEEN 2000 AND 9999", name="year"),
        CheckConstraint("last_serial BETWEEN 1 AND 99999999", name="last_serial"),
    )

    registry_prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer)


class BrokerProfile(Timestamps, Base):
    """A technology broker's (技术经纪人) certification and expertise; public together with their record."""

    __tablename__ = "broker_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    certification_number: Mapped[str] = mapped_column(String(64), unique=True)
    field_codes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'::varchar[]"))
    region_codes: Mapped[list[str]] = mapped_column(ARRAY(String(6)), server_default=text("'{}'::varchar[]"))
    bio: Mapped[str | None] = mapped_column(Text)


class DealRoom(UUIDPrimaryKey, Timestamps, Base):
    """A negotiation between a seller and a buyer organisation, with the brokers they invited."""

    __tablename__ = "deal_rooms"
    __table_args__ = (
        CheckConstraint(enum_check("status", DealRoomStatus), name="status"),
        CheckConstraint("seller_organisation_id <> buyer_organisation_id", name="distinct_parties"),
        Index("ix_deal_rooms_seller_created", "seller_organisation_id", "created_at", "id"),
        Index("ix_deal_rooms_buyer_created", "buyer_organisation_id", "created_at", "id"),
    )

    title: Mapped[str] = mapped_column(String(200))
    seller_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    buyer_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    achievement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("achievements.id"))
    demand_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("demands.id"))
    status: Mapped[str] = mapped_column(String(8), server_default=DealRoomStatus.open.value)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"))
    closed_at: Mapped[datetime | None]


class DealRoomBroker(Base):
    __tablename__ = "deal_room_brokers"

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deal_rooms.id"), primary_key=True)
    broker_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DealRoomMessage(UUIDPrimaryKey, Base):
    __tablename__ = "deal_room_messages"
    __table_args__ = (Index("ix_deal_room_messages_room_created", "room_id", "created_at", "id"),)

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deal_rooms.id"))
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    author_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # clock_timestamp(), not now(): several messages of one transaction keep their order.
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class DealRoomOffer(UUIDPrimaryKey, Base):
    """A structured offer; a counter-offer answers the other side's open offer, so one offer is open at a time."""

    __tablename__ = "deal_room_offers"
    __table_args__ = (
        CheckConstraint(enum_check("side", Side), name="side"),
        CheckConstraint(enum_check("status", OfferStatus), name="status"),
        CheckConstraint(enum_check("transfer_mode", TransferMode), name="transfer_mode"),
        CheckConstraint("price_fen > 0", name="price_positive"),
        Index("ix_deal_room_offers_room_created", "room_id", "created_at", "id"),
        Index("uq_deal_room_offers_open", "room_id", unique=True, postgresql_where=text("status = 'open'")),
    )

    room_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deal_rooms.id"))
    side: Mapped[str] = mapped_column(String(8))
    made_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    counter_to_offer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deal_room_offers.id"))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    transfer_mode: Mapped[str] = mapped_column(String(20))
    terms: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), server_default=OfferStatus.open.value)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
