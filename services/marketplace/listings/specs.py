"""What differs between the listing kinds, in one place: model, topics, who may author, lifecycle table."""

from __future__ import annotations

from dataclasses import dataclass

from services.marketplace.kit.statemachine import StateMachine
from services.marketplace.models import Achievement, Demand, ListingKind, ListingStatus
from services.marketplace.models.identity import OrganisationKind

S = ListingStatus


def _listing_lifecycle(name: str) -> StateMachine:
    return StateMachine(
        name,
        {
            (S.draft.value, "submit"): S.submitted.value,
            (S.returned.value, "submit"): S.submitted.value,
            (S.expired.value, "submit"): S.submitted.value,
            (S.submitted.value, "approve"): S.published.value,
            (S.submitted.value, "return"): S.returned.value,
            (S.published.value, "withdraw"): S.withdrawn.value,
            (S.draft.value, "withdraw"): S.withdrawn.value,
            (S.returned.value, "withdraw"): S.withdrawn.value,
            (S.published.value, "expire"): S.expired.value,
            (S.published.value, "transact"): S.transacted.value,
        },
    )


@dataclass(frozen=True)
class ListingSpec:
    kind: ListingKind
    model: type[Achievement] | type[Demand]
    label: str
    lifecycle: StateMachine
    author_kinds: frozenset[str]
    expiry_column: str

    @property
    def object_type(self) -> str:
        return self.kind.value


ACHIEVEMENTS = ListingSpec(
    kind=ListingKind.achievement,
    model=Achievement,
    label="科技成果",
    lifecycle=_listing_lifecycle("科技成果"),
    author_kinds=frozenset(
        {
            OrganisationKind.university.value,
            OrganisationKind.research_institute.value,
            OrganisationKind.enterprise.value,
        }
    ),
    expiry_column="valid_until",
)
DEMANDS = ListingSpec(
    kind=ListingKind.demand,
    model=Demand,
    label="技术需求",
    lifecycle=_listing_lifecycle("技术需求"),
    author_kinds=frozenset({OrganisationKind.enterprise.value, OrganisationKind.government.value}),
    expiry_column="deadline",
)
SPECS = {spec.kind: spec for spec in (ACHIEVEMENTS, DEMANDS)}

# Statuses anyone may see; the rest only the owner and platform reviewers.
PUBLIC_STATUSES = (S.published.value, S.transacted.value)
# Statuses in which the owner edits the listing directly; a published listing is edited through a revision.
DIRECTLY_EDITABLE = (S.draft.value, S.returned.value, S.expired.value)
