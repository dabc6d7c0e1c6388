"""Pydantic field types built on the kit's validators, so every schema reports the same field errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, Strict, StringConstraints
from pydantic.json_schema import Examples

from services.marketplace.kit.regions import RegionError, validate_region_code
from services.marketplace.kit.taxonomy import fields, industries, validate_field, validate_industry
from services.marketplace.kit.timeutil import utcnow
from services.marketplace.kit.uscc import USCCError, validate_uscc

# A single amount of money: integer fen, never a float, at most 10^15 fen (10 trillion yuan).
MAX_FEN = 10**15


def _uscc(value: str) -> str:
    try:
        return validate_uscc(value)
    except USCCError as exc:
        raise ValueError(exc.message) from exc


def _region(value: str) -> str:
    try:
        return validate_region_code(value)
    except RegionError as exc:
        raise ValueError(exc.message) from exc


def _in_utc(value: datetime) -> datetime:
    # An offset can carry a time past year 9999 (or before year 1) once in UTC, where PostgreSQL stores it.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("时间超出可表示的范围") from exc


def _in_the_future(value: datetime) -> datetime:
    if value <= utcnow():
        raise ValueError("时间必须晚于当前时间")
    return value


# The documents show what the validators accept: the codes of the taxonomies, the format and a real example of
# the others (a client, or a contract fuzzer, can build a valid request from the document alone).
USCC = Annotated[
    str, StringConstraints(min_length=1, max_length=32), AfterValidator(_uscc), Examples(["91340100000000001G"])
]
RegionCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=6),
    AfterValidator(_region),
    Examples(["340104"]),
    Field(json_schema_extra={"pattern": "^[0-9]{6}$"}),
]
NonBlank = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Fen = Annotated[int, Strict(), Field(ge=0, le=MAX_FEN, description="金额（分，整数）")]
FutureDatetime = Annotated[
    AwareDatetime, AfterValidator(_in_utc), AfterValidator(_in_the_future), Examples(["2030-12-31T16:00:00Z"])
]
FieldCode = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(validate_field),
    Field(json_schema_extra={"enum": list(fields())}),
]
IndustryCode = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(validate_industry),
    Field(json_schema_extra={"enum": list(industries())}),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
Paragraph = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Trl = Annotated[int, Strict(), Field(ge=1, le=9, description="技术成熟度（GB/T 22900-2022，1–9）")]
