"""Keyset (cursor) pagination, newest first, with an opaque cursor and a maximum page size."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.marketplace.kit.errors import ValidationProblem

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1

T = TypeVar("T")
Row = TypeVar("Row")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="每页条数")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=512, description="上一页返回的 next_cursor")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageRequestDep = Annotated[PageRequest, Depends(page_request)]


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    """A cursor comes from the client: only values that PostgreSQL can compare with the key columns pass."""
    if isinstance(value, dict) and isinstance(value.get("t"), str):
        # Outside PostgreSQL's range once in UTC (year 1 at +14:00, year 9999 at -14:00) is an OverflowError.
        moment = datetime.fromisoformat(value["t"])
        return moment.astimezone(UTC) if moment.tzinfo is not None else moment
    if isinstance(value, dict) and isinstance(value.get("u"), str):
        return uuid.UUID(value["u"])
    if isinstance(value, int) and not isinstance(value, bool) and BIGINT_MIN <= value <= BIGINT_MAX:
        return value
    if isinstance(value, str) and "\x00" not in value:
        return value
    raise ValueError("unsupported cursor value")


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected_length: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != expected_length:
            raise ValueError("cursor shape")
        return [_decode_value(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError, OverflowError) as exc:
        raise ValidationProblem.for_field(["query", "cursor"], "分页游标无效", "cursor_invalid") from exc


def _matches_column(value: Any, key: InstrumentedAttribute[Any]) -> bool:
    expected = key.type.python_type
    if isinstance(value, datetime):
        return expected is datetime and value.tzinfo is not None
    return isinstance(value, expected) and not isinstance(value, bool)


async def paginate(
    session: AsyncSession,
    statement: Select[Row],
    page: PageRequest,
    keys: Sequence[InstrumentedAttribute[Any]],
    *,
    descending: bool = True,
) -> tuple[list[Row], str | None]:
    """Ordered by ``keys`` (all one direction, the last one unique, none nullable); rows and the next cursor."""
    if page.cursor is not None:
        after = decode_cursor(page.cursor, len(keys))
        if not all(_matches_column(value, key) for value, key in zip(after, keys, strict=True)):
            raise ValidationProblem.for_field(["query", "cursor"], "分页游标与此列表不匹配", "cursor_invalid")
        position = tuple_(*keys) < tuple_(*after) if descending else tuple_(*keys) > tuple_(*after)
        statement = statement.where(position)
    ordering = [key.desc() if descending else key.asc() for key in keys]
    statement = statement.order_by(*ordering).limit(page.limit + 1)
    rows = list((await session.scalars(statement)).all())
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    return rows, encode_cursor([getattr(last, key.key) for key in keys])
