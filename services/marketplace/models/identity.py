from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.marketplace.models.base import Base, Timestamps, UUIDPrimaryKey, enum_check


class OrganisationKind(StrEnum):
    university = "university"
    research_institute = "research_institute"
    enterprise = "enterprise"
    transfer_agency = "transfer_agency"
    government = "government"
    platform = "platform"


class VerificationStatus(StrEnum):
    registered = "registered"
    verified = "verified"
    rejected = "rejected"


class Role(StrEnum):
    org_admin = "org_admin"
    member = "member"
    broker = "broker"
    expert = "expert"
    official = "official"
    registrar = "registrar"
    platform_admin = "platform_admin"


class ApiKeyScope(StrEnum):
    read = "read"
    write = "write"


class Organisation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(enum_check("kind", OrganisationKind), name="kind"),
        CheckConstraint(enum_check("verification_status", VerificationStatus), name="verification_status"),
        CheckConstraint("region_code ~ '^[0-9]{6}$'", name="region_code"),
        Index("ix_organisations_created_at_id", "created_at", "id"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    region_code: Mapped[str] = mapped_column(String(6))
    verification_status: Mapped[str] = mapped_column(String(16), server_default=VerificationStatus.registered.value)
    verification_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", use_alter=True))
    version: Mapped[int] = mapped_column(server_default=text("1"))


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "roles <@ ARRAY[" + ", ".join(f"'{role.value}'" for role in Role) + "]::varchar[]", name="roles"
        ),
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default=text("'{}'::varchar[]"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    last_login_at: Mapped[datetime | None]


class RefreshToken(UUIDPrimaryKey, Base):
    """One issued refresh token; rotation keeps the family so that reuse of a spent token revokes it all."""

    __tablename__ = "refresh_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ApiKey(UUIDPrimaryKey, Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("scopes <@ ARRAY['read', 'write']::varchar[] AND cardinality(scopes) > 0", name="scopes"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
