"""The ledger's guarantees, including those the database holds on its own (raw SQL cannot break them)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from services.marketplace.db import unit_of_work
from services.marketplace.kit.errors import IllegalTransition
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models.settlement import AccountKind
from services.marketplace.settlement import ledger
from services.marketplace.settlement.tasks import expire_pending_entries
from tests.support import Actors


@pytest.fixture
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


async def _fund_escrow(session: AsyncSession, organisation_id: uuid.UUID, amount: int) -> ledger.LedgerAccount:
    escrow = await ledger.account(session, AccountKind.escrow, organisation_id)
    bank = await ledger.account(session, AccountKind.bank_clearing)
    await ledger.post_entry(
        session,
        reference=f"test-deposit:{uuid.uuid4()}",
        kind="test",
        legs=[ledger.debit(bank, amount), ledger.credit(escrow, amount)],
    )
    return escrow


async def _raw_entry(engine: AsyncEngine, postings: str, accounts: dict[str, uuid.UUID]) -> None:
    """An entry written with plain SQL, bypassing the ledger module."""
    async with engine.begin() as connection:
        entry = await connection.scalar(
            text("INSERT INTO ledger_entries (reference, kind) VALUES (:ref, 'raw') RETURNING id"),
            {"ref": uuid.uuid4().hex},
        )
        await connection.execute(text(postings), {"entry": entry, **accounts})


async def test_the_database_refuses_an_entry_that_does_not_balance(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    engine = create_async_engine(database_url)
    async with unit_of_work(sessionmaker) as session:
        escrow = await ledger.account(session, AccountKind.escrow, actors.organisations["b"])
        bank = await ledger.account(session, AccountKind.bank_clearing)
    statements = [
        # unbalanced
        "INSERT INTO ledger_postings (entry_id, account_id, currency, amount_fen) "
        "VALUES (:entry, :bank, 'CNY', 100), (:entry, :escrow, 'CNY', -99)",
        # a single leg
        "INSERT INTO ledger_postings (entry_id, account_id, currency, amount_fen) VALUES (:entry, :bank, 'CNY', 5)",
    ]
    accounts = {"bank": bank.id, "escrow": escrow.id}
    for statement in statements:
        with pytest.raises(DBAPIError, match=r"does not balance|two or more"):
            await _raw_entry(engine, statement, accounts)
    with pytest.raises(DBAPIError, match="fk_ledger_postings_account_currency"):
        await _raw_entry(
            engine,
            "INSERT INTO ledger_postings (entry_id, account_id, currency, amount_fen) "
            "VALUES (:entry, :bank, 'USD', 100), (:entry, :escrow, 'USD', -100)",
            accounts,
        )
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM ledger_entries")) == 0
    await engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount_fen = amount_fen * 2",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_entries SET memo = 'tampered'",
        "DELETE FROM ledger_entries",
        "TRUNCATE ledger_postings",
    ],
)
async def test_entries_and_postings_are_append_only(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], actors: Actors, statement: str
) -> None:
    async with unit_of_work(sessionmaker) as session:
        await _fund_escrow(session, actors.organisations["b"], 1000)
    engine = create_async_engine(database_url)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    await engine.dispose()


async def test_the_database_keeps_escrow_from_going_negative(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)
    engine = create_async_engine(database_url)
    with pytest.raises(DBAPIError, match="ck_ledger_balances_balance_covers_holds"):
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE ledger_balances SET balance_fen = -1 WHERE account_id = :id"), {"id": escrow.id}
            )
    await engine.dispose()
    async with unit_of_work(sessionmaker) as session:
        payable = await ledger.account(session, AccountKind.payable, actors.organisations["a"])
        with pytest.raises(ledger.InsufficientFunds):
            await ledger.post_entry(
                session,
                reference="overdraw",
                kind="test",
                legs=[ledger.debit(escrow, 1001), ledger.credit(payable, 1001)],
            )


async def test_a_reference_posts_once(sessionmaker: async_sessionmaker[AsyncSession], actors: Actors) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)
        payable = await ledger.account(session, AccountKind.payable, actors.organisations["a"])
        legs = [ledger.debit(escrow, 10), ledger.credit(payable, 10)]
        await ledger.post_entry(session, reference="once", kind="test", legs=legs)
        with pytest.raises(ledger.AlreadyPosted):
            await ledger.post_entry(session, reference="once", kind="test", legs=legs)
        with pytest.raises(ledger.UnbalancedEntry):
            await ledger.post_entry(session, reference="bad", kind="test", legs=[ledger.debit(escrow, 1)])


async def test_an_account_created_in_a_rolled_back_transaction_is_not_reused(
    sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    organisation = actors.organisations["d"]
    async with sessionmaker() as session:
        lost = (await ledger.account(session, AccountKind.escrow, organisation)).id
        await session.rollback()
        kept = await ledger.account(session, AccountKind.escrow, organisation)
        assert kept.id != lost
        await _fund_escrow(session, organisation, 5)
        await session.commit()
    async with sessionmaker() as session:
        again = await ledger.account(session, AccountKind.escrow, organisation)
        assert again.id == kept.id
        assert (await ledger.balance(session, again)).balance_fen == 5


async def test_a_correction_is_a_reversing_entry(
    sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)
        payable = await ledger.account(session, AccountKind.payable, actors.organisations["a"])
        wrong = await ledger.post_entry(
            session, reference="wrong", kind="test", legs=[ledger.debit(escrow, 300), ledger.credit(payable, 300)]
        )
        reversal = await ledger.reverse_entry(session, wrong, reference="wrong:reversed", memo="金额录错")
        assert reversal.reverses_entry_id == wrong.id
        assert await ledger.balance(session, escrow) == ledger.Balance(1000, 0)
        assert await ledger.balance(session, payable) == ledger.Balance(0, 0)
        with pytest.raises(ledger.AlreadyPosted):
            await ledger.reverse_entry(session, wrong, reference="wrong:reversed", memo="again")


async def test_a_pending_entry_holds_then_posts_part_and_carries_the_rest(
    sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)
        payable = await ledger.account(session, AccountKind.payable, actors.organisations["a"])
        pending = await ledger.create_pending(
            session, reference="reward", purpose="test", debit_account=escrow, credit_account=payable, amount_fen=800
        )
        assert await ledger.balance(session, escrow) == ledger.Balance(1000, 800)
        with pytest.raises(ledger.InsufficientFunds):
            await ledger.create_pending(session, reference="more", purpose="test", debit_account=escrow, amount_fen=201)
        first = await ledger.post_pending(session, pending, amount_fen=300, carry_remainder=True)
        assert first.successor is not None
        assert first.successor.amount_fen == 500
        assert await ledger.balance(session, escrow) == ledger.Balance(700, 500)
        assert (await ledger.balance(session, payable)).balance_fen == 300
        with pytest.raises(IllegalTransition):
            await ledger.post_pending(session, pending)
        with pytest.raises(IllegalTransition):
            await ledger.void_pending(session, pending)
        await ledger.void_pending(session, first.successor)
        assert await ledger.balance(session, escrow) == ledger.Balance(700, 0)


async def test_the_database_lets_a_pending_entry_resolve_only_once(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)
        pending = await ledger.create_pending(
            session, reference="once", purpose="test", debit_account=escrow, amount_fen=100
        )
        await ledger.void_pending(session, pending)
    engine = create_async_engine(database_url)
    for statement in (
        "UPDATE ledger_pending_entries SET status = 'pending', resolved_at = NULL",
        "DELETE FROM ledger_pending_entries",
    ):
        with pytest.raises(DBAPIError, match=r"resolves at most once|DELETE refused"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))
    await engine.dispose()


async def test_expired_reserves_release_their_hold(
    sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)
        await ledger.create_pending(
            session,
            reference="stale",
            purpose="test",
            debit_account=escrow,
            amount_fen=600,
            expires_at=utcnow() - timedelta(seconds=1),
        )
        await ledger.create_pending(
            session,
            reference="fresh",
            purpose="test",
            debit_account=escrow,
            amount_fen=100,
            expires_at=utcnow() + timedelta(days=1),
        )
    assert await expire_pending_entries(sessionmaker) == 1
    assert await expire_pending_entries(sessionmaker) == 0
    async with sessionmaker() as session:
        assert await ledger.balance(session, escrow) == ledger.Balance(1000, 100)
        statuses = dict((await session.execute(text("SELECT reference, status FROM ledger_pending_entries"))).all())
    assert statuses == {"stale": "expired", "fresh": "pending"}


async def test_hot_platform_accounts_spread_over_rows_and_still_add_up(
    database_url: str, actors: Actors, app: FastAPI
) -> None:
    """Concurrent credits of the fee account from many connections land on different balance rows."""
    engine = create_async_engine(database_url, pool_size=8)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def settle(n: int) -> None:
        async with unit_of_work(sessionmaker) as session:
            bank = await ledger.account(session, AccountKind.bank_clearing)
            fees = await ledger.account(session, AccountKind.fee_income)
            await ledger.post_entry(
                session, reference=f"fee-{n}", kind="test", legs=[ledger.debit(bank, n), ledger.credit(fees, n)]
            )

    await asyncio.gather(*(settle(n) for n in range(1, 41)))
    async with sessionmaker() as session:
        fees = await ledger.account(session, AccountKind.fee_income)
        assert (await ledger.balance(session, fees)).balance_fen == sum(range(1, 41))
        rows = await session.scalar(
            text("SELECT count(*) FROM ledger_balances WHERE account_id = :id AND balance_fen <> 0"), {"id": fees.id}
        )
        assert rows is not None
        assert rows > 1
        report = await ledger.reconcile(session)
    assert report.consistent, report
    await engine.dispose()


async def test_reconcile_finds_a_tampered_balance_and_the_cli_reports_it(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], actors: Actors
) -> None:
    async with unit_of_work(sessionmaker) as session:
        escrow = await _fund_escrow(session, actors.organisations["b"], 1000)

    async def cli() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "techmarket"),
            "ledger",
            "reconcile",
            env={**os.environ, "TECHMARKET_DATABASE_URL": database_url, "TECHMARKET_LOG_LEVEL": "WARNING"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode is not None
        return process.returncode, output.decode()

    async with sessionmaker() as session:
        assert (await ledger.reconcile(session)).consistent
    async with unit_of_work(sessionmaker) as session:
        await session.execute(
            text("UPDATE ledger_balances SET balance_fen = balance_fen + 7 WHERE account_id = :id"), {"id": escrow.id}
        )
        report = await ledger.reconcile(session)
    assert [(d.account_id, d.from_postings_fen, d.balance_fen) for d in report.differences] == [(escrow.id, 1000, 1007)]
    code, output = await cli()
    assert code == 1
    assert "balance differs" in output
