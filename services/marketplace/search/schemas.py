from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.marketplace.listings.schemas import QueryFen, QueryTrl, RegionPrefix
from services.marketplace.models.listings import Confidentiality, TransferMode

SearchText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _SearchParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: SearchText = Field(default="", description="检索词（中文、英文或专利号）")
    field_code: Annotated[str, StringConstraints(max_length=40)] | None = None
    industry_code: Annotated[str, StringConstraints(max_length=40)] | None = None
    region: RegionPrefix | None = None
    owner_kind: Literal["university", "research_institute", "enterprise", "government"] | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 20
    offset: Annotated[int, Field(ge=0, le=1000)] = 0


class AchievementSearchParams(_SearchParams):
    trl_min: QueryTrl | None = None
    trl_max: QueryTrl | None = None
    price_min_fen: QueryFen | None = None
    price_max_fen: QueryFen | None = None
    transfer_mode: Annotated[list[TransferMode], Field(max_length=6)] = []
    facets: Annotated[
        list[Literal["field_code", "industry_code", "transfer_modes", "owner_kind", "trl", "price_mode"]],
        Field(max_length=6),
    ] = []
    sort: Literal["relevance", "-published_at", "trl", "-trl", "price_fen", "-price_fen"] = "relevance"


class DemandSearchParams(_SearchParams):
    trl_min: QueryTrl | None = None
    budget_min_fen: QueryFen | None = None
    budget_max_fen: QueryFen | None = None
    cooperation_mode: Annotated[list[TransferMode], Field(max_length=6)] = []
    confidentiality: Confidentiality | None = None
    facets: Annotated[
        list[Literal["field_code", "industry_code", "cooperation_modes", "confidentiality", "owner_kind"]],
        Field(max_length=5),
    ] = []
    sort: Literal["relevance", "-published_at", "deadline", "-budget_max_fen"] = "relevance"


class SearchHitRead(BaseModel):
    document: dict[str, Any] = Field(description="检索文档（公开字段）")
    score: float
    highlights: dict[str, str]


class SearchResultRead(BaseModel):
    hits: list[SearchHitRead]
    total: int
    facets: dict[str, dict[str, int]]


class ReasonRead(BaseModel):
    code: str
    text: str
    weight: float


class MatchRead(BaseModel):
    document: dict[str, Any]
    score: float
    reasons: list[ReasonRead]


class MatchesRead(BaseModel):
    matches: list[MatchRead]
