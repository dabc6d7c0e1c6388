"""Request-scoped dependencies: settings, the unit of work, the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace.settings import Settings


async def get_settings(request: Request) -> Settings:
    # async so that FastAPI does not hand this trivial lookup to the thread pool on every request
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request, committed after the endpoint returns without error.

    Scoped to the endpoint function (``SessionDep``), so the commit happens before the response is sent: a
    commit that fails answers with its error instead of following a 2xx the client already took as done.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
