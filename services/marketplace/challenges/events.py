"""Outbox topics and payloads of challenges.

``challenge.<topic>`` for the challenge's lifecycle, ``challenge_application.<topic>`` for applications (each
notifies the applicant), and the money topics ``challenge.awarded`` (escrow reserved, milestones, subsidy
plan), ``challenge.tranche_released``, ``challenge.escrow_refunded``, ``challenge.subsidy_due`` and
``challenge.subsidy_cancelled``: each money payload carries a ``movement_key`` that settlement posts under,
so replaying an event can never post twice. Amounts are integer fen.
"""

from __future__ import annotations

from typing import Any

from services.marketplace.models import Challenge, ChallengeApplication

PAYLOAD_SCHEMA_VERSION = 1

ACTION_TOPICS = {
    "create": "drafted",
    "edit": "edited",
    "submit": "submitted",
    "approve": "published",
    "return": "returned",
    "close_applications": "applications_closed",
    "mark_unclaimed": "unclaimed",
    "assign_expert": "expert_assigned",
    "start_review": "review_started",
    "shortlist": "shortlisted",
    "start_public_notice": "public_notice_started",
    "file_objection": "objection_filed",
    "resolve_objection": "objection_resolved",
    "reopen_shortlist": "shortlist_reopened",
    "award": "awarded",
    "link_contract": "contracted",
    "start_delivery": "delivery_started",
    "deliver_milestone": "milestone_delivered",
    "return_milestone": "milestone_returned",
    "request_acceptance": "acceptance_requested",
    "pass_acceptance": "accepted",
    "fail_acceptance": "rectification_required",
    "terminate": "terminated",
    "close": "closed",
    "cancel": "cancelled",
}
APPLICATION_TOPICS = {
    "create": "drafted",
    "edit": "edited",
    "submit": "submitted",
    "withdraw": "withdrawn",
    "return": "returned",
    "reject": "rejected",
    "shortlist": "shortlisted",
    "accept": "accepted",
    "decline": "not_selected",
}
# Application topics that are news to the applicant (their own edits are not).
NOTIFIED_APPLICATION_TOPICS = frozenset(
    f"challenge_application.{APPLICATION_TOPICS[action]}"
    for action in ("submit", "withdraw", "return", "reject", "shortlist", "accept", "decline")
)

TRANCHE_RELEASED = "challenge.tranche_released"
ESCROW_REFUNDED = "challenge.escrow_refunded"
SUBSIDY_DUE = "challenge.subsidy_due"
SUBSIDY_CANCELLED = "challenge.subsidy_cancelled"


def topic(action: str) -> str:
    return f"challenge.{ACTION_TOPICS[action]}"


def application_topic(action: str) -> str:
    return f"challenge_application.{APPLICATION_TOPICS[action]}"


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)


def challenge_payload(challenge: Challenge) -> dict[str, Any]:
    return {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "challenge_id": str(challenge.id),
        "code": challenge.code,
        "title": challenge.title,
        "version": challenge.version,
        "status": challenge.status,
        "organisation_id": str(challenge.organisation_id),
        "winner_organisation_id": _optional(challenge.winner_organisation_id),
    }


def application_payload(challenge: Challenge, application: ChallengeApplication) -> dict[str, Any]:
    return {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "application_id": str(application.id),
        "challenge_id": str(challenge.id),
        "challenge_code": challenge.code,
        "challenge_title": challenge.title,
        "organisation_id": str(application.organisation_id),
        "status": application.status,
        "version": application.version,
        "comment": application.return_comment if application.status == "returned" else application.decision_reason,
    }


def money_payload(challenge: Challenge, movement_key: str, amount_fen: int, **details: Any) -> dict[str, Any]:
    return challenge_payload(challenge) | {
        "movement_key": movement_key,
        "amount_fen": amount_fen,
        "currency": "CNY",
        "amount_unit": "fen",
        **{key: _optional(value) if key.endswith("_id") else value for key, value in details.items()},
    }
