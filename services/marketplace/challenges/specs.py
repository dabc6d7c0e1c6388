"""The 揭榜挂帅 workflows in one place: the challenge, application and milestone tables, and who sees which status.

Who may take each action is written beside it and enforced in ``policies.py``; an action that is not in a table
for the current state is a 409 (``IllegalTransition``).
"""

from __future__ import annotations

from services.marketplace.kit.statemachine import StateMachine
from services.marketplace.models.challenges import ApplicationStatus, ChallengeStatus, MilestoneStatus
from services.marketplace.models.identity import OrganisationKind

S = ChallengeStatus

# Before the award the poster may still withdraw the challenge (with a reason applicants see).
CANCELLABLE = (
    S.draft,
    S.submitted,
    S.returned,
    S.published,
    S.unclaimed,
    S.applications_closed,
    S.under_review,
    S.shortlisted,
    S.public_notice,
)

CHALLENGE_LIFECYCLE = StateMachine(
    "揭榜挂帅榜单",
    {
        # poster (org_admin / member of the verified enterprise or government body)
        (S.draft.value, "edit"): S.draft.value,
        (S.returned.value, "edit"): S.returned.value,
        (S.unclaimed.value, "edit"): S.unclaimed.value,
        (S.draft.value, "submit"): S.submitted.value,
        (S.returned.value, "submit"): S.submitted.value,
        (S.unclaimed.value, "submit"): S.submitted.value,  # revise and republish after 流榜
        # platform_admin (platform review)
        (S.submitted.value, "approve"): S.published.value,
        (S.submitted.value, "return"): S.returned.value,
        # worker, at the end of the deadline day in Asia/Shanghai
        (S.published.value, "close_applications"): S.applications_closed.value,
        (S.published.value, "mark_unclaimed"): S.unclaimed.value,
        # platform_admin, with a panel of experts assigned
        (S.applications_closed.value, "start_review"): S.under_review.value,
        # poster, with the panel's ranking on record
        (S.under_review.value, "shortlist"): S.shortlisted.value,
        (S.shortlisted.value, "start_public_notice"): S.public_notice.value,
        # platform_admin upholding an objection sends the decision back to the poster
        (S.public_notice.value, "reopen_shortlist"): S.shortlisted.value,
        # worker, when the 公示 window ended with every objection resolved
        (S.public_notice.value, "award"): S.awarded.value,
        # poster: the three-party agreement and the technology contract
        (S.awarded.value, "link_contract"): S.contracted.value,
        (S.contracted.value, "start_delivery"): S.in_progress.value,
        # winner
        (S.in_progress.value, "request_acceptance"): S.acceptance_review.value,
        (S.rectification.value, "request_acceptance"): S.acceptance_review.value,
        # platform_admin (acceptance review)
        (S.acceptance_review.value, "pass_acceptance"): S.accepted.value,
        (S.acceptance_review.value, "fail_acceptance"): S.rectification.value,
        # poster's org_admin or platform_admin
        (S.rectification.value, "terminate"): S.terminated.value,
        # platform_admin
        (S.accepted.value, "close"): S.closed.value,
        **{(status.value, "cancel"): S.cancelled.value for status in CANCELLABLE},
    },
)

A = ApplicationStatus
APPLICATION_LIFECYCLE = StateMachine(
    "揭榜申请",
    {
        # applicant (org_admin / member), while the challenge is open
        (A.draft.value, "edit"): A.draft.value,
        (A.returned.value, "edit"): A.returned.value,
        (A.withdrawn.value, "edit"): A.withdrawn.value,
        (A.draft.value, "submit"): A.submitted.value,
        (A.returned.value, "submit"): A.submitted.value,
        (A.withdrawn.value, "submit"): A.submitted.value,
        (A.submitted.value, "withdraw"): A.withdrawn.value,
        # platform_admin (formal check), while the challenge is open
        (A.submitted.value, "return"): A.returned.value,
        (A.submitted.value, "reject"): A.rejected.value,
        # the award: the winner is accepted, the other submitted applications are not chosen
        (A.submitted.value, "accept"): A.accepted.value,
        (A.submitted.value, "decline"): A.rejected.value,
    },
)

M = MilestoneStatus
MILESTONE_LIFECYCLE = StateMachine(
    "里程碑",
    {
        # winner
        (M.pending.value, "deliver"): M.submitted.value,
        # poster, or the acceptance review for the last milestone
        (M.submitted.value, "accept"): M.accepted.value,
        (M.submitted.value, "return"): M.pending.value,
    },
)

# Statuses the public sees (once the challenge was published at least once); the rest only the poster,
# platform staff and, except drafts, officials.
PRIVATE_STATUSES = frozenset({S.draft.value, S.submitted.value, S.returned.value})
# Statuses in which the poster edits the challenge.
EDITABLE_STATUSES = frozenset({S.draft.value, S.returned.value, S.unclaimed.value})
# Applications others than the applicant may see, and only after the deadline.
SUBMITTED_APPLICATION_STATUSES = frozenset({A.submitted.value, A.accepted.value, A.rejected.value})
# Statuses in which the panel's ranking exists.
REVIEWED_STATUSES = frozenset(
    status.value
    for status in ChallengeStatus
    if status not in (S.draft, S.submitted, S.returned, S.published, S.unclaimed, S.applications_closed, S.cancelled)
)
# Statuses in which the challenge has a winner and its money records.
AWARDED_STATUSES = frozenset(
    {
        S.awarded.value,
        S.contracted.value,
        S.in_progress.value,
        S.acceptance_review.value,
        S.rectification.value,
        S.accepted.value,
        S.closed.value,
        S.terminated.value,
    }
)

# Who may publish a challenge.
POSTER_KINDS = frozenset({OrganisationKind.enterprise.value, OrganisationKind.government.value})
# The expert panel scores on these unless the poster configures others (weights are relative).
DEFAULT_REVIEW_CRITERIA = (
    {"code": "technical", "name": "技术方案先进性与可行性", "weight": 40},
    {"code": "team", "name": "团队能力与研发基础", "weight": 30},
    {"code": "delivery", "name": "进度安排与交付保障", "weight": 20},
    {"code": "budget", "name": "经费合理性", "weight": 10},
)
MAX_CRITERION_SCORE = 100
