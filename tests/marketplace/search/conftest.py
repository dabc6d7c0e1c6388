from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI

from services.marketplace.outbox.relay import OutboxRelay
from services.marketplace.worker import build_handler_registry

Relay = Callable[[], Awaitable[int]]


@pytest.fixture
def relay(app: FastAPI) -> Relay:
    """Run the worker's outbox handlers (index sync, 精准推送) over everything pending."""

    async def run() -> int:
        outbox = OutboxRelay(
            app.state.sessionmaker, build_handler_registry(app.state.search), max_attempts=3, backoff_base_seconds=1
        )
        return await outbox.relay_batch(1000)

    return run
