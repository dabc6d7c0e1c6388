from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import OutboxEvent
from services.marketplace.models.platform import OutboxStatus


def dead_letters_statement() -> Select[OutboxEvent]:
    return select(OutboxEvent).where(OutboxEvent.status == OutboxStatus.dead.value)


async def replay_dead_letters(session: AsyncSession, event_ids: Sequence[int] | None) -> list[int]:
    """Return dead events (all when ``event_ids`` is None) to the queue; handlers already done stay done."""
    statement = (
        update(OutboxEvent)
        .where(OutboxEvent.status == OutboxStatus.dead.value)
        .values(status=OutboxStatus.pending.value, attempts=0, available_at=utcnow())
        .returning(OutboxEvent.id)
    )
    if event_ids is not None:
        statement = statement.where(OutboxEvent.id.in_(event_ids))
    return list(await session.scalars(statement))
