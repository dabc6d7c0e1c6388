"""Reliability: random sequences of money operations, concurrency on one account, a worker killed mid-way."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.marketplace.db import unit_of_work
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Problem
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import LedgerEntry, LedgerPendingEntry, Organisation, Payment, StripeInboxEvent
from services.marketplace.models.settlement import AccountKind, PaymentStatus
from services.marketplace.settings import Settings
from services.marketplace.settlement import escrow, ledger, service
from services.marketplace.settlement.schemas import RefundCreate
from services.marketplace.settlement.stripe_events import process_inbox_event, store_event
from services.marketplace.settlement.tasks import expire_pending_entries
from tests.marketplace.settlement import stripe_support
from tests.marketplace.settlement.conftest import STRIPE_WEBHOOK_SECRET
from tests.support import Actors, valid_uscc

T = TypeVar("T")


@pytest.fixture
def settings_with_webhook(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        run_worker_in_process=False,
        log_json=False,
        log_level="WARNING",
        stripe_webhook_secret=SecretStr(STRIPE_WEBHOOK_SECRET),
    )


async def _organisation(session: AsyncSession) -> uuid.UUID:
    organisation = Organisation(
        kind="enterprise", name="随机测试机构", uscc=valid_uscc(), region_code="340104", verification_status="verified"
    )
    session.add(organisation)
    await session.flush()
    return organisation.id


async def _check_ledger(session: AsyncSession) -> None:
    """The invariants: entries balance, balances equal postings, nothing negative, pending resolved once."""
    report = await ledger.reconcile(session)
    assert report.consistent, report
    negative = await session.scalar(
        text("SELECT count(*) FROM ledger_balances WHERE non_negative AND (balance_fen < held_fen OR held_fen < 0)")
    )
    assert negative == 0
    resolution = await session.execute(
        text(
            "SELECT p.id, p.status, count(e.id) FROM ledger_pending_entries p "
            "LEFT JOIN ledger_entries e ON e.reference = 'pending:' || p.id "
            "GROUP BY p.id, p.status HAVING count(e.id) <> (CASE WHEN p.status = 'posted' THEN 1 ELSE 0 END)"
        )
    )
    assert resolution.all() == []


@dataclass
class Model:
    """What the escrow of each organisation should hold, as the rules say."""

    escrow: dict[uuid.UUID, int] = field(default_factory=dict)
    held: dict[uuid.UUID, int] = field(default_factory=dict)
    pending: dict[uuid.UUID, tuple[uuid.UUID, int]] = field(default_factory=dict)  # live reserves
    captured: dict[uuid.UUID, int] = field(default_factory=dict)  # payment → refunds posted
    known_refunds: dict[uuid.UUID, int] = field(default_factory=dict)  # payment → refunds reported


def machine_factory(
    loop: asyncio.AbstractEventLoop, sessionmaker: async_sessionmaker[AsyncSession], finance: Principal
) -> type[RuleBasedStateMachine]:
    def run(coroutine: Awaitable[T]) -> T:
        return loop.run_until_complete(coroutine)

    async def in_unit(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with unit_of_work(sessionmaker) as session:
            return await work(session)

    class LedgerMachine(RuleBasedStateMachine):
        payments = Bundle("payments")
        reserves = Bundle("reserves")
        events = Bundle("events")

        def __init__(self) -> None:
            super().__init__()
            self.model = Model()
            self.organisations = [run(in_unit(_organisation)) for _ in range(2)]
            self.payees = run(in_unit(_organisation))
            for organisation in self.organisations:
                self.model.escrow[organisation] = 0
                self.model.held[organisation] = 0

        def _available(self, organisation: uuid.UUID) -> int:
            return self.model.escrow[organisation] - self.model.held[organisation]

        async def _new_payment(self, session: AsyncSession, organisation: uuid.UUID, amount: int, rail: str) -> Payment:
            payment = Payment(
                rail=rail,
                purpose="escrow_deposit",
                status=PaymentStatus.pending.value,
                payer_organisation_id=organisation,
                amount_fen=amount,
                bank_reference=f"R{uuid.uuid4().hex[:20].upper()}" if rail == "bank_transfer" else None,
                stripe_payment_intent_id=f"pi_{uuid.uuid4().hex[:20]}" if rail == "stripe" else None,
            )
            session.add(payment)
            await session.flush()
            return payment

        @rule(target=payments, index=st.integers(0, 1), amount=st.integers(1, 5_000))
        def bank_deposit(self, index: int, amount: int) -> uuid.UUID:
            organisation = self.organisations[index]

            async def work(session: AsyncSession) -> uuid.UUID:
                payment = await self._new_payment(session, organisation, amount, "bank_transfer")
                await service.capture(session, None, payment, via="finance")
                return payment.id

            payment_id = run(in_unit(work))
            self.model.escrow[organisation] += amount
            self.model.captured[payment_id] = 0
            return payment_id

        @rule(target=events, index=st.integers(0, 1), amount=st.integers(1, 5_000))
        def card_payment(self, index: int, amount: int) -> dict[str, Any]:
            organisation = self.organisations[index]

            async def work(session: AsyncSession) -> Payment:
                return await self._new_payment(session, organisation, amount, "stripe")

            payment = run(in_unit(work))
            return {"success": stripe_support.intent_succeeded(payment), "payment": payment}

        def _deliver(self, event: dict[str, Any]) -> None:
            async def store(session: AsyncSession) -> bool:
                return await store_event(session, event)

            async def process(session: AsyncSession) -> str | None:
                return await process_inbox_event(session, event["id"])

            run(in_unit(store))
            run(in_unit(process))

        def _apply_refunds(self, payment: Payment) -> None:
            """Refunds known for a captured payment are posted, from escrow while it has them available."""
            if payment.id not in self.model.captured:
                return
            delta = self.model.known_refunds.get(payment.id, 0) - self.model.captured[payment.id]
            if delta > 0:
                if self._available(payment.payer_organisation_id) >= delta:
                    self.model.escrow[payment.payer_organisation_id] -= delta
                self.model.captured[payment.id] += delta

        @rule(card=events)
        def stripe_success(self, card: dict[str, Any]) -> None:
            """Delivered, or delivered again: Stripe retries."""
            payment: Payment = card["payment"]
            self._deliver(card["success"])
            if payment.id not in self.model.captured:
                self.model.escrow[payment.payer_organisation_id] += payment.amount_fen
                self.model.captured[payment.id] = 0
            self._apply_refunds(payment)

        @rule(card=events, fraction=st.integers(1, 100))
        def stripe_refund(self, card: dict[str, Any], fraction: int) -> None:
            """A refund event, possibly before the success event (order-independent)."""
            payment: Payment = card["payment"]
            refunded = max(self.model.known_refunds.get(payment.id, 0), payment.amount_fen * fraction // 100)
            if refunded == 0:
                return
            self._deliver(stripe_support.charge_refunded(payment, [refunded]))
            self.model.known_refunds[payment.id] = refunded
            self._apply_refunds(payment)

        @rule(payment_id=payments, amount=st.integers(1, 5_000))
        def bank_refund(self, payment_id: uuid.UUID, amount: int) -> None:
            async def work(session: AsyncSession) -> None:
                data = RefundCreate(amount_fen=amount, reason="测试", bank_reference=f"RF{uuid.uuid4().hex[:12]}")
                await service.request_refund(session, finance, Settings(), payment_id, data)

            async def payment_of(session: AsyncSession) -> Payment | None:
                return await session.get(Payment, payment_id)

            payment = run(in_unit(payment_of))
            assert payment is not None
            try:
                run(in_unit(work))
            except Problem:
                assert (
                    amount > payment.amount_fen - payment.refunded_fen
                    or self._available(payment.payer_organisation_id) < amount
                )
                return
            self.model.escrow[payment.payer_organisation_id] -= amount

        @rule(target=reserves, index=st.integers(0, 1), amount=st.integers(1, 5_000), expired=st.booleans())
        def reserve(self, index: int, amount: int, expired: bool) -> uuid.UUID | None:
            organisation = self.organisations[index]

            async def work(session: AsyncSession) -> uuid.UUID:
                pending = await escrow.reserve_escrow(
                    session,
                    organisation_id=organisation,
                    payee_organisation_id=self.payees,
                    amount_fen=amount,
                    reference=f"reserve:{uuid.uuid4()}",
                    expires_at=utcnow() - timedelta(seconds=1) if expired else None,
                )
                return pending.id

            try:
                pending_id = run(in_unit(work))
            except ledger.InsufficientFunds:
                assert self._available(organisation) < amount
                return None
            assert self._available(organisation) >= amount
            self.model.held[organisation] += amount
            self.model.pending[pending_id] = (organisation, amount)
            return pending_id

        def _resolve(self, pending_id: uuid.UUID | None, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
            if pending_id is None:
                return None
            try:
                return run(in_unit(work))
            except Problem:
                assert pending_id not in self.model.pending  # only a resolved entry refuses
                return None

        @rule(target=reserves, pending_id=reserves, percent=st.integers(1, 100), carry=st.booleans())
        def post(self, pending_id: uuid.UUID | None, percent: int, carry: bool) -> uuid.UUID | None:
            live = self.model.pending.get(pending_id) if pending_id else None
            amount = max(1, live[1] * percent // 100) if live else 1

            async def work(session: AsyncSession) -> ledger.Resolution:
                assert pending_id is not None
                return await escrow.post_escrow(
                    session, pending_id=pending_id, amount_fen=amount, carry_remainder=carry
                )

            resolution = self._resolve(pending_id, work)
            if resolution is None or live is None:
                return None
            organisation, held = live
            del self.model.pending[pending_id]  # type: ignore[arg-type]
            self.model.held[organisation] -= held
            self.model.escrow[organisation] -= amount
            if resolution.successor is not None:
                self.model.held[organisation] += held - amount
                self.model.pending[resolution.successor.id] = (organisation, held - amount)
                return resolution.successor.id  # type: ignore[no-any-return]
            return None

        @rule(pending_id=reserves)
        def void(self, pending_id: uuid.UUID | None) -> None:
            async def work(session: AsyncSession) -> ledger.Resolution:
                assert pending_id is not None
                return await escrow.void_escrow(session, pending_id=pending_id)

            if self._resolve(pending_id, work) is not None and pending_id in self.model.pending:
                organisation, held = self.model.pending.pop(pending_id)
                self.model.held[organisation] -= held

        @rule()
        def expire(self) -> None:
            run(expire_pending_entries(sessionmaker))

            async def statuses(session: AsyncSession) -> dict[uuid.UUID, str]:
                rows = await session.execute(
                    select(LedgerPendingEntry.id, LedgerPendingEntry.status).where(
                        LedgerPendingEntry.id.in_(list(self.model.pending))
                    )
                )
                return {row[0]: row[1] for row in rows}

            for pending_id, status in run(in_unit(statuses)).items():
                if status == "expired":
                    organisation, held = self.model.pending.pop(pending_id)
                    self.model.held[organisation] -= held

        @invariant()
        def the_ledger_is_sound_and_matches_the_model(self) -> None:
            async def check(session: AsyncSession) -> dict[uuid.UUID, ledger.Balance]:
                await _check_ledger(session)
                result = {}
                for organisation in self.organisations:
                    account = await ledger.account(session, AccountKind.escrow, organisation)
                    result[organisation] = await ledger.balance(session, account)
                return result

            for organisation, balance in run(in_unit(check)).items():
                assert balance.balance_fen == self.model.escrow[organisation]
                assert balance.held_fen == self.model.held[organisation]

    return LedgerMachine


def test_random_money_sequences_keep_the_ledger_sound(database_url: str, actors: Actors) -> None:
    """Payments, reserves, posts, voids, expiries, refunds and replays in random order (hypothesis)."""
    platform_admin = actors["platform_admin"]
    finance = Principal(
        organisation_id=platform_admin.organisation_id,
        roles=frozenset(platform_admin.roles),
        user_id=platform_admin.user_id,
    )
    loop = asyncio.new_event_loop()
    engine = create_async_engine(database_url, pool_size=2)
    try:
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        machine = machine_factory(loop, sessionmaker, finance)
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=30,
                stateful_step_count=20,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


async def test_a_hundred_concurrent_debits_never_overdraw_one_escrow(database_url: str, actors: Actors) -> None:
    engine = create_async_engine(database_url, pool_size=40, max_overflow=0)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    buyer, seller = actors.organisations["b"], actors.organisations["a"]
    async with unit_of_work(sessionmaker) as session:
        bank = await ledger.account(session, AccountKind.bank_clearing)
        funded = await ledger.account(session, AccountKind.escrow, buyer)
        await ledger.post_entry(
            session, reference="fund", kind="test", legs=[ledger.debit(bank, 50_000), ledger.credit(funded, 50_000)]
        )

    async def debit(n: int) -> bool:
        try:
            async with unit_of_work(sessionmaker) as session:
                if n % 2:
                    source = await ledger.account(session, AccountKind.escrow, buyer)
                    target = await ledger.account(session, AccountKind.payable, seller)
                    await ledger.post_entry(
                        session,
                        reference=f"debit-{n}",
                        kind="test",
                        legs=[ledger.debit(source, 1_000), ledger.credit(target, 1_000)],
                    )
                else:
                    pending = await escrow.reserve_escrow(
                        session,
                        organisation_id=buyer,
                        payee_organisation_id=seller,
                        amount_fen=1_000,
                        reference=f"reserve-{n}",
                    )
                    await escrow.post_escrow(session, pending_id=pending.id)
        except ledger.InsufficientFunds:
            return False
        return True

    outcomes = await asyncio.gather(*(debit(n) for n in range(100)))
    assert sum(outcomes) == 50
    async with sessionmaker() as session:
        account = await ledger.account(session, AccountKind.escrow, buyer)
        assert await ledger.balance(session, account) == ledger.Balance(0, 0)
        await _check_ledger(session)
    await engine.dispose()


async def _processed(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(StripeInboxEvent).where(StripeInboxEvent.processed_at.is_not(None))
        )
    return int(count or 0)


async def _wait_for_processed(sessionmaker: async_sessionmaker[AsyncSession], count: int, interval: float) -> None:
    deadline = time.monotonic() + 60
    for _ in range(int(60 / interval)):
        if await _processed(sessionmaker) >= count or time.monotonic() > deadline:
            return
        await asyncio.sleep(interval)


async def test_a_worker_killed_mid_way_loses_and_duplicates_nothing(
    database_url: str, actors: Actors, app: FastAPI, settings_with_webhook: Settings
) -> None:
    app.state.settings = settings_with_webhook
    total = 120
    async with unit_of_work(app.state.sessionmaker) as session:
        payments = []
        for n in range(total):
            payment = Payment(
                rail="stripe",
                purpose="escrow_deposit",
                status="pending",
                payer_organisation_id=actors.organisations["b"],
                amount_fen=100 + n,
                stripe_payment_intent_id=f"pi_kill_{n}",
            )
            session.add(payment)
            payments.append(payment)
        await session.flush()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for payment in payments:
            payload, headers = stripe_support.signed(stripe_support.intent_succeeded(payment), STRIPE_WEBHOOK_SECRET)
            response = await client.post("/v1/settlement/stripe/webhook", content=payload, headers=headers)
            assert response.status_code == 200

    environment = {
        **os.environ,
        "TECHMARKET_DATABASE_URL": database_url,
        "TECHMARKET_ENVIRONMENT": "test",
        "TECHMARKET_LOG_LEVEL": "ERROR",
        "TECHMARKET_OUTBOX_POLL_INTERVAL_SECONDS": "0.05",
    }
    worker = str(Path(sys.executable).parent / "techmarket")

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            worker, "worker", env=environment, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )

    first = await start()
    await _wait_for_processed(app.state.sessionmaker, 5, interval=0.01)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    at_kill = await _processed(app.state.sessionmaker)
    assert 0 < at_kill < total, at_kill

    second = await start()
    await _wait_for_processed(app.state.sessionmaker, total, interval=0.05)
    second.send_signal(signal.SIGTERM)
    await second.wait()

    async with app.state.sessionmaker() as session:
        assert await _processed(app.state.sessionmaker) == total
        captured = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.status == PaymentStatus.succeeded.value)
        )
        assert captured == total
        captures = await session.scalar(select(func.count()).where(LedgerEntry.kind == "payment_escrow_deposit"))
        assert captures == total
        account = await ledger.account(session, AccountKind.escrow, actors.organisations["b"])
        assert (await ledger.balance(session, account)).balance_fen == sum(100 + n for n in range(total))
        await _check_ledger(session)
