"""Bank statement import: credit lines of the platform account are matched to recorded transfers.

A line whose reference matches a recorded (pending) bank transfer with the same amount confirms it; a line
whose reference matches one with another amount is an ``amount_mismatch``; a line nobody recorded is
``unmatched``. Both wait for a person, who matches the line to a payment or dismisses it with a note.
Importing the same statement again adds nothing (each line's fingerprint is unique).

The file is CSV (UTF-8, or GB18030 as Chinese bank exports often are) with a header naming at least the
booking date, the reference and the amount in yuan: ``date,reference,amount[,counterparty][,memo]`` or the
Chinese ``交易日期,流水号,金额[,对方户名][,摘要]``. Debit lines (negative amounts) are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import Conflict, FieldError, NotFound, ValidationProblem
from services.marketplace.kit.money import parse_yuan
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.models import BankStatementImport, BankStatementLine, Payment
from services.marketplace.models.settlement import PaymentStatus, Rail, StatementLineStatus
from services.marketplace.settlement import service
from services.marketplace.settlement.policies import check_is_finance
from services.marketplace.settlement.records import record_change, snapshot
from services.marketplace.settlement.specs import STATEMENT_LINE_LIFECYCLE

MAX_LINES = 20_000
COLUMNS = {
    "booked_on": ("date", "booked_on", "交易日期", "记账日期", "日期"),
    "reference": ("reference", "bank_reference", "流水号", "交易流水号", "银行流水号"),
    "amount": ("amount", "金额", "交易金额", "贷方金额"),
    "counterparty": ("counterparty", "对方户名", "付款人"),
    "memo": ("memo", "摘要", "附言", "用途"),
}
_DATE = re.compile(r"^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$")
_REFERENCE = re.compile(r"^[A-Za-z0-9_/-]{4,64}$")


@dataclass(frozen=True)
class StatementRow:
    line_number: int
    booked_on: date
    reference: str
    amount_fen: int
    counterparty: str | None
    memo: str | None

    @property
    def fingerprint(self) -> str:
        raw = f"{self.booked_on.isoformat()}|{self.reference}|{self.amount_fen}|{self.counterparty or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class ParsedStatement:
    rows: list[StatementRow]
    skipped_debits: int


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationProblem.for_field(["body", "file"], "无法识别文件编码，请使用 UTF-8 或 GB18030 的 CSV")


def _header_map(header: list[str]) -> dict[str, int]:
    normalised = [cell.strip().lower() for cell in header]
    found: dict[str, int] = {}
    for field, names in COLUMNS.items():
        for name in names:
            if name.lower() in normalised:
                found[field] = normalised.index(name.lower())
                break
    missing = [field for field in ("booked_on", "reference", "amount") if field not in found]
    if missing:
        raise ValidationProblem.for_field(["body", "file"], f"流水文件缺少列：{', '.join(missing)}")
    return found


def _parse_date(text: str) -> date:
    match = _DATE.match(text.strip())
    if match is None:
        raise ValueError(f"日期格式无法识别：{text!r}")
    return date(int(match[1]), int(match[2]), int(match[3]))


def parse_statement(content: bytes) -> ParsedStatement:
    """All lines or none: any bad line makes the whole file a 422 with the lines' errors."""
    reader = csv.reader(io.StringIO(_decode(content)))
    header = next(reader, None)
    if header is None:
        raise ValidationProblem.for_field(["body", "file"], "流水文件为空")
    columns = _header_map(header)
    rows: list[StatementRow] = []
    errors: list[FieldError] = []
    skipped = 0

    def cell(values: list[str], field: str) -> str | None:
        index = columns.get(field)
        if index is None or index >= len(values):
            return None
        return values[index].strip() or None

    for line_number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if line_number > MAX_LINES + 1:
            raise ValidationProblem.for_field(["body", "file"], f"一次最多导入 {MAX_LINES} 行")
        try:
            amount = parse_yuan(cell(values, "amount") or "")
            if amount <= 0:
                skipped += 1
                continue
            reference = (cell(values, "reference") or "").replace(" ", "").upper()
            if not _REFERENCE.match(reference):
                raise ValueError(f"流水号无效：{reference!r}")
            rows.append(
                StatementRow(
                    line_number=line_number,
                    booked_on=_parse_date(cell(values, "booked_on") or ""),
                    reference=reference,
                    amount_fen=amount,
                    counterparty=(cell(values, "counterparty") or "")[:200] or None,
                    memo=cell(values, "memo"),
                )
            )
        except ValueError as exc:
            errors.append(FieldError(loc=["file", line_number], msg=str(exc), type="statement_line"))
    if errors:
        raise ValidationProblem(f"流水文件有 {len(errors)} 行无法识别", errors=errors[:100])
    return ParsedStatement(rows, skipped)


@dataclass
class ImportResult:
    statement: BankStatementImport
    matched: int = 0
    unmatched: int = 0
    amount_mismatch: int = 0


async def _match(session: AsyncSession, principal: Principal, line: BankStatementLine) -> None:
    candidates = list(
        await session.scalars(
            select(Payment)
            .where(Payment.rail == Rail.bank_transfer.value, Payment.bank_reference == line.bank_reference)
            .where(Payment.status != PaymentStatus.rejected.value)
            .with_for_update()
        )
    )
    payment = candidates[0] if candidates else None
    if payment is None:
        line.status = StatementLineStatus.unmatched.value
        return
    line.payment_id = payment.id
    if payment.amount_fen != line.amount_fen:
        line.status = StatementLineStatus.amount_mismatch.value
        return
    line.status = StatementLineStatus.matched.value
    if payment.status == PaymentStatus.pending.value:
        await service.capture(session, principal, payment, via="bank_statement")


async def import_statement(
    session: AsyncSession, principal: Principal, filename: str, parsed: ParsedStatement
) -> ImportResult:
    user_id = check_is_finance(principal, "导入银行流水")
    statement = BankStatementImport(
        filename=filename[:255], imported_by=user_id, total_lines=len(parsed.rows), new_lines=0
    )
    session.add(statement)
    await session.flush()
    result = ImportResult(statement)
    for row in parsed.rows:
        line_id = await session.scalar(
            insert(BankStatementLine)
            .values(
                import_id=statement.id,
                line_number=row.line_number,
                fingerprint=row.fingerprint,
                booked_on=row.booked_on,
                bank_reference=row.reference,
                amount_fen=row.amount_fen,
                counterparty=row.counterparty,
                memo=row.memo,
                status=StatementLineStatus.unmatched.value,
            )
            .on_conflict_do_nothing(index_elements=["fingerprint"])
            .returning(BankStatementLine.id)
        )
        if line_id is None:
            continue
        statement.new_lines += 1
        line = await session.get(BankStatementLine, line_id)
        assert line is not None
        await _match(session, principal, line)
        if line.status == StatementLineStatus.matched.value:
            result.matched += 1
        elif line.status == StatementLineStatus.amount_mismatch.value:
            result.amount_mismatch += 1
        else:
            result.unmatched += 1
    await session.flush()
    await record_change(
        session,
        principal,
        topic="settlement.bank_statement_imported",
        row=statement,
        object_type="bank_statement_import",
        organisation_id=None,
        before=None,
        payload={
            "import_id": str(statement.id),
            "new_lines": statement.new_lines,
            "matched": result.matched,
            "unmatched": result.unmatched,
            "amount_mismatch": result.amount_mismatch,
        },
    )
    return result


async def resolve_line(
    session: AsyncSession,
    principal: Principal,
    line_id: uuid.UUID,
    action: str,
    payment_id: uuid.UUID | None,
    note: str | None,
) -> BankStatementLine:
    """A person settles a line: match it to a recorded transfer of the same amount, or dismiss it."""
    user_id = check_is_finance(principal, "处理银行流水")
    line = await session.scalar(select(BankStatementLine).where(BankStatementLine.id == line_id).with_for_update())
    if line is None:
        raise NotFound("银行流水不存在")
    next_status = STATEMENT_LINE_LIFECYCLE.next_state(line.status, "resolve" if action == "match" else "dismiss")
    before = snapshot(line)
    if action == "match":
        payment = await session.scalar(select(Payment).where(Payment.id == payment_id).with_for_update())
        if payment is None or payment.rail != Rail.bank_transfer.value:
            raise ValidationProblem.for_field(["body", "payment_id"], "对公转账付款不存在")
        if payment.amount_fen != line.amount_fen:
            raise Conflict("流水金额与付款金额不一致：请付款方重新登记正确金额，或驳回原登记后再匹配")
        if payment.status == PaymentStatus.pending.value:
            await service.capture(session, principal, payment, via="bank_statement", confirmed_by=user_id)
        elif payment.status == PaymentStatus.rejected.value:
            raise Conflict("该付款登记已被驳回")
        line.payment_id = payment.id
    line.status = next_status
    line.note = note
    line.resolved_by = user_id
    line.resolved_at = utcnow()
    await session.flush()
    await record_change(
        session,
        principal,
        topic=f"settlement.bank_statement_line_{next_status}",
        row=line,
        object_type="bank_statement_line",
        organisation_id=None,
        before=before,
        payload={"line_id": str(line.id), "status": line.status, "payment_id": str(line.payment_id or "")},
    )
    return line
