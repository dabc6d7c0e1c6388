"""The double-entry ledger: accounts, journal entries, pending entries (reserves) and reconciliation.

Postings are signed fen, debit positive; an entry's postings sum to zero per currency. Each account keeps its
balance on its normal side (debits minus credits for asset accounts, the reverse for liabilities and income)
in balance rows written in the same transaction as the postings.

Hot accounts. Every milestone settlement credits the platform's fee-income and commissions accounts and moves
money through its clearing accounts; one balance row per account would serialise all settlements on its row
lock. Platform accounts therefore spread their balance over ``PLATFORM_SHARDS`` rows: an increase (and any
movement of an account that may go negative) updates the row of the caller's database backend
(``pg_backend_pid() % shards``), so concurrent transactions on different connections wait for each other only
when their backends fall on the same row.
A decrease of a non-negative sharded account locks all its rows in order and takes from them greedily; each
row is itself non-negative by CHECK, so the sum is too. Organisation accounts (escrow, payable) keep one row:
their non-negative guarantee and their holds are checked on that row under its lock, and they are not hot.
The balance is always the sum of the rows (no rollup job, no lag); ``reconcile`` recomputes it from postings.

Pending entries hold an amount on a non-negative account (``held_fen``) without posting it: posting (all or
part, optionally carrying the rest into a successor), voiding or expiring releases the hold exactly once.
Services call these functions inside their unit of work; nothing here commits.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from services.marketplace.kit.errors import Conflict, IllegalTransition
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import LedgerAccount, LedgerEntry, LedgerPendingEntry, LedgerPosting
from services.marketplace.models.settlement import (
    DEBIT_NORMAL_KINDS,
    NON_NEGATIVE_KINDS,
    PLATFORM_KINDS,
    AccountKind,
    NormalSide,
    PendingStatus,
)
from services.marketplace.observability import request_id_var

DEFAULT_CURRENCY = "CNY"
PLATFORM_SHARDS = 16
_ACCOUNT_CACHE = "settlement.accounts"


class InsufficientFunds(Conflict):
    slug = "insufficient-funds"
    title = "账户可用余额不足"


class AlreadyPosted(Conflict):
    slug = "already-posted"
    title = "该业务已记账"


class UnbalancedEntry(ValueError):
    """A programming error: the legs given to ``post_entry`` do not balance."""


@dataclass(frozen=True)
class Leg:
    account: LedgerAccount
    amount_fen: int  # signed: debit positive, credit negative


def debit(account: LedgerAccount, amount_fen: int) -> Leg:
    return Leg(account, amount_fen)


def credit(account: LedgerAccount, amount_fen: int) -> Leg:
    return Leg(account, -amount_fen)


def normal_delta(account: LedgerAccount, signed_fen: int) -> int:
    """How a signed posting moves the account's balance on its normal side."""
    return signed_fen if account.normal_side == NormalSide.debit.value else -signed_fen


# --- accounts ---------------------------------------------------------------------------------------


def _account_values(kind: AccountKind, organisation_id: uuid.UUID | None, currency: str) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "organisation_id": organisation_id,
        "currency": currency,
        "normal_side": (NormalSide.debit if kind in DEBIT_NORMAL_KINDS else NormalSide.credit).value,
        "non_negative": kind in NON_NEGATIVE_KINDS,
        "shards": PLATFORM_SHARDS if kind in PLATFORM_KINDS else 1,
    }


AccountKey = tuple[str, uuid.UUID | None, str]
# Accounts already committed when first read never change and are never deleted, so every session of the
# process may reuse them (keyed by database, so test databases do not mix); accounts a transaction creates stay
# in that session's own cache only, which a rollback clears.
_COMMITTED_ACCOUNTS: OrderedDict[tuple[str, AccountKey], LedgerAccount] = OrderedDict()
_COMMITTED_ACCOUNTS_MAX = 10_000
_ACCOUNT_COLUMNS = ("id", "kind", "organisation_id", "currency", "normal_side", "non_negative", "shards", "created_at")


@event.listens_for(Session, "after_soft_rollback")
def _forget_accounts_created_in_a_rolled_back_transaction(session: Session, previous: SessionTransaction) -> None:
    session.info.pop(_ACCOUNT_CACHE, None)


def _database_of(session: AsyncSession) -> str:
    bind = session.bind
    if bind is None:
        return ""
    return str((bind if isinstance(bind, AsyncEngine) else bind.engine).url)


def _remember_committed(database: str, key: AccountKey, found: LedgerAccount) -> None:
    _COMMITTED_ACCOUNTS[(database, key)] = LedgerAccount(
        **{column: getattr(found, column) for column in _ACCOUNT_COLUMNS}
    )
    _COMMITTED_ACCOUNTS.move_to_end((database, key))
    while len(_COMMITTED_ACCOUNTS) > _COMMITTED_ACCOUNTS_MAX:
        _COMMITTED_ACCOUNTS.popitem(last=False)


async def account(
    session: AsyncSession,
    kind: AccountKind,
    organisation_id: uuid.UUID | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> LedgerAccount:
    """The account of ``kind`` (platform kinds have no organisation), created on first use, race-free."""
    if (kind in PLATFORM_KINDS) != (organisation_id is None):
        raise ValueError(f"{kind.value} accounts {'have no' if kind in PLATFORM_KINDS else 'need an'} owner")
    cache: dict[AccountKey, LedgerAccount] = session.info.setdefault(_ACCOUNT_CACHE, {})
    key = (kind.value, organisation_id, currency)
    database = _database_of(session)
    found = cache.get(key) or _COMMITTED_ACCOUNTS.get((database, key))
    if found is not None:
        return found
    owner = (
        LedgerAccount.organisation_id.is_(None)
        if organisation_id is None
        else LedgerAccount.organisation_id == organisation_id
    )
    statement = select(LedgerAccount).where(LedgerAccount.kind == kind.value, LedgerAccount.currency == currency, owner)
    found = await session.scalar(statement)
    if found is not None:
        _remember_committed(database, key, found)
    else:
        values = _account_values(kind, organisation_id, currency)
        index = ["organisation_id", "kind", "currency"] if organisation_id else ["kind", "currency"]
        where = text("organisation_id IS NOT NULL" if organisation_id else "organisation_id IS NULL")
        created = await session.scalar(
            insert(LedgerAccount)
            .values(**values)
            .on_conflict_do_nothing(index_elements=index, index_where=where)
            .returning(LedgerAccount.id)
        )
        if created is not None:
            await session.execute(
                text(
                    "INSERT INTO ledger_balances (account_id, shard, non_negative) "
                    "SELECT :account_id, shard, :non_negative FROM generate_series(0, :shards - 1) AS shard"
                ),
                {"account_id": created, "non_negative": values["non_negative"], "shards": values["shards"]},
            )
        found = await session.scalar(statement)
    assert found is not None
    cache[key] = found
    return found


@dataclass(frozen=True)
class Balance:
    balance_fen: int
    held_fen: int

    @property
    def available_fen(self) -> int:
        return self.balance_fen - self.held_fen


async def balances(session: AsyncSession, account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Balance]:
    if not account_ids:
        return {}
    rows = await session.execute(
        text(
            "SELECT account_id, sum(balance_fen)::bigint, sum(held_fen)::bigint FROM ledger_balances "
            "WHERE account_id = ANY(:ids) GROUP BY account_id"
        ),
        {"ids": list(account_ids)},
    )
    return {row[0]: Balance(int(row[1]), int(row[2])) for row in rows}


async def balance(session: AsyncSession, account_: LedgerAccount) -> Balance:
    return (await balances(session, [account_.id]))[account_.id]


# --- balance rows -----------------------------------------------------------------------------------


_MOVE = "UPDATE ledger_balances SET balance_fen = balance_fen + :delta WHERE account_id = :account_id AND shard = 0"
_MOVE_GUARDED = _MOVE + " AND balance_fen + :delta >= held_fen"


async def _move_single(session: AsyncSession, account_: LedgerAccount, delta: int) -> None:
    # A decrease of a non-negative account must leave what is held on it: checked here, under the row lock,
    # so an overdraft is a clean problem; the table's CHECK is the backstop.
    guarded = account_.non_negative and delta < 0
    moved = await session.execute(
        text((_MOVE_GUARDED if guarded else _MOVE) + " RETURNING shard"), {"delta": delta, "account_id": account_.id}
    )
    if moved.first() is None:
        raise InsufficientFunds(f"账户 {account_.kind} 可用余额不足", account_id=str(account_.id))


async def _move_sharded(session: AsyncSession, account_: LedgerAccount, delta: int) -> None:
    if delta > 0 or not account_.non_negative:
        await session.execute(
            text(
                "UPDATE ledger_balances SET balance_fen = balance_fen + :delta "
                "WHERE account_id = :account_id AND shard = pg_backend_pid() % :shards"
            ),
            {"delta": delta, "account_id": account_.id, "shards": account_.shards},
        )
        return
    rows = (
        await session.execute(
            text(
                "SELECT shard, balance_fen - held_fen FROM ledger_balances WHERE account_id = :account_id "
                "ORDER BY shard FOR UPDATE"
            ),
            {"account_id": account_.id},
        )
    ).all()
    needed = -delta
    if sum(max(int(available), 0) for _, available in rows) < needed:
        raise InsufficientFunds(f"账户 {account_.kind} 可用余额不足", account_id=str(account_.id))
    takes: list[dict[str, Any]] = []
    for shard, available in rows:
        take = min(max(int(available), 0), needed)
        if take:
            takes.append({"take": take, "account_id": account_.id, "shard": shard})
            needed -= take
        if needed == 0:
            break
    await session.execute(
        text(
            "UPDATE ledger_balances SET balance_fen = balance_fen - :take "
            "WHERE account_id = :account_id AND shard = :shard"
        ),
        takes,
    )


async def _apply(session: AsyncSession, legs: Sequence[Leg]) -> None:
    deltas: dict[uuid.UUID, int] = defaultdict(int)
    accounts: dict[uuid.UUID, LedgerAccount] = {}
    for leg in legs:
        deltas[leg.account.id] += normal_delta(leg.account, leg.amount_fen)
        accounts[leg.account.id] = leg.account
    # One lock order for everybody (account id, then shard) keeps concurrent entries free of deadlocks.
    for account_id in sorted(deltas, key=str):
        delta = deltas[account_id]
        if delta == 0:
            continue
        account_ = accounts[account_id]
        if account_.shards == 1:
            await _move_single(session, account_, delta)
        else:
            await _move_sharded(session, account_, delta)


# --- entries ----------------------------------------------------------------------------------------


def _check_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise UnbalancedEntry("a journal entry needs two or more postings")
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if type(leg.amount_fen) is not int or leg.amount_fen == 0:
            raise UnbalancedEntry(f"a posting is a non-zero int of fen, got {leg.amount_fen!r}")
        totals[leg.account.currency] += leg.amount_fen
    unbalanced = {currency: total for currency, total in totals.items() if total != 0}
    if unbalanced:
        raise UnbalancedEntry(f"postings do not sum to zero: {unbalanced}")


async def post_entry(
    session: AsyncSession,
    *,
    reference: str,
    kind: str,
    legs: Sequence[Leg],
    memo: str | None = None,
    reverses_entry_id: int | None = None,
) -> LedgerEntry:
    """Post a balanced entry once per ``reference``; a second post of the same reference is ``AlreadyPosted``."""
    legs = [leg for leg in legs if leg.amount_fen != 0]
    _check_legs(legs)
    entry: LedgerEntry | None = await session.scalar(
        insert(LedgerEntry)
        .values(
            reference=reference,
            kind=kind,
            memo=memo,
            reverses_entry_id=reverses_entry_id,
            request_id=request_id_var.get(),
        )
        .on_conflict_do_nothing(index_elements=["reference"])
        .returning(LedgerEntry)
    )
    if entry is None:
        raise AlreadyPosted(f"业务 {reference} 已记账", reference=reference)
    await session.execute(
        insert(LedgerPosting).values(
            [
                {
                    "entry_id": entry.id,
                    "account_id": leg.account.id,
                    "currency": leg.account.currency,
                    "amount_fen": leg.amount_fen,
                }
                for leg in legs
            ]
        )
    )
    await _apply(session, legs)
    return entry


async def entry_by_reference(session: AsyncSession, reference: str) -> LedgerEntry | None:
    found: LedgerEntry | None = await session.scalar(select(LedgerEntry).where(LedgerEntry.reference == reference))
    return found


async def reverse_entry(session: AsyncSession, entry: LedgerEntry, *, reference: str, memo: str) -> LedgerEntry:
    """A correction: the same postings with opposite signs, linked to the entry it reverses."""
    rows = await session.execute(
        text("SELECT account_id, amount_fen FROM ledger_postings WHERE entry_id = :entry_id ORDER BY id"),
        {"entry_id": entry.id},
    )
    legs = []
    for account_id, amount in rows.all():
        account_ = await session.get(LedgerAccount, account_id)
        assert account_ is not None
        legs.append(Leg(account_, -int(amount)))
    return await post_entry(
        session, reference=reference, kind="reversal", legs=legs, memo=memo, reverses_entry_id=entry.id
    )


# --- pending entries --------------------------------------------------------------------------------


async def _lock_rows(session: AsyncSession, accounts: Sequence[LedgerAccount | None]) -> None:
    """Lock the single balance rows of ``accounts`` in the one global order (account id) before touching any
    of them: a hold taken first and a posting's legs taken later would otherwise lock out of that order and
    deadlock against a concurrent posting of the same accounts."""
    ids = sorted({account_.id for account_ in accounts if account_ is not None and account_.shards == 1}, key=str)
    if len(ids) > 1:
        await session.execute(
            text(
                "SELECT account_id FROM ledger_balances WHERE account_id = ANY(:ids) AND shard = 0 "
                "ORDER BY account_id FOR UPDATE"
            ),
            {"ids": ids},
        )


async def _hold(session: AsyncSession, account_: LedgerAccount, amount: int) -> None:
    if not account_.non_negative or account_.shards != 1:
        raise ValueError("holds are placed on single-row non-negative accounts (escrow, payables, funds)")
    held = await session.execute(
        text(
            "UPDATE ledger_balances SET held_fen = held_fen + :amount "
            "WHERE account_id = :account_id AND shard = 0 AND balance_fen >= held_fen + :amount RETURNING shard"
        ),
        {"amount": amount, "account_id": account_.id},
    )
    if held.first() is None:
        raise InsufficientFunds(f"账户 {account_.kind} 可用余额不足，无法预留", account_id=str(account_.id))


async def _release(session: AsyncSession, account_id: uuid.UUID, amount: int) -> None:
    await session.execute(
        text("UPDATE ledger_balances SET held_fen = held_fen - :amount WHERE account_id = :account_id AND shard = 0"),
        {"amount": amount, "account_id": account_id},
    )


async def create_pending(
    session: AsyncSession,
    *,
    reference: str,
    purpose: str,
    debit_account: LedgerAccount,
    amount_fen: int,
    credit_account: LedgerAccount | None = None,
    expires_at: datetime | None = None,
    details: dict[str, Any] | None = None,
    predecessor_id: uuid.UUID | None = None,
) -> LedgerPendingEntry:
    """Hold ``amount_fen`` on ``debit_account`` (it must be available) until the entry is resolved."""
    if type(amount_fen) is not int or amount_fen <= 0:
        raise ValueError("a pending entry holds a positive int of fen")
    if credit_account is not None and credit_account.currency != debit_account.currency:
        raise ValueError("a pending entry moves money within one currency")
    existing = await session.scalar(select(LedgerPendingEntry.id).where(LedgerPendingEntry.reference == reference))
    if existing is not None:
        raise AlreadyPosted(f"预留 {reference} 已存在", reference=reference)
    await _lock_rows(session, [debit_account, credit_account])
    await _hold(session, debit_account, amount_fen)
    pending = LedgerPendingEntry(
        reference=reference,
        purpose=purpose,
        debit_account_id=debit_account.id,
        credit_account_id=credit_account.id if credit_account else None,
        currency=debit_account.currency,
        amount_fen=amount_fen,
        expires_at=expires_at,
        details=details or {},
        predecessor_id=predecessor_id,
    )
    session.add(pending)
    await session.flush()
    return pending


async def lock_pending(session: AsyncSession, pending_id: uuid.UUID) -> LedgerPendingEntry | None:
    found: LedgerPendingEntry | None = await session.scalar(
        select(LedgerPendingEntry)
        .where(LedgerPendingEntry.id == pending_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found


def _check_unresolved(pending: LedgerPendingEntry, action: str) -> None:
    if pending.status != PendingStatus.pending.value:
        raise IllegalTransition(
            f"预留已{pending.status}，不能再{action}",
            state=pending.status,
            action=action,
            allowed_actions=[],
        )


@dataclass(frozen=True)
class Resolution:
    pending: LedgerPendingEntry
    entry: LedgerEntry | None = None
    successor: LedgerPendingEntry | None = None


@dataclass(frozen=True)
class CreditSplit:
    account: LedgerAccount
    amount_fen: int


async def _successor(
    session: AsyncSession, pending: LedgerPendingEntry, amount: int, debit_account: LedgerAccount
) -> LedgerPendingEntry:
    credit_account = await session.get(LedgerAccount, pending.credit_account_id) if pending.credit_account_id else None
    return await create_pending(
        session,
        reference=f"rest-of:{pending.id}",
        purpose=pending.purpose,
        debit_account=debit_account,
        credit_account=credit_account,
        amount_fen=amount,
        expires_at=pending.expires_at,
        details=pending.details,
        predecessor_id=pending.id,
    )


async def post_pending(
    session: AsyncSession,
    pending: LedgerPendingEntry,
    *,
    amount_fen: int | None = None,
    credits: Sequence[CreditSplit] | None = None,
    carry_remainder: bool = False,
    kind: str = "pending_post",
    memo: str | None = None,
) -> Resolution:
    """Post ``amount_fen`` (default all) of a locked pending entry; the rest is released, or carried into a
    successor holding it. ``credits`` split the posted amount (default: all to the entry's credit account)."""
    _check_unresolved(pending, "记账")
    amount = pending.amount_fen if amount_fen is None else amount_fen
    if type(amount) is not int or not 0 < amount <= pending.amount_fen:
        raise ValueError(f"a pending entry posts between 1 and {pending.amount_fen} fen, got {amount!r}")
    debit_account = await session.get(LedgerAccount, pending.debit_account_id)
    assert debit_account is not None
    if credits is None:
        if pending.credit_account_id is None:
            raise ValueError("this pending entry has no destination: name the credits")
        destination = await session.get(LedgerAccount, pending.credit_account_id)
        assert destination is not None
        credits = [CreditSplit(destination, amount)]
    if sum(split.amount_fen for split in credits) != amount:
        raise UnbalancedEntry("credits must sum to the posted amount")
    await _lock_rows(session, [debit_account, *(split.account for split in credits)])
    await _release(session, debit_account.id, pending.amount_fen)
    entry = await post_entry(
        session,
        reference=f"pending:{pending.id}",
        kind=kind,
        legs=[debit(debit_account, amount), *(credit(split.account, split.amount_fen) for split in credits)],
        memo=memo,
    )
    pending.status = PendingStatus.posted.value
    pending.posted_fen = amount
    pending.resolved_at = utcnow()
    pending.resolution_entry_id = entry.id
    await session.flush()
    successor = None
    if carry_remainder and amount < pending.amount_fen:
        successor = await _successor(session, pending, pending.amount_fen - amount, debit_account)
    return Resolution(pending, entry, successor)


async def void_pending(
    session: AsyncSession, pending: LedgerPendingEntry, *, expired: bool = False, carry_fen: int = 0
) -> Resolution:
    """Release a locked pending entry's hold (voided, or expired); ``carry_fen`` of it stays held in a successor."""
    _check_unresolved(pending, "作废")
    if not 0 <= carry_fen < pending.amount_fen:
        raise ValueError("a successor carries less than the pending amount")
    await _release(session, pending.debit_account_id, pending.amount_fen)
    pending.status = (PendingStatus.expired if expired else PendingStatus.voided).value
    pending.resolved_at = utcnow()
    await session.flush()
    successor = None
    if carry_fen:
        debit_account = await session.get(LedgerAccount, pending.debit_account_id)
        assert debit_account is not None
        successor = await _successor(session, pending, carry_fen, debit_account)
    return Resolution(pending, None, successor)


async def due_pending_ids(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(LedgerPendingEntry.id)
        .where(LedgerPendingEntry.status == PendingStatus.pending.value, LedgerPendingEntry.expires_at <= now)
        .order_by(LedgerPendingEntry.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


# --- reconciliation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountDifference:
    account_id: uuid.UUID
    kind: str
    organisation_id: uuid.UUID | None
    from_postings_fen: int
    balance_fen: int
    from_pending_fen: int
    held_fen: int

    def describe(self) -> str:
        owner = self.organisation_id or "platform"
        return (
            f"{self.kind} of {owner} ({self.account_id}): postings say {self.from_postings_fen}, "
            f"balance rows say {self.balance_fen}; pending entries hold {self.from_pending_fen}, "
            f"rows hold {self.held_fen}"
        )


@dataclass
class ReconcileReport:
    accounts: int = 0
    entries: int = 0
    differences: list[AccountDifference] = field(default_factory=list)
    unbalanced_entries: list[int] = field(default_factory=list)
    short_entries: list[int] = field(default_factory=list)
    negative_accounts: list[uuid.UUID] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (self.differences or self.unbalanced_entries or self.short_entries or self.negative_accounts)


_RECOMPUTE = """
WITH posted AS (
    SELECT account_id, sum(amount_fen) AS total FROM ledger_postings GROUP BY account_id
), rows AS (
    SELECT account_id, sum(balance_fen) AS balance, sum(held_fen) AS held FROM ledger_balances GROUP BY account_id
), holds AS (
    SELECT debit_account_id AS account_id, sum(amount_fen) AS held
    FROM ledger_pending_entries WHERE status = 'pending' GROUP BY debit_account_id
)
SELECT a.id, a.kind, a.organisation_id, a.non_negative,
       (CASE WHEN a.normal_side = 'debit' THEN 1 ELSE -1 END * COALESCE(posted.total, 0))::bigint,
       COALESCE(rows.balance, 0)::bigint, COALESCE(holds.held, 0)::bigint, COALESCE(rows.held, 0)::bigint
FROM ledger_accounts a
LEFT JOIN posted ON posted.account_id = a.id
LEFT JOIN rows ON rows.account_id = a.id
LEFT JOIN holds ON holds.account_id = a.id
ORDER BY a.created_at, a.id
"""


async def reconcile(session: AsyncSession) -> ReconcileReport:
    """Recompute every balance and hold from the postings and pending entries; report what differs."""
    report = ReconcileReport()
    for account_id, kind, organisation_id, non_negative, expected, actual, pending, held in (
        await session.execute(text(_RECOMPUTE))
    ).all():
        report.accounts += 1
        if expected != actual or pending != held:
            report.differences.append(
                AccountDifference(account_id, kind, organisation_id, expected, actual, pending, held)
            )
        if non_negative and expected < 0:
            report.negative_accounts.append(account_id)
    report.entries = int(await session.scalar(text("SELECT count(*) FROM ledger_entries")) or 0)
    report.unbalanced_entries = list(
        await session.scalars(
            text(
                "SELECT DISTINCT entry_id FROM ledger_postings GROUP BY entry_id, currency "
                "HAVING sum(amount_fen) <> 0 ORDER BY entry_id"
            )
        )
    )
    report.short_entries = list(
        await session.scalars(
            text(
                "SELECT e.id FROM ledger_entries e LEFT JOIN ledger_postings p ON p.entry_id = e.id "
                "GROUP BY e.id HAVING count(p.id) < 2 ORDER BY e.id"
            )
        )
    )
    return report
