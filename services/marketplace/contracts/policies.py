"""Who may see and do what with contracts; scoping of reads lives in the repository, these are the 403s."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.marketplace.contracts.specs import OUTSIDE_MAINLAND_PROVINCES
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Forbidden
from services.marketplace.models import Contract, Role
from services.marketplace.models.contracts import Side

# A platform party acts through its administrators and members; other roles of its users (official,
# registrar, expert) do not make them a party.
PARTY_ROLES = (Role.org_admin, Role.member)


def other_side(side: Side) -> Side:
    return Side.buyer if side is Side.seller else Side.seller


def party_organisation(contract: Contract, side: Side) -> uuid.UUID | None:
    organisation_id: uuid.UUID | None = getattr(contract, f"{side.value}_organisation_id")
    return organisation_id


def is_cross_border(region_code: str | None, country_code: str | None) -> bool:
    """A party abroad (a country code) or in 港澳台 (GB/T 2260 provinces 71, 81, 82)."""
    return country_code is not None or (region_code is not None and region_code[:2] in OUTSIDE_MAINLAND_PROVINCES)


def registering_side(contract: Contract) -> Side:
    """The seller registers where it is located; for a technology import (a seller across the border), the buyer."""
    seller_abroad = is_cross_border(contract.seller_region_code, contract.seller_country_code)
    buyer_abroad = is_cross_border(contract.buyer_region_code, contract.buyer_country_code)
    return Side.buyer if seller_abroad and not buyer_abroad else Side.seller


@dataclass(frozen=True)
class ContractAccess:
    """The caller's standing towards one contract they can see."""

    principal: Principal
    contract: Contract

    def acts_for(self, side: Side) -> bool:
        organisation_id = party_organisation(self.contract, side)
        return (
            organisation_id is not None
            and self.principal.belongs_to(organisation_id)
            and self.principal.has_role(*PARTY_ROLES)
        )

    def is_admin_of(self, side: Side) -> bool:
        return self.acts_for(side) and self.principal.has_role(Role.org_admin)

    @property
    def side(self) -> Side | None:
        return next((side for side in Side if self.acts_for(side)), None)

    @property
    def is_party(self) -> bool:
        return self.side is not None

    @property
    def is_broker(self) -> bool:
        return (
            self.principal.user_id is not None
            and self.principal.user_id == self.contract.broker_user_id
            and self.principal.has_role(Role.broker)
        )

    @property
    def is_registrar(self) -> bool:
        return self.principal.has_role(Role.registrar) and not any(
            self.principal.belongs_to(organisation_id)
            for organisation_id in (self.contract.seller_organisation_id, self.contract.buyer_organisation_id)
            if organisation_id is not None
        )


def check_can_edit(access: ContractAccess) -> None:
    if not (access.is_party or access.is_broker):
        raise Forbidden("只有合同双方的管理员、成员或合同的技术经纪人可以修改合同")


def require_user(principal: Principal, what: str) -> uuid.UUID:
    """Signatures, registrations and confirmations are acts of a person, not of an API key."""
    if principal.user_id is None:
        raise Forbidden(f"{what}需要使用用户账号，API 密钥不能{what}")
    return principal.user_id


def check_can_sign(access: ContractAccess, side: Side) -> uuid.UUID:
    if not access.is_admin_of(side):
        raise Forbidden("只有当事机构的管理员（org_admin）可以签署合同")
    return require_user(access.principal, "签署")


def check_can_record_offline_signature(access: ContractAccess, outside_side: Side) -> uuid.UUID:
    if party_organisation(access.contract, outside_side) is not None:
        raise Forbidden("平台机构须由其管理员在线签署，不能登记线下签署")
    if not access.is_admin_of(other_side(outside_side)):
        raise Forbidden("平台外当事人的线下签署由对方（平台机构）的管理员登记")
    return require_user(access.principal, "登记签署")


def check_can_submit(access: ContractAccess, side: Side) -> None:
    if not access.acts_for(side):
        label = "卖方（让与方/受托方）" if side is Side.seller else "技术进口合同的买方"
        raise Forbidden(f"合同由{label}提交认定登记")


def check_is_registrar(access: ContractAccess) -> uuid.UUID:
    if not access.principal.has_role(Role.registrar):
        raise Forbidden("只有技术合同登记员可以认定登记")
    if not access.is_registrar:
        raise Forbidden("登记员不能认定登记本机构为当事人的合同")
    return require_user(access.principal, "认定登记")


def check_is_party_admin(access: ContractAccess, what: str) -> Side:
    side = next((side for side in Side if access.is_admin_of(side)), None)
    if side is None:
        raise Forbidden(f"只有合同当事机构的管理员可以{what}")
    return side
