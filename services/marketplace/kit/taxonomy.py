"""National high-tech fields and Hefei key industries (copies of shared/data/fields.csv and industries.csv)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Field:
    code: str
    name: str


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    group: str
    typical_field: str


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("services.marketplace.kit").joinpath("data", filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def fields() -> dict[str, Field]:
    return {row["code"]: Field(row["code"], row["name"]) for row in _rows("fields.csv")}


@cache
def industries() -> dict[str, Industry]:
    return {
        row["code"]: Industry(row["code"], row["name"], row["group"], row["typical_national_field"])
        for row in _rows("industries.csv")
    }


@cache
def field_code_by_name() -> dict[str, str]:
    return {field.name: code for code, field in fields().items()}


@cache
def industry_code_by_name() -> dict[str, str]:
    return {industry.name: code for code, industry in industries().items()}


def validate_field(code: str) -> str:
    if code not in fields():
        raise ValueError(f"未知的技术领域代码 {code}，可选：" + "、".join(fields()))
    return code


def validate_industry(code: str) -> str:
    if code not in industries():
        raise ValueError(f"未知的产业代码 {code}")
    return code
