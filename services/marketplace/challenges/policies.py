"""Who may do what with challenges; scoping of reads lives in the repository, these are the 403s."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.marketplace.challenges.specs import POSTER_KINDS
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Forbidden
from services.marketplace.models import Challenge, Organisation, Role, VerificationStatus

# An organisation acts through its administrators and members; its users' other roles (expert, official)
# do not make them act for it.
ORGANISATION_ROLES = (Role.org_admin, Role.member)


def require_user(principal: Principal, what: str) -> uuid.UUID:
    """Scores, decisions and declarations are acts of a person, not of an API key."""
    if principal.user_id is None:
        raise Forbidden(f"{what}需要使用用户账号，API 密钥不能{what}")
    return principal.user_id


def acts_for(principal: Principal, organisation_id: uuid.UUID | None) -> bool:
    return (
        organisation_id is not None
        and principal.belongs_to(organisation_id)
        and principal.has_role(*ORGANISATION_ROLES)
    )


def check_can_post(principal: Principal, organisation: Organisation) -> None:
    if not principal.has_role(*ORGANISATION_ROLES):
        raise Forbidden("只有机构管理员或成员可以发布榜单")
    if organisation.kind not in POSTER_KINDS:
        raise Forbidden("只有企业或政府部门可以发布揭榜挂帅榜单")


def check_poster_verified(organisation: Organisation) -> None:
    if organisation.verification_status != VerificationStatus.verified.value:
        raise Forbidden("发榜机构通过认证后才能提交榜单")


@dataclass(frozen=True)
class ChallengeAccess:
    """The caller's standing towards one challenge they can see."""

    principal: Principal
    challenge: Challenge

    @property
    def is_poster(self) -> bool:
        return acts_for(self.principal, self.challenge.organisation_id)

    @property
    def is_poster_admin(self) -> bool:
        return self.is_poster and self.principal.has_role(Role.org_admin)

    @property
    def is_winner(self) -> bool:
        return acts_for(self.principal, self.challenge.winner_organisation_id)

    @property
    def is_platform(self) -> bool:
        return self.principal.is_platform_admin

    @property
    def is_official(self) -> bool:
        return self.principal.has_role(Role.official)

    def require_poster(self, what: str) -> None:
        if not self.is_poster:
            raise Forbidden(f"只有发榜机构的管理员或成员可以{what}")

    def require_poster_admin_or_platform(self, what: str) -> None:
        if not (self.is_poster_admin or self.is_platform):
            raise Forbidden(f"只有发榜机构的管理员或平台管理员可以{what}")

    def require_platform(self, what: str) -> None:
        if not self.is_platform:
            raise Forbidden(f"只有平台管理员可以{what}")

    def require_winner(self, what: str) -> None:
        if not self.is_winner:
            raise Forbidden(f"只有揭榜方的管理员或成员可以{what}")


def check_can_apply(principal: Principal) -> None:
    if not principal.has_role(*ORGANISATION_ROLES):
        raise Forbidden("只有机构管理员或成员可以揭榜")


def check_is_expert(principal: Principal) -> uuid.UUID:
    if not principal.has_role(Role.expert):
        raise Forbidden("只有评审专家可以评分或声明回避")
    return require_user(principal, "评审")


def check_can_manage_programmes(principal: Principal) -> uuid.UUID:
    if not principal.has_role(Role.official):
        raise Forbidden("只有主管部门官员可以管理奖补政策")
    return require_user(principal, "管理奖补政策")
