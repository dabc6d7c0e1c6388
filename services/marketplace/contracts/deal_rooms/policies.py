"""Who may do what in a deal room: parties negotiate and invite brokers; brokers talk; nobody else is there."""

from __future__ import annotations

from dataclasses import dataclass

from services.marketplace.contracts.policies import PARTY_ROLES
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Forbidden
from services.marketplace.models import DealRoom
from services.marketplace.models.contracts import Side


@dataclass(frozen=True)
class RoomAccess:
    principal: Principal
    room: DealRoom

    @property
    def side(self) -> Side | None:
        if not self.principal.has_role(*PARTY_ROLES):
            return None
        if self.principal.belongs_to(self.room.seller_organisation_id):
            return Side.seller
        if self.principal.belongs_to(self.room.buyer_organisation_id):
            return Side.buyer
        return None


def check_is_party(access: RoomAccess, what: str) -> Side:
    side = access.side
    if side is None:
        raise Forbidden(f"只有交易双方可以{what}")
    return side
