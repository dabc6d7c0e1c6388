"""The contract workflows in one place: lifecycle tables, who registers, and which statuses whom shows."""

from __future__ import annotations

from services.marketplace.kit.statemachine import StateMachine
from services.marketplace.models.contracts import (
    AmendmentStatus,
    ContractStatus,
    ContractSubtype,
    ContractType,
    DealRoomStatus,
    OfferStatus,
)
from services.marketplace.models.listings import TransferMode

S = ContractStatus
_EDITABLE = (S.draft, S.awaiting_signatures, S.signed, S.rejected)

CONTRACT_LIFECYCLE = StateMachine(
    "技术合同",
    {
        # An edit never leaves a signed version behind: signatures name a version, so they lapse.
        (S.draft.value, "edit"): S.draft.value,
        (S.awaiting_signatures.value, "edit"): S.awaiting_signatures.value,
        (S.signed.value, "edit"): S.awaiting_signatures.value,
        (S.rejected.value, "edit"): S.awaiting_signatures.value,
        (S.draft.value, "request_signatures"): S.awaiting_signatures.value,
        (S.awaiting_signatures.value, "sign"): S.awaiting_signatures.value,
        (S.awaiting_signatures.value, "complete_signatures"): S.signed.value,
        (S.signed.value, "submit"): S.submitted.value,
        (S.rejected.value, "submit"): S.submitted.value,
        (S.submitted.value, "register"): S.registered.value,
        (S.submitted.value, "reject"): S.rejected.value,
        (S.registered.value, "start_performance"): S.performing.value,
        (S.performing.value, "complete"): S.completed.value,
        # A registered change keeps the status (an amount change) or ends the contract (a termination).
        (S.registered.value, "amend"): S.registered.value,
        (S.performing.value, "amend"): S.performing.value,
        # Only by a registered termination amendment.
        (S.registered.value, "terminate"): S.terminated.value,
        (S.performing.value, "terminate"): S.terminated.value,
        **{(status.value, "cancel"): S.cancelled.value for status in _EDITABLE},
    },
)

# Statuses a registrar sees: everything submitted to a registry and what became of it.
REGISTRAR_STATUSES = frozenset(
    {S.submitted.value, S.rejected.value, S.registered.value, S.performing.value, S.completed.value, S.terminated.value}
)
# Statuses reached only through registration: they count in statistics and officials may read them.
REGISTERED_STATUSES = frozenset({S.registered.value, S.performing.value, S.completed.value, S.terminated.value})

A = AmendmentStatus
AMENDMENT_LIFECYCLE = StateMachine(
    "合同变更",
    {
        (A.proposed.value, "confirm"): A.submitted.value,
        (A.submitted.value, "register"): A.registered.value,
        (A.submitted.value, "reject"): A.rejected.value,
        (A.proposed.value, "withdraw"): A.withdrawn.value,
        (A.submitted.value, "withdraw"): A.withdrawn.value,
    },
)

OS = OfferStatus
OFFER_LIFECYCLE = StateMachine(
    "报价",
    {
        (OS.open.value, "accept"): OS.accepted.value,
        (OS.open.value, "decline"): OS.declined.value,
        (OS.open.value, "withdraw"): OS.withdrawn.value,
        (OS.open.value, "counter"): OS.countered.value,
        (OS.open.value, "supersede"): OS.superseded.value,
    },
)

DEAL_ROOM_LIFECYCLE = StateMachine(
    "洽谈室",
    {
        (DealRoomStatus.open.value, "post"): DealRoomStatus.open.value,
        (DealRoomStatus.open.value, "close"): DealRoomStatus.closed.value,
    },
)

# How an accepted offer's transfer mode pre-fills the contract type (the sub-type is left for the parties
# unless the mode says it); 作价投资 is registered as a transfer of the technology.
OFFER_CONTRACT_TYPES: dict[TransferMode, tuple[ContractType, ContractSubtype | None]] = {
    TransferMode.transfer: (ContractType.transfer, None),
    TransferMode.license: (ContractType.license, None),
    TransferMode.equity: (ContractType.transfer, None),
    TransferMode.co_development: (ContractType.development, ContractSubtype.cooperative),
    TransferMode.service: (ContractType.service, ContractSubtype.general),
    TransferMode.consulting: (ContractType.consulting, None),
}

# Hefei (合肥市): a buyer here converting an achievement is a local conversion (就地转化).
HEFEI_PREFIX = "3401"
# GB/T 2260 provinces outside the mainland (台湾, 香港, 澳门): cross-border like a foreign country.
OUTSIDE_MAINLAND_PROVINCES = frozenset({"71", "81", "82"})
