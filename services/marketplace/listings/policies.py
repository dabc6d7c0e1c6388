"""Who may see and do what with listings."""

from __future__ import annotations

from dataclasses import dataclass

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Forbidden
from services.marketplace.listings.specs import ListingSpec
from services.marketplace.models import Organisation, Role, VerificationStatus

AUTHOR_ROLES = (Role.org_admin, Role.member)


@dataclass(frozen=True)
class Viewer:
    """The caller plus what visibility depends on beyond the token: whether their organisation is verified."""

    principal: Principal | None
    organisation_verified: bool = False

    @property
    def is_reviewer(self) -> bool:
        return self.principal is not None and self.principal.is_platform_admin

    @property
    def is_verified_member(self) -> bool:
        return self.principal is not None and self.organisation_verified

    @property
    def is_verified_broker(self) -> bool:
        return self.is_verified_member and self.principal is not None and self.principal.has_role(Role.broker)


def check_can_author(principal: Principal, organisation: Organisation, spec: ListingSpec) -> None:
    if not principal.has_role(*AUTHOR_ROLES):
        raise Forbidden(f"只有机构管理员或成员可以发布{spec.label}")
    if organisation.kind not in spec.author_kinds:
        raise Forbidden(f"该类型的机构不能发布{spec.label}")


def check_can_submit(organisation: Organisation, spec: ListingSpec) -> None:
    if organisation.verification_status != VerificationStatus.verified.value:
        raise Forbidden(f"机构通过认证后才能提交{spec.label}")


def check_is_reviewer(principal: Principal) -> None:
    if not principal.is_platform_admin:
        raise Forbidden("只有平台审核人员可以审核")
