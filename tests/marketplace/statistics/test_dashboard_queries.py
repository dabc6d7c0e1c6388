"""What keeps the dashboard fast: each figure read once per request, achievements counted by date range."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from services.marketplace.statistics import queries
from tests.marketplace.statistics.test_definitions import amendment, party, record, registration
from tests.support import Actors


async def test_achievements_count_by_registration_year_in_shanghai(app: FastAPI) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    late = registration(party("340104"), party("340111"), date(2025, 12, 31), achievement_id=first)
    await record(
        app,
        late,
        registration(party("340104"), party("310104"), date(2026, 1, 1), achievement_id=first),
        registration(party("320102"), party("340111"), date(2026, 12, 31), achievement_id=second),
        registration(party("340104"), party("340111"), date(2027, 1, 1), achievement_id=str(uuid.uuid4())),
        amendment(late, date(2026, 3, 1), -1),  # an amendment converts nothing new
    )
    async with app.state.sessionmaker() as session:
        assert await queries.achievements_converted(session, 2026, 2026) == 2
        assert await queries.achievements_converted(session, 2025, 2026) == 2
        assert await queries.achievements_converted(session, 2025, 2025) == 1
        assert await queries.achievements_converted(session, 2021, 2027) == 3
        assert await queries.achievements_converted(session, 2026, 2025) == 0


async def test_the_dashboard_reads_each_figure_once(app: FastAPI, client: httpx.AsyncClient, actors: Actors) -> None:
    await record(app, registration(party("340104"), party("440305"), date(2026, 5, 1), 10_000))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = await client.get(
            "/v1/statistics/dashboard", params={"year": 2026}, headers=actors["official"].headers
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    # three region-years (this, last and the year before for the growth), two achievement counts, the indicators
    # with their targets and values: not one query per indicator
    rollup_reads = [statement for statement in statements if "FROM stat_rollups" in statement]
    assert len(rollup_reads) == 3, statements
    assert len(statements) <= 12, statements
