"""Chinese patent application numbers (专利申请号, CNIPA).

Check character rule, as documented in CNIPA 《专利申请号标准》 ZC 0006-2003: multiply the 12 digits by the weights
2,3,4,5,6,7,8,9,2,3,4,5 (the 8 digits of a pre-2003-10-01 number by 2..9), sum, take the remainder mod 11;
a remainder of 10 is written ``X``. Verified against published numbers, e.g. ZL201710601862.3, ZL201811564288.X,
ZL200510096239.4 and the old-style ZL97101765.4, ZL95115608.X.

Layout since 2003-10-01: ``YYYY`` (filing year) + ``T`` (type) + 7-digit serial, then ``.`` and the check character.
Before that: ``YY`` (85..99, 00..03) + ``T`` + 5-digit serial + check character; such numbers keep their 8-digit
form (they are rendered as e.g. ``97101765.4``, never padded to 12 digits, which would change the check character).
``T``: 1 发明, 2 实用新型, 3 外观设计, 8 PCT 发明进入中国国家阶段, 9 PCT 实用新型进入中国国家阶段.

Every single-digit error is detected: each weight w is in 2..9 and a digit changes by d in ±1..±9, so w·d is never a
multiple of the prime 11. Adjacent transpositions are detected as well (neighbouring weights differ by 1 or 7), but
swapping positions 1-4 with positions 9-12 (equal weights 2..5) is not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

PatentKind = Literal["invention", "utility_model", "design", "pct_invention", "pct_utility_model"]

WEIGHTS: Final = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
KIND_BY_CODE: Final[dict[str, PatentKind]] = {
    "1": "invention",
    "2": "utility_model",
    "3": "design",
    "8": "pct_invention",
    "9": "pct_utility_model",
}
CODE_BY_KIND: Final[dict[PatentKind, str]] = {kind: code for code, kind in KIND_BY_CODE.items()}
KIND_NAMES: Final[dict[PatentKind, str]] = {
    "invention": "发明",
    "utility_model": "实用新型",
    "design": "外观设计",
    "pct_invention": "PCT 发明",
    "pct_utility_model": "PCT 实用新型",
}

FIRST_YEAR: Final = 1985  # 《专利法》 in force since 1985-04-01
NEW_FORMAT_FIRST_YEAR: Final = 2003  # 12-digit numbers since 2003-10-01 (ZC 0006-2003)
_NEW_DIGITS: Final = 12
_OLD_DIGITS: Final = 8
_NEW_SERIAL: Final = 7
_OLD_SERIAL: Final = 5
_DIGITS = re.compile(r"[0-9]+")
_ALLOWED: Final = frozenset("0123456789.X")
_PREFIXES: Final = ("CN", "ZL")
_KIND_CHOICES: Final = "、".join(f"{code}（{KIND_NAMES[kind]}）" for code, kind in KIND_BY_CODE.items())


class PatentNumberError(ValueError):
    """An invalid application number; `message` is shown to people, `expected_check` is set for a bad check char."""

    def __init__(self, message: str, expected_check: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected_check = expected_check


@dataclass(frozen=True)
class PatentNumber:
    """A validated application number; ``serial`` has 7 digits (since 2003-10-01) or 5 (older numbers).

    Direct construction is validated too, except for the upper year bound, which only `parse_patent_number` applies.
    """

    year: int
    kind: PatentKind
    serial: str
    check: str

    def __post_init__(self) -> None:
        if self.kind not in CODE_BY_KIND:
            raise PatentNumberError(f"未知的专利类型：{self.kind}")
        if not _DIGITS.fullmatch(self.serial) or len(self.serial) not in (_NEW_SERIAL, _OLD_SERIAL):
            raise PatentNumberError("专利申请号流水号应为 7 位数字（2003 年 10 月 1 日前的申请为 5 位）")
        if self.is_legacy and not FIRST_YEAR <= self.year <= NEW_FORMAT_FIRST_YEAR:
            raise PatentNumberError(f"8 位旧式专利申请号的年份应在 {FIRST_YEAR} 至 {NEW_FORMAT_FIRST_YEAR} 之间")
        if not self.is_legacy and not NEW_FORMAT_FIRST_YEAR <= self.year <= 9999:
            raise PatentNumberError(f"12 位专利申请号的年份应不早于 {NEW_FORMAT_FIRST_YEAR}")
        expected = check_character(self.digits)
        if self.check != expected:
            raise PatentNumberError(f"专利申请号校验位错误，应为 {expected}", expected_check=expected)

    @property
    def is_legacy(self) -> bool:
        """Whether this is an 8-digit number (filed before 2003-10-01)."""
        return len(self.serial) == _OLD_SERIAL

    @property
    def kind_code(self) -> str:
        """The type digit: 1, 2, 3, 8 or 9."""
        return CODE_BY_KIND[self.kind]

    @property
    def digits(self) -> str:
        """The 12 (or, for old numbers, 8) digits without the check character."""
        year = f"{self.year % 100:02d}" if self.is_legacy else f"{self.year:04d}"
        return f"{year}{self.kind_code}{self.serial}"

    @property
    def application_number(self) -> str:
        """The canonical written form, e.g. ``201710601862.3``."""
        return str(self)

    def __str__(self) -> str:
        return f"{self.digits}.{self.check}"


def check_character(digits: str) -> str:
    """The check character for the 12 digits of an application number (or the 8 digits of a pre-2003 one)."""
    if len(digits) not in (_NEW_DIGITS, _OLD_DIGITS):
        raise PatentNumberError(
            f"计算校验位需要 12 位（2003 年 10 月 1 日前的申请为 8 位）申请号数字，实为 {len(digits)} 位"
        )
    if not _DIGITS.fullmatch(digits):
        raise PatentNumberError("计算校验位的申请号只能由数字 0-9 组成")
    total = sum(int(digit) * weight for digit, weight in zip(digits, WEIGHTS[: len(digits)], strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def parse_patent_number(text: str, *, today: date | None = None) -> PatentNumber:
    """Parse a written application number (``CN``/``ZL`` prefix, spaces, full-width, missing dot are all accepted).

    The filing year must lie between 1985 and next year (relative to ``today``, default `date.today()`); numbers
    in the 12-digit form are not older than 2003, those in the 8-digit form not newer.
    """
    body, check = _split(_normalise(text))
    if len(body) == _NEW_DIGITS:
        year, code, serial, type_position = int(body[:4]), body[4], body[5:], 5
        max_year = (today or date.today()).year + 1  # noqa: DTZ011 - a year of slack absorbs any time-zone skew
        if not NEW_FORMAT_FIRST_YEAR <= year <= max_year:
            raise PatentNumberError(
                f"专利申请号年份 {year} 无效，应在 {NEW_FORMAT_FIRST_YEAR} 至 {max_year} 之间"
                "（12 位申请号自 2003 年 10 月 1 日起使用）"
            )
    else:
        short_year = int(body[:2])
        year = 1900 + short_year if short_year >= FIRST_YEAR % 100 else 2000 + short_year
        code, serial, type_position = body[2], body[3:], 3
        if year > NEW_FORMAT_FIRST_YEAR:
            raise PatentNumberError(
                f"8 位旧式专利申请号的年份 {body[:2]} 无效，应为 85–99 或 00–03（1985 年至 2003 年 9 月的申请）"
            )
    kind = KIND_BY_CODE.get(code)
    if kind is None:
        raise PatentNumberError(f"专利申请号第 {type_position} 位（专利类型）{code} 无效，应为 {_KIND_CHOICES} 之一")
    expected = check_character(body)
    if check != expected:
        raise PatentNumberError(f"专利申请号校验位错误，应为 {expected}", expected_check=expected)
    return PatentNumber(year=year, kind=kind, serial=serial, check=check)


def is_invention_or_utility_model(number: PatentNumber) -> bool:
    """Whether the application is an invention or a utility model (including PCT ones), i.e. not a design."""
    return number.kind != "design"


def _normalise(text: str) -> str:
    """Full-width to half-width, no whitespace, upper case, without a ``CN``/``ZL`` prefix."""
    compact = "".join(unicodedata.normalize("NFKC", text).replace("。", ".").split()).upper()
    if not compact:
        raise PatentNumberError("专利申请号不能为空")
    for prefix in _PREFIXES:
        if compact.startswith(prefix):
            return compact[len(prefix) :]
    return compact


def _split(compact: str) -> tuple[str, str]:
    """The digits and the check character of a normalised number, or PatentNumberError on a malformed one."""
    invalid = sorted({char for char in compact if char not in _ALLOWED}, key=compact.index)
    if invalid:
        raise PatentNumberError(
            f"专利申请号只能由数字、小数点和校验位 X 组成，发现非法字符：{''.join(f'「{char}」' for char in invalid)}"
        )
    if compact.count(".") > 1:
        raise PatentNumberError("专利申请号中只能有一个小数点（位于校验位之前）")
    if "." in compact:
        body, _, check = compact.partition(".")
        if len(check) != 1:
            raise PatentNumberError(f"专利申请号小数点后应为 1 位校验位，实为 {len(check)} 位")
    else:
        body, check = compact[:-1], compact[-1:]
    if "X" in body:
        raise PatentNumberError("专利申请号中的 X 只能作为校验位出现在最后一位")
    if len(body) not in (_NEW_DIGITS, _OLD_DIGITS):
        raise PatentNumberError(
            "专利申请号应为 12 位数字加 1 位校验位（如 201710601862.3），"
            "2003 年 10 月 1 日前的申请为 8 位数字加 1 位校验位（如 97101765.4）；"
            f"实为 {len(body) + len(check)} 位（不计前缀和小数点）"
        )
    return body, check
