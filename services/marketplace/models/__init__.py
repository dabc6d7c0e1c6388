"""All ORM models, in one package so that domains can reference each other without import cycles."""

from services.marketplace.models.audit import AuditEvent
from services.marketplace.models.base import Base
from services.marketplace.models.contracts import (
    BrokerProfile,
    Contract,
    ContractAmendment,
    ContractSignature,
    DealRoom,
    DealRoomBroker,
    DealRoomMessage,
    DealRoomOffer,
    RegistrationCounter,
)
from services.marketplace.models.identity import (
    ApiKey,
    Organisation,
    OrganisationKind,
    RefreshToken,
    Role,
    User,
    VerificationStatus,
)
from services.marketplace.models.listings import (
    Achievement,
    ContactRequest,
    Demand,
    ImportJob,
    ListingContact,
    ListingKind,
    ListingRevision,
    ListingStatus,
)
from services.marketplace.models.notifications import Notification
from services.marketplace.models.platform import (
    IdempotencyRecord,
    OutboxEvent,
    OutboxHandlerRun,
    RateLimitCounter,
)
from services.marketplace.models.statistics import (
    StatContractChange,
    StatIndicator,
    StatIndicatorValue,
    StatPlanTarget,
    StatRollup,
    StatYearlyTarget,
)

__all__ = [
    "Achievement",
    "ApiKey",
    "AuditEvent",
    "Base",
    "BrokerProfile",
    "ContactRequest",
    "Contract",
    "ContractAmendment",
    "ContractSignature",
    "DealRoom",
    "DealRoomBroker",
    "DealRoomMessage",
    "DealRoomOffer",
    "Demand",
    "IdempotencyRecord",
    "ImportJob",
    "ListingContact",
    "ListingKind",
    "ListingRevision",
    "ListingStatus",
    "Notification",
    "Organisation",
    "OrganisationKind",
    "OutboxEvent",
    "OutboxHandlerRun",
    "RateLimitCounter",
    "RefreshToken",
    "RegistrationCounter",
    "Role",
    "StatContractChange",
    "StatIndicator",
    "StatIndicatorValue",
    "StatPlanTarget",
    "StatRollup",
    "StatYearlyTarget",
    "User",
    "VerificationStatus",
]
