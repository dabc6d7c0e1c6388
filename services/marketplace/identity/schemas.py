from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.marketplace.kit.validators import USCC, FutureDatetime, NonBlank, RegionCode
from services.marketplace.models.identity import ApiKeyScope, OrganisationKind, Role, VerificationStatus

Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
DisplayName = Annotated[NonBlank, StringConstraints(max_length=100)]
OrganisationName = Annotated[NonBlank, StringConstraints(max_length=200)]

# Platform organisations are created by the administrators' CLI, never by self-registration.
RegisterableKind = Literal["university", "research_institute", "enterprise", "transfer_agency", "government"]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class FirstAdmin(InputModel):
    email: EmailStr
    display_name: DisplayName
    password: Password


class OrganisationRegistration(InputModel):
    kind: RegisterableKind
    name: OrganisationName
    uscc: USCC = Field(description="统一社会信用代码（GB 32100-2015，含校验位）")
    region_code: RegionCode = Field(description="行政区划代码（GB/T 2260）")
    admin: FirstAdmin


class OrganisationUpdate(InputModel):
    name: OrganisationName | None = None
    region_code: RegionCode | None = None


class RejectionRequest(InputModel):
    reason: Annotated[NonBlank, StringConstraints(max_length=2000)]


class OrganisationRead(OutputModel):
    id: uuid.UUID
    kind: OrganisationKind
    name: str
    uscc: str
    region_code: str
    verification_status: VerificationStatus
    verification_reason: str | None
    verified_at: datetime | None
    created_at: datetime


class UserCreate(InputModel):
    email: EmailStr
    display_name: DisplayName
    password: Password
    roles: Annotated[list[Role], Field(min_length=1, max_length=7)]


class RolesUpdate(InputModel):
    roles: Annotated[list[Role], Field(min_length=1, max_length=7)]


class UserRead(OutputModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    display_name: str
    roles: list[Role]
    is_active: bool
    created_at: datetime


class RegistrationResult(BaseModel):
    organisation: OrganisationRead
    admin: UserRead


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    refresh_token: str


class RefreshRequest(InputModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ApiKeyCreate(InputModel):
    name: Annotated[NonBlank, StringConstraints(max_length=100)]
    scopes: Annotated[list[ApiKeyScope], Field(min_length=1, max_length=2)]
    roles: Annotated[list[Role], Field(min_length=1, max_length=7)]
    expires_at: FutureDatetime | None = None


class ApiKeyRead(OutputModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    roles: list[Role]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="完整密钥，只在创建时返回一次")


class OrganisationFilter(InputModel):
    verification_status: VerificationStatus | None = None
    kind: OrganisationKind | None = None
