"""Outbox topics of the listings domain: ``achievement.<action>`` and ``demand.<action>``."""

from __future__ import annotations

from typing import Any

from services.marketplace.listings.specs import ListingSpec
from services.marketplace.models import Achievement, Demand

# The actions that become topics, e.g. achievement.published, demand.expired.
ACTION_TOPICS = {
    "submit": "submitted",
    "approve": "published",
    "return": "returned",
    "withdraw": "withdrawn",
    "expire": "expired",
    "transact": "transacted",
    "revise": "updated",
    "remind": "reverification_due",
}


def topic(spec: ListingSpec, action: str) -> str:
    return f"{spec.kind.value}.{ACTION_TOPICS[action]}"


def listing_payload(spec: ListingSpec, listing: Achievement | Demand) -> dict[str, Any]:
    return {
        "listing_id": str(listing.id),
        "kind": spec.kind.value,
        "version": listing.version,
        "organisation_id": str(listing.organisation_id),
        "status": listing.status,
    }
