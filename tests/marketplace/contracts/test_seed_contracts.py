from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from services.marketplace.db import unit_of_work
from services.marketplace.models import Contract, ContractAmendment, OutboxEvent
from services.marketplace.seed import seed_demo_data
from services.marketplace.seed_contracts import seed_demo_contracts


async def test_demo_contracts_are_registered_once_with_a_broker_and_an_amendment(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with unit_of_work(app.state.sessionmaker) as session:
        await seed_demo_data(session)
        assert await seed_demo_contracts(session) == 4
    async with unit_of_work(app.state.sessionmaker) as session:
        assert await seed_demo_contracts(session) == 0
        registered = list(await session.scalars(select(Contract).where(Contract.registered_at.is_not(None))))
        amendments = await session.scalar(select(func.count()).select_from(ContractAmendment))
        topics = list(await session.scalars(select(OutboxEvent.topic).where(OutboxEvent.topic.like("contract.%"))))
    assert len(registered) == 4
    assert len({contract.registration_number for contract in registered}) == 4
    assert amendments == 1
    assert (topics.count("contract.registered"), topics.count("contract.amended")) == (4, 1)
    brokered = [contract for contract in registered if contract.broker_user_id is not None]
    assert len(brokered) == 1
    assert brokered[0].local_conversion_academic
    record = (await client.get(f"/v1/brokers/{brokered[0].broker_user_id}")).json()["record"]
    assert record["contracts_registered"] == 1
