"""Bulk import of achievements from .xlsx or .csv: every row validated, row-level errors, optional all-or-nothing.

Rows become drafts of the importing organisation. Small files are imported within the request; larger
ones are stored as a job that the worker runs (one transaction per job, so a crash leaves it queued).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.marketplace.audit.service import record_audit
from services.marketplace.db import unit_of_work
from services.marketplace.identity.auth import Principal
from services.marketplace.kit.errors import ValidationProblem
from services.marketplace.kit.money import parse_yuan
from services.marketplace.kit.taxonomy import field_code_by_name, industry_code_by_name
from services.marketplace.kit.timeutil import end_of_shanghai_day, utcnow
from services.marketplace.listings import policies
from services.marketplace.listings import repository as repo
from services.marketplace.listings.schemas import AchievementCreate
from services.marketplace.listings.specs import ACHIEVEMENTS
from services.marketplace.models import Achievement, AuditEvent, ImportJob, ListingContact, ListingStatus
from services.marketplace.models.listings import ImportJobStatus, IpStatus, ListingKind
from services.marketplace.observability import request_id_var

INLINE_ROW_LIMIT = 500
MAX_ROWS = 50_000
MAX_STORED_ERRORS = 1000
CHUNK_ROWS = 1000

TRANSFER_MODE_LABELS = {
    "转让": "transfer",
    "许可": "license",
    "作价投资": "equity",
    "合作开发": "co_development",
    "技术服务": "service",
    "技术咨询": "consulting",
}
PRICE_MODE_LABELS = {"定价": "fixed", "面议": "negotiable", "拍卖": "auction"}
IP_TYPE_LABELS = {
    "发明专利": "invention_patent",
    "实用新型": "utility_model",
    "外观设计": "design",
    "软件著作权": "software_copyright",
    "集成电路布图设计": "ic_layout",
    "植物新品种": "plant_variety",
    "技术秘密": "technical_secret",
}
IP_STATUS_LABELS = {"申请中": "pending", "已授权": "granted", "已失效": "lapsed"}
_LIST_SEPARATORS = re.compile(r"[;；,，、\n]+")
_IP_SEPARATORS = re.compile(r"[;；\n]+")


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    example: str


COLUMNS = (
    Column("标题", "title", "高比能固态锂电池电解质制备技术"),
    Column("摘要", "summary", "一种硫化物固态电解质的低成本制备方法"),
    Column("详细描述", "description", "采用液相法合成，室温离子电导率 5 mS/cm，已完成中试"),
    Column("技术领域", "field_code", "新能源与节能"),
    Column("产业", "industry_code", "新能源汽车暨智能网联汽车"),
    Column("关键词", "keywords", "固态电池；电解质"),
    Column("技术成熟度", "trl", "6"),
    Column("知识产权", "ip_items", "发明专利 ZL201811564288.X 已授权；软件著作权 2021SR0662127 已授权"),
    Column("转化方式", "transfer_modes", "许可；转让"),
    Column("价格方式", "price_mode", "定价"),
    Column("价格（元）", "price", "500000"),
    Column("团队成员", "team", "李教授；张博士"),
    Column("行政区划代码", "region_code", "340104"),
    Column("有效期至", "valid_until", "2030-12-31"),
    Column("联系人", "contact_name", "王老师"),
    Column("联系电话", "contact_phone", "0551-63600000"),
    Column("联系邮箱", "contact_email", "tt@univ.example.cn"),
)
HEADER_BY_KEY = {column.key: column.header for column in COLUMNS} | {"price_fen": "价格（元）", "contact": "联系人"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, header, size)."""


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ParsedFile:
    rows: list[tuple[int, dict[str, Any]]]


@dataclass
class ImportOutcome:
    total_rows: int = 0
    imported_rows: int = 0
    errors: list[RowError] = field(default_factory=list)


def template_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in COLUMNS])
    writer.writerow([column.example for column in COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "科技成果"
    sheet.append([column.header for column in COLUMNS])
    sheet.append([column.example for column in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cells_from_csv(content: bytes) -> Iterator[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError("无法识别文件编码，请使用 UTF-8 保存 CSV")
    yield from csv.reader(io.StringIO(text))


def _cells_from_xlsx(content: bytes) -> Iterator[list[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError("无法读取 Excel 文件，请使用下载的模板（.xlsx）") from exc
    sheet = workbook.worksheets[0]
    for values in sheet.iter_rows(values_only=True):
        yield list(values)
    workbook.close()


def parse_file(filename: str, content: bytes) -> ParsedFile:
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        cells = _cells_from_xlsx(content)
    elif lower.endswith(".csv"):
        cells = _cells_from_csv(content)
    else:
        raise ImportFileError("只支持 .xlsx 或 .csv 文件")
    header = [str(value or "").strip() for value in next(cells, [])]
    missing = [column.header for column in COLUMNS if column.header not in header]
    if missing:
        raise ImportFileError("缺少列：" + "、".join(missing) + "（请使用下载的模板）")
    index = {name: position for position, name in enumerate(header)}
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, values in enumerate(cells, start=2):
        if not any(value not in (None, "") for value in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(f"单个文件最多 {MAX_ROWS} 行")
        rows.append(
            (
                number,
                {
                    column.key: values[index[column.header]] if index[column.header] < len(values) else None
                    for column in COLUMNS
                },
            )
        )
    return ParsedFile(rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _split(value: Any) -> list[str]:
    return [part.strip() for part in _LIST_SEPARATORS.split(_text(value)) if part.strip()]


def _code(value: str, labels: dict[str, str]) -> str:
    return labels.get(value, value)


def _ip_items(value: Any) -> list[dict[str, str]]:
    items = []
    for entry in _IP_SEPARATORS.split(_text(value)):
        parts = entry.split()
        if not parts:
            continue
        kind = _code(parts[0], IP_TYPE_LABELS)
        status = _code(parts[-1], IP_STATUS_LABELS) if len(parts) > 2 else IpStatus.granted.value
        number = " ".join(parts[1:-1]) if len(parts) > 2 else " ".join(parts[1:])
        items.append({"type": kind, "number": number, "status": status})
    return items


def _valid_until(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        value = date.fromisoformat(_text(value))
    return end_of_shanghai_day(value).isoformat()


def _price(value: Any) -> int | None:
    text = _text(value)
    if not text:
        return None
    if isinstance(value, float):
        text = str(Decimal(str(value)))
    return parse_yuan(text)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "field_code": lambda v: _code(_text(v), field_code_by_name()),
    "industry_code": lambda v: _code(_text(v), industry_code_by_name()) or None,
    "keywords": _split,
    "trl": lambda v: int(_text(v)) if _text(v).isdigit() else _text(v),
    "ip_items": _ip_items,
    "transfer_modes": lambda v: [_code(part, TRANSFER_MODE_LABELS) for part in _split(v)],
    "price_mode": lambda v: _code(_text(v), PRICE_MODE_LABELS),
    "team": lambda v: [{"name": name} for name in _split(v)],
    "region_code": _text,
    "valid_until": _valid_until,
}


def row_to_achievement(number: int, raw: dict[str, Any]) -> tuple[AchievementCreate | None, list[RowError]]:
    """Convert one spreadsheet row to the API's create model, or the row's errors by column."""
    data: dict[str, Any] = {key: _text(raw[key]) for key in ("title", "summary", "description")}
    errors: list[RowError] = []
    for key, convert in _CONVERTERS.items():
        try:
            data[key] = convert(raw[key])
        except ValueError as exc:
            errors.append(RowError(number, HEADER_BY_KEY[key], str(exc) or "格式错误"))
    try:
        data["price_fen"] = _price(raw["price"])
    except ValueError as exc:
        errors.append(RowError(number, HEADER_BY_KEY["price"], str(exc)))
    contact = {
        "name": _text(raw["contact_name"]),
        "phone": _text(raw["contact_phone"]) or None,
        "email": _text(raw["contact_email"]) or None,
    }
    if any(contact.values()):
        data["contact"] = contact
    if errors:
        return None, errors
    try:
        return AchievementCreate.model_validate(data), []
    except ValidationError as exc:
        return None, [
            RowError(
                number,
                HEADER_BY_KEY.get(str(error["loc"][0]), "整行") if error["loc"] else "整行",
                error["msg"].removeprefix("Value error, "),
            )
            for error in exc.errors()
        ]


def validate_rows(parsed: ParsedFile) -> tuple[list[AchievementCreate], list[RowError]]:
    valid: list[AchievementCreate] = []
    errors: list[RowError] = []
    for number, raw in parsed.rows:
        model, row_errors = row_to_achievement(number, raw)
        if model is not None:
            valid.append(model)
        errors.extend(row_errors)
    return valid, errors


async def insert_achievements(
    session: AsyncSession,
    models: list[AchievementCreate],
    *,
    organisation_id: uuid.UUID,
    created_by: uuid.UUID | None,
    job_id: uuid.UUID,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Bulk insert drafts with their contacts and audit rows, in chunks."""
    for start in range(0, len(models), CHUNK_ROWS):
        chunk = models[start : start + CHUNK_ROWS]
        ids = [uuid.uuid4() for _ in chunk]
        await session.execute(
            insert(Achievement),
            [
                model.model_dump(exclude={"contact"})
                | {
                    "id": listing_id,
                    "organisation_id": organisation_id,
                    "created_by": created_by,
                    "status": ListingStatus.draft.value,
                    "version": 1,
                }
                for listing_id, model in zip(ids, chunk, strict=True)
            ],
        )
        contacts = [
            {"listing_kind": ListingKind.achievement.value, "listing_id": listing_id, **model.contact.model_dump()}
            for listing_id, model in zip(ids, chunk, strict=True)
            if model.contact is not None
        ]
        if contacts:
            await session.execute(insert(ListingContact), contacts)
        await session.execute(
            insert(AuditEvent),
            [
                {
                    "actor_user_id": created_by,
                    "organisation_id": organisation_id,
                    "action": "achievement.imported",
                    "object_type": "achievement",
                    "object_id": str(listing_id),
                    "request_id": request_id_var.get(),
                    "after": {"import_job_id": str(job_id), "title": model.title},
                }
                for listing_id, model in zip(ids, chunk, strict=True)
            ],
        )
        if progress is not None:
            progress(len(chunk))
    return len(models)


async def import_parsed(
    session: AsyncSession, job: ImportJob, parsed: ParsedFile, progress: Callable[[int], None] | None = None
) -> ImportJob:
    """Validate and import a parsed file into ``job``'s organisation; fills in the job's outcome."""
    valid, errors = validate_rows(parsed)
    job.total_rows = len(parsed.rows)
    job.failed_rows = len({error.row for error in errors})
    job.errors = [error.as_dict() for error in errors[:MAX_STORED_ERRORS]]
    if errors and job.all_or_nothing:
        job.imported_rows = 0
    else:
        job.imported_rows = await insert_achievements(
            session,
            valid,
            organisation_id=job.organisation_id,
            created_by=job.created_by,
            job_id=job.id,
            progress=progress,
        )
    job.status = ImportJobStatus.succeeded.value
    job.content = None
    job.finished_at = utcnow()
    await session.flush()
    return job


async def run_queued_import_jobs(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Run one queued job in one transaction; a crash rolls back and leaves it queued for another try."""
    async with unit_of_work(sessionmaker) as session:
        job = await session.scalar(
            select(ImportJob)
            .where(ImportJob.status == ImportJobStatus.queued.value)
            .order_by(ImportJob.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return 0
        job.started_at = utcnow()
        try:
            parsed = parse_file(job.filename, job.content or b"")
        except ImportFileError as exc:
            job.status, job.finished_at, job.content = ImportJobStatus.failed.value, utcnow(), None
            job.errors = [RowError(1, "文件", str(exc)).as_dict()]
            return 1
        await import_parsed(session, job, parsed)
        return 1


async def start_import(
    session: AsyncSession, principal: Principal, filename: str, content: bytes, *, all_or_nothing: bool
) -> ImportJob:
    """Import small files now; queue larger ones for the worker. Either way the job records the outcome."""
    organisation = await repo.get_organisation(session, principal.organisation_id)
    policies.check_can_author(principal, organisation, ACHIEVEMENTS)
    try:
        parsed = parse_file(filename, content)
    except ImportFileError as exc:
        raise ValidationProblem.for_field(["body", "file"], str(exc)) from exc
    job = ImportJob(
        organisation_id=organisation.id,
        created_by=principal.user_id,
        listing_kind=ListingKind.achievement.value,
        filename=filename[:255],
        all_or_nothing=all_or_nothing,
        status=ImportJobStatus.queued.value,
        total_rows=len(parsed.rows),
        content=content if len(parsed.rows) > INLINE_ROW_LIMIT else None,
    )
    session.add(job)
    await session.flush()
    await record_audit(
        session,
        actor=principal,
        action="achievement.import_started",
        object_type="import_job",
        object_id=job.id,
        organisation_id=organisation.id,
        after={"filename": job.filename, "rows": job.total_rows, "all_or_nothing": all_or_nothing},
    )
    if job.content is None:
        await import_parsed(session, job, parsed)
    return job
