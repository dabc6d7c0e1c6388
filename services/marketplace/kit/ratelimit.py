"""Fixed-window rate limits kept in PostgreSQL, so that every API process shares them.

Counters are written in their own short transaction: a failed login rolls back the request's
unit of work but must still count.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.marketplace.kit.errors import TooManyRequests
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import RateLimitCounter

_HIT = text(
    """
    INSERT INTO rate_limit_counters (bucket, window_start, hits) VALUES (:bucket, :window_start, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counters.hits + 1
    RETURNING hits
    """
)


def window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)


class RateLimiter:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def hit(self, buckets: dict[str, int], window_seconds: int) -> None:
        """Count one hit in each bucket (name → limit); raise 429 when any bucket is over its limit."""
        now = utcnow()
        start = window_start(now, window_seconds)
        over = False
        async with self.engine.begin() as connection:
            for bucket, limit in sorted(buckets.items()):
                hits = (await connection.execute(_HIT, {"bucket": bucket, "window_start": start})).scalar_one()
                over = over or hits > limit
        if over:
            retry_after = math.ceil((start + timedelta(seconds=window_seconds) - now).total_seconds())
            raise TooManyRequests(max(retry_after, 1))

    async def reset(self, bucket: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(delete(RateLimitCounter).where(RateLimitCounter.bucket == bucket))

    async def purge_expired(self, older_than: datetime) -> int:
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(RateLimitCounter).where(RateLimitCounter.window_start < older_than)
            )
            return int(result.rowcount or 0)
