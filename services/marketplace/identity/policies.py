"""Who may do what with organisations, users and API keys."""

from __future__ import annotations

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Forbidden, ValidationProblem
from services.marketplace.models import Organisation, Role, VerificationStatus
from services.marketplace.models.identity import OrganisationKind

# Roles an organisation's own administrator may hand out; the rest are granted by platform staff.
SELF_ASSIGNABLE_ROLES = frozenset({Role.org_admin, Role.member, Role.broker, Role.expert})
GOVERNMENT_ROLES = frozenset({Role.official, Role.registrar})


def can_view_organisation(principal: Principal | None, organisation: Organisation) -> bool:
    if organisation.verification_status == VerificationStatus.verified.value:
        return True
    return principal is not None and (principal.is_platform_admin or principal.belongs_to(organisation.id))


def can_manage_organisation(principal: Principal, organisation: Organisation) -> bool:
    return principal.is_platform_admin or (principal.belongs_to(organisation.id) and principal.has_role(Role.org_admin))


def check_roles_assignable(principal: Principal, organisation: Organisation, roles: list[Role]) -> None:
    """Raise 403 for roles the caller may not grant, 422 for roles the organisation's kind cannot hold."""
    if not principal.is_platform_admin:
        forbidden = sorted(set(roles) - SELF_ASSIGNABLE_ROLES)
        if forbidden:
            raise Forbidden("只有平台管理员可以授予以下角色：" + "、".join(forbidden))
    if Role.platform_admin in roles and organisation.kind != OrganisationKind.platform.value:
        raise ValidationProblem.for_field(["body", "roles"], "platform_admin 只能授予平台运营机构的用户")
    if GOVERNMENT_ROLES & set(roles) and organisation.kind not in (
        OrganisationKind.government.value,
        OrganisationKind.platform.value,
    ):
        raise ValidationProblem.for_field(["body", "roles"], "official 与 registrar 只能授予政府部门的用户")


def check_api_key_roles(principal: Principal, roles: list[Role]) -> None:
    """An API key may carry only roles its creator holds, and never platform_admin."""
    if Role.platform_admin in roles:
        raise Forbidden("API 密钥不能拥有 platform_admin 角色")
    missing = sorted(role.value for role in roles if role.value not in principal.roles)
    if missing:
        raise Forbidden("不能授予自己没有的角色：" + "、".join(missing))
