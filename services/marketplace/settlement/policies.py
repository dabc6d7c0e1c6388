"""Who may do what with money. Platform finance is the ``platform_admin`` role (no new role was invented).

Payers and payees act through their organisation's administrators and members; officials manage their
government's innovation vouchers and fund; reads of someone else's money are 404 in the repository.
"""

from __future__ import annotations

import uuid

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Forbidden
from services.marketplace.models import Role

PARTY_ROLES = (Role.org_admin, Role.member)


def require_user(principal: Principal, what: str) -> uuid.UUID:
    """Confirmations, acceptances and refunds are acts of a person, not of an API key."""
    if principal.user_id is None:
        raise Forbidden(f"{what}需要使用用户账号，API 密钥不能{what}")
    return principal.user_id


def acts_for(principal: Principal, organisation_id: uuid.UUID | None) -> bool:
    return organisation_id is not None and principal.belongs_to(organisation_id) and principal.has_role(*PARTY_ROLES)


def check_can_pay_for(principal: Principal, organisation_id: uuid.UUID, what: str) -> None:
    if not acts_for(principal, organisation_id):
        raise Forbidden(f"只有付款机构的管理员或成员可以{what}")


def check_is_finance(principal: Principal, what: str) -> uuid.UUID:
    if not principal.is_platform_admin:
        raise Forbidden(f"只有平台财务（platform_admin）可以{what}")
    return require_user(principal, what)


def check_is_org_admin_of(principal: Principal, organisation_id: uuid.UUID, what: str) -> uuid.UUID:
    if not (principal.belongs_to(organisation_id) and principal.has_role(Role.org_admin)):
        raise Forbidden(f"只有本机构的管理员（org_admin）可以{what}")
    return require_user(principal, what)


def check_is_official_of(principal: Principal, government_organisation_id: uuid.UUID, what: str) -> uuid.UUID:
    if not (principal.has_role(Role.official) and principal.belongs_to(government_organisation_id)):
        raise Forbidden(f"只有本级政府部门的工作人员（official）可以{what}")
    return require_user(principal, what)


def acts_for_government(principal: Principal, government_organisation_id: uuid.UUID) -> bool:
    return principal.belongs_to(government_organisation_id) and principal.has_role(Role.official, *PARTY_ROLES)
