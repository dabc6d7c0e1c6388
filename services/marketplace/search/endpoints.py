from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.marketplace.dependencies import SessionDep
from services.marketplace.identity.auth import OptionalPrincipalDep
from services.marketplace.kit.errors import problem_responses
from services.marketplace.listings.repository import load_viewer, owner_kind
from services.marketplace.listings.service import get_listing
from services.marketplace.models import ListingKind
from services.marketplace.search.schemas import (
    AchievementSearchParams,
    DemandSearchParams,
    MatchesRead,
    MatchRead,
    ReasonRead,
    SearchHitRead,
    SearchResultRead,
)
from services.marketplace.search.service import INDEXED_KINDS, IndexedKind, visibility_filters
from services.matching.engine import SearchEngine
from services.matching.query import Eq, Filter, In, Prefix, Range, SearchQuery, SearchResult, Sort
from services.matching.ranking import Match
from services.matching.recommend import recommend_for_achievement, recommend_for_demand

router = APIRouter(prefix="/v1/search", tags=["search"])
SEARCH_ERRORS = problem_responses(401, 422, 503)


async def get_search_engine(request: Request) -> SearchEngine:
    engine: SearchEngine = request.app.state.search
    return engine


SearchEngineDep = Annotated[SearchEngine, Depends(get_search_engine)]


def _sort(value: str) -> tuple[Sort, ...]:
    if value == "relevance":
        return ()
    return (Sort(value.lstrip("-"), "desc" if value.startswith("-") else "asc"),)


def _common_filters(params: AchievementSearchParams | DemandSearchParams) -> list[Filter]:
    filters: list[Filter] = []
    for name in ("field_code", "industry_code", "owner_kind"):
        value = getattr(params, name)
        if value:
            filters.append(Eq(name, value))
    if params.region:
        filters.append(Prefix("region_code", params.region))
    return filters


def achievement_filters(params: AchievementSearchParams) -> list[Filter]:
    filters = _common_filters(params)
    if params.trl_min is not None or params.trl_max is not None:
        filters.append(Range("trl", params.trl_min, params.trl_max))
    if params.price_min_fen is not None or params.price_max_fen is not None:
        filters.append(Range("price_fen", params.price_min_fen, params.price_max_fen))
    if params.transfer_mode:
        filters.append(In("transfer_modes", tuple(mode.value for mode in params.transfer_mode)))
    return filters


def demand_filters(params: DemandSearchParams) -> list[Filter]:
    filters = _common_filters(params)
    if params.trl_min is not None:
        filters.append(Range("min_trl", gte=params.trl_min))
    if params.budget_min_fen is not None:
        filters.append(Range("budget_max_fen", gte=params.budget_min_fen))
    if params.budget_max_fen is not None:
        filters.append(Range("budget_min_fen", lte=params.budget_max_fen))
    if params.cooperation_mode:
        filters.append(In("cooperation_modes", tuple(mode.value for mode in params.cooperation_mode)))
    if params.confidentiality:
        filters.append(Eq("confidentiality", params.confidentiality.value))
    return filters


def _read(result: SearchResult) -> SearchResultRead:
    return SearchResultRead(
        hits=[SearchHitRead(document=hit.document, score=hit.score, highlights=hit.highlights) for hit in result.hits],
        total=result.total,
        facets=result.facets,
    )


async def _search(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    engine: SearchEngine,
    kind: IndexedKind,
    params: AchievementSearchParams | DemandSearchParams,
    filters: list[Filter],
) -> SearchResultRead:
    viewer = await load_viewer(session, principal)
    query = SearchQuery(
        text=params.q,
        filters=(*visibility_filters(kind, viewer), *filters),
        facets=tuple(params.facets),
        sort=_sort(params.sort),
        limit=params.limit,
        offset=params.offset,
    )
    return _read(await engine.search(kind.index, query))


@router.get("/achievements", responses=SEARCH_ERRORS)
async def search_achievements(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    engine: SearchEngineDep,
    params: Annotated[AchievementSearchParams, Query()],
) -> SearchResultRead:
    """Full-text search of published achievements with filters, facets, highlights and sorting."""
    kind = INDEXED_KINDS[ListingKind.achievement]
    return await _search(session, principal, engine, kind, params, achievement_filters(params))


@router.get("/demands", responses=SEARCH_ERRORS)
async def search_demands(
    session: SessionDep,
    principal: OptionalPrincipalDep,
    engine: SearchEngineDep,
    params: Annotated[DemandSearchParams, Query()],
) -> SearchResultRead:
    """Full-text search of published demands the caller may see (confidentiality is enforced by the server)."""
    kind = INDEXED_KINDS[ListingKind.demand]
    return await _search(session, principal, engine, kind, params, demand_filters(params))


matches_router = APIRouter(prefix="/v1", tags=["matching"])
MatchLimit = Annotated[int, Query(ge=1, le=50)]


def _matches(matches: list[Match]) -> MatchesRead:
    return MatchesRead(
        matches=[
            MatchRead(
                document=match.document,
                score=match.score,
                reasons=[
                    ReasonRead(code=reason.code, text=reason.text, weight=reason.weight) for reason in match.reasons
                ],
            )
            for match in matches
        ]
    )


@matches_router.get("/demands/{listing_id}/matches", responses=problem_responses(401, 404, 422, 503))
async def match_achievements_to_demand(
    listing_id: uuid.UUID,
    session: SessionDep,
    principal: OptionalPrincipalDep,
    engine: SearchEngineDep,
    limit: MatchLimit = 10,
) -> MatchesRead:
    """Achievements ranked for a demand, each with a score and the reasons a person can check."""
    demand = INDEXED_KINDS[ListingKind.demand]
    listing = await get_listing(session, principal, demand.spec, listing_id)
    document = demand.build(listing, await owner_kind(session, listing.organisation_id))
    viewer = await load_viewer(session, principal)
    filters = visibility_filters(INDEXED_KINDS[ListingKind.achievement], viewer)
    return _matches(await recommend_for_demand(engine, document, filters=filters, limit=limit))


@matches_router.get("/achievements/{listing_id}/matches", responses=problem_responses(401, 404, 422, 503))
async def match_demands_to_achievement(
    listing_id: uuid.UUID,
    session: SessionDep,
    principal: OptionalPrincipalDep,
    engine: SearchEngineDep,
    limit: MatchLimit = 10,
) -> MatchesRead:
    """Demands ranked for an achievement; only demands the caller may see take part."""
    achievement = INDEXED_KINDS[ListingKind.achievement]
    listing = await get_listing(session, principal, achievement.spec, listing_id)
    document = achievement.build(listing, await owner_kind(session, listing.organisation_id))
    viewer = await load_viewer(session, principal)
    filters = visibility_filters(INDEXED_KINDS[ListingKind.demand], viewer)
    return _matches(await recommend_for_achievement(engine, document, filters=filters, limit=limit))
