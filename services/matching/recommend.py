"""Recommendations: for a demand, ranked achievements; for an achievement, ranked demands.

Candidates come from the search engine (any ``SearchEngine``: Meilisearch or the embedded one), found with the
text of the anchor listing; ``ranking`` re-orders them and explains each. Nothing here knows about the
marketplace: the caller passes index documents and the filters that decide what may be shown (status, visibility).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.matching.engine import SearchEngine
from services.matching.indexes import ACHIEVEMENTS, DEMANDS, IndexDefinition
from services.matching.query import Filter, Hit, SearchQuery
from services.matching.ranking import Match, RankingWeights, rerank_achievements, rerank_demands


def _text(document: Mapping[str, Any], fields: Sequence[str]) -> str:
    parts: list[str] = []
    for name in fields:
        value = document.get(name)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list | tuple):
            parts.extend(str(item) for item in value)
    return " ".join(part.strip() for part in parts if part and part.strip())


# What a listing says about the problem or the solution, most specific first (engines that read only the first
# words of a query, like Meilisearch, see the title and keywords). The whole problem statement and indicators go in:
# the achievements that solve a demand often share its concrete details (test conditions, figures, side terms)
# rather than its title words, and on the dev set keeping only the title, keywords and the longest terms of the
# problem text lost 0.04–0.10 nDCG@10.
DEMAND_QUERY_FIELDS = ("title", "keywords", "problem", "technical_indicators")
ACHIEVEMENT_QUERY_FIELDS = ("title", "keywords", "summary", "description")


def demand_query(demand: Mapping[str, Any], *, filters: Sequence[Filter] = (), limit: int = 50) -> SearchQuery:
    """The search for achievements that could solve ``demand``."""
    return SearchQuery(text=_text(demand, DEMAND_QUERY_FIELDS), filters=tuple(filters), limit=limit, highlight=False)


def achievement_query(
    achievement: Mapping[str, Any], *, filters: Sequence[Filter] = (), limit: int = 50
) -> SearchQuery:
    """The search for demands that ``achievement`` could solve."""
    return SearchQuery(
        text=_text(achievement, ACHIEVEMENT_QUERY_FIELDS), filters=tuple(filters), limit=limit, highlight=False
    )


async def search_candidates(
    engine: SearchEngine,
    demand: Mapping[str, Any],
    *,
    filters: Sequence[Filter] = (),
    candidates: int = 50,
    index: IndexDefinition = ACHIEVEMENTS,
) -> list[Hit]:
    """Achievement candidates for ``demand`` in the engine's own order."""
    result = await engine.search(index, demand_query(demand, filters=filters, limit=candidates))
    return result.hits


async def recommend_for_demand(
    engine: SearchEngine,
    demand: Mapping[str, Any],
    *,
    filters: Sequence[Filter] = (),
    limit: int = 10,
    candidates: int = 50,
    weights: RankingWeights | None = None,
    now: float | None = None,
    index: IndexDefinition = ACHIEVEMENTS,
) -> list[Match]:
    """Up to ``limit`` achievements for ``demand``, best first, each with its score and reasons.

    ``filters`` restrict the candidates (e.g. ``Eq("status", "published")``); ``candidates`` is how many the engine
    returns for re-ranking; ``now`` (epoch seconds) dates freshness.
    """
    hits = await search_candidates(engine, demand, filters=filters, candidates=max(candidates, limit), index=index)
    return rerank_achievements(demand, hits, weights=weights, now=now)[:limit]


async def recommend_for_achievement(
    engine: SearchEngine,
    achievement: Mapping[str, Any],
    *,
    filters: Sequence[Filter] = (),
    limit: int = 10,
    candidates: int = 50,
    weights: RankingWeights | None = None,
    now: float | None = None,
    index: IndexDefinition = DEMANDS,
) -> list[Match]:
    """Up to ``limit`` demands that ``achievement`` could answer, best first, each with its score and reasons."""
    query = achievement_query(achievement, filters=filters, limit=max(candidates, limit))
    result = await engine.search(index, query)
    return rerank_demands(achievement, result.hits, weights=weights, now=now)[:limit]
