"""Achievements (科技成果) and demands (技术需求), their contacts, revisions, contact requests and imports."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.marketplace.models.base import Base, Timestamps, UUIDPrimaryKey, enum_check


class ListingKind(StrEnum):
    achievement = "achievement"
    demand = "demand"


class ListingStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    published = "published"
    withdrawn = "withdrawn"
    expired = "expired"
    transacted = "transacted"


class TransferMode(StrEnum):
    """转让 / 许可 / 作价投资 / 合作开发 / 技术服务 / 技术咨询 (also the demands' cooperation modes)."""

    transfer = "transfer"
    license = "license"
    equity = "equity"
    co_development = "co_development"
    service = "service"
    consulting = "consulting"


class PriceMode(StrEnum):
    fixed = "fixed"
    negotiable = "negotiable"
    auction = "auction"


class IpType(StrEnum):
    invention_patent = "invention_patent"
    utility_model = "utility_model"
    design = "design"
    software_copyright = "software_copyright"
    ic_layout = "ic_layout"
    plant_variety = "plant_variety"
    technical_secret = "technical_secret"  # noqa: S105 - 技术秘密, an IP type


class IpStatus(StrEnum):
    pending = "pending"
    granted = "granted"
    lapsed = "lapsed"


class Confidentiality(StrEnum):
    public = "public"
    members = "members"
    brokers = "brokers"


class RevisionStatus(StrEnum):
    submitted = "submitted"
    returned = "returned"
    approved = "approved"


class ContactRequestStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"


class ImportJobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


def _array_check(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} <@ ARRAY[{values}]::varchar[]"


class ListingLifecycle(UUIDPrimaryKey, Timestamps):
    """Columns every listing kind shares: owner, lifecycle, review and verification."""

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), server_default=ListingStatus.draft.value)
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    title: Mapped[str] = mapped_column(String(200))
    field_code: Mapped[str] = mapped_column(String(40))
    industry_code: Mapped[str | None] = mapped_column(String(40))
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default=text("'{}'::varchar[]"))
    region_code: Mapped[str] = mapped_column(String(6))
    review_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    last_verified_at: Mapped[datetime | None]
    reverification_reminded_at: Mapped[datetime | None]
    transacted_contract_id: Mapped[uuid.UUID | None]


class Achievement(ListingLifecycle, Base):
    __tablename__ = "achievements"
    __table_args__ = (
        CheckConstraint(enum_check("status", ListingStatus), name="status"),
        CheckConstraint(enum_check("price_mode", PriceMode), name="price_mode"),
        CheckConstraint("trl BETWEEN 1 AND 9", name="trl"),
        CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price_non_negative"),
        CheckConstraint("(price_mode = 'negotiable') = (price_fen IS NULL)", name="price_matches_mode"),
        CheckConstraint("cardinality(transfer_modes) > 0", name="has_transfer_mode"),
        CheckConstraint(_array_check("transfer_modes", TransferMode), name="transfer_modes"),
        Index("ix_achievements_public", "status", "published_at", "id"),
        Index("ix_achievements_org_created", "organisation_id", "created_at", "id"),
        Index("ix_achievements_transfer_modes", "transfer_modes", postgresql_using="gin"),
    )

    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    trl: Mapped[int] = mapped_column(Integer)
    ip_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    transfer_modes: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    price_mode: Mapped[str] = mapped_column(String(16))
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    team: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    valid_until: Mapped[datetime]


class Demand(ListingLifecycle, Base):
    __tablename__ = "demands"
    __table_args__ = (
        CheckConstraint(enum_check("status", ListingStatus), name="status"),
        CheckConstraint(enum_check("confidentiality", Confidentiality), name="confidentiality"),
        CheckConstraint("min_trl IS NULL OR min_trl BETWEEN 1 AND 9", name="min_trl"),
        CheckConstraint("budget_min_fen IS NULL OR budget_min_fen >= 0", name="budget_min_non_negative"),
        CheckConstraint(
            "budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen",
            name="budget_range",
        ),
        CheckConstraint("cardinality(cooperation_modes) > 0", name="has_cooperation_mode"),
        CheckConstraint(_array_check("cooperation_modes", TransferMode), name="cooperation_modes"),
        Index("ix_demands_public", "status", "published_at", "id"),
        Index("ix_demands_org_created", "organisation_id", "created_at", "id"),
        Index("ix_demands_cooperation_modes", "cooperation_modes", postgresql_using="gin"),
    )

    problem: Mapped[str] = mapped_column(Text)
    technical_indicators: Mapped[str] = mapped_column(Text)
    existing_conditions: Mapped[str | None] = mapped_column(Text)
    budget_min_fen: Mapped[int | None] = mapped_column(BigInteger)
    budget_max_fen: Mapped[int | None] = mapped_column(BigInteger)
    cooperation_modes: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    min_trl: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[datetime]
    confidentiality: Mapped[str] = mapped_column(String(16), server_default=Confidentiality.public.value)


class ListingContact(Base):
    """The people behind a listing; never part of a listing's public representation."""

    __tablename__ = "listing_contacts"
    __table_args__ = (CheckConstraint(enum_check("listing_kind", ListingKind), name="listing_kind"),)

    listing_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    listing_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class ListingRevision(UUIDPrimaryKey, Timestamps, Base):
    """An edit of a published listing, reviewed while the published version stays visible."""

    __tablename__ = "listing_revisions"
    __table_args__ = (
        CheckConstraint(enum_check("listing_kind", ListingKind), name="listing_kind"),
        CheckConstraint(enum_check("status", RevisionStatus), name="status"),
        Index(
            "uq_listing_revisions_open",
            "listing_kind",
            "listing_id",
            unique=True,
            postgresql_where=text("status IN ('submitted', 'returned')"),
        ),
    )

    listing_kind: Mapped[str] = mapped_column(String(16))
    listing_id: Mapped[uuid.UUID] = mapped_column(index=True)
    base_version: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]


class ContactRequest(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "contact_requests"
    __table_args__ = (
        CheckConstraint(enum_check("listing_kind", ListingKind), name="listing_kind"),
        CheckConstraint(enum_check("status", ContactRequestStatus), name="status"),
        Index(
            "uq_contact_requests_open",
            "listing_kind",
            "listing_id",
            "requester_organisation_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )

    listing_kind: Mapped[str] = mapped_column(String(16))
    listing_id: Mapped[uuid.UUID] = mapped_column(index=True)
    owner_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    requester_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    requester_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default=ContactRequestStatus.pending.value)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]


class ImportJob(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint(enum_check("status", ImportJobStatus), name="status"),
        Index("ix_import_jobs_queued", "created_at", postgresql_where=text("status = 'queued'")),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    listing_kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    all_or_nothing: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16), server_default=ImportJobStatus.queued.value)
    total_rows: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    imported_rows: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    failed_rows: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
