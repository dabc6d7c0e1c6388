"""Outbox topics emitted by the identity domain, and their payloads."""

from __future__ import annotations

from typing import Any

from services.marketplace.models import Organisation

ORGANISATION_REGISTERED = "organisation.registered"
ORGANISATION_VERIFIED = "organisation.verified"
ORGANISATION_REJECTED = "organisation.rejected"
ORGANISATION_UPDATED = "organisation.updated"


def organisation_payload(organisation: Organisation) -> dict[str, Any]:
    return {
        "organisation_id": str(organisation.id),
        "kind": organisation.kind,
        "name": organisation.name,
        "region_code": organisation.region_code,
        "verification_status": organisation.verification_status,
    }
