"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

Layout of the 18 characters: 1 登记管理部门代码, 2 机构类别代码, 3-8 登记管理机关行政区划码,
9-17 主体标识码（组织机构代码）, 18 校验码 (GB/T 17710 MOD 31 over the first 17).

The department and category codes follow the table issued with 国发〔2015〕33号 as extended by
the code assignments since (外交, 司法行政, 文化, 旅游, 宗教, 工会, 中央军委改革和编制办公室, 农业).
Characters 3-8 are only checked to be digits: registrations keep the region code of their time,
so historic GB/T 2260 codes are legitimate there.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUES = {char: value for value, char in enumerate(ALPHABET)}
_LENGTH = 18

# 登记管理部门代码 -> 该部门允许的机构类别代码
_CATEGORIES_BY_DEPARTMENT: dict[str, str] = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 中央编办直管群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国旅游部门常驻代表机构, 港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商（市场监管）: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级、村级、乡镇级集体经济组织, 其他
    "Y": "1",  # 其他: 不再细分类别
}
_REGION_CODE = re.compile(r"[0-9]{6}")


class USCCError(ValueError):
    """An invalid code; `message` is shown to people, `expected_check` is set for a bad check char."""

    def __init__(self, message: str, expected_check: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected_check = expected_check


def check_character(first17: str) -> str:
    """The check character (18th) for the first 17 characters of a code."""
    if len(first17) != _LENGTH - 1:
        raise USCCError(f"计算校验位需要 17 位本体代码，实为 {len(first17)} 位")
    _require_alphabet(first17)
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    """The normalised code (stripped, upper case), or USCCError saying what is wrong."""
    code = value.strip().upper()
    if len(code) != _LENGTH:
        raise USCCError(f"统一社会信用代码应为 18 位，实为 {len(code)} 位")
    _require_alphabet(code)
    _require_department_and_category(code[0], code[1])
    if not _REGION_CODE.fullmatch(code[2:8]):
        raise USCCError("统一社会信用代码第 3-8 位（登记管理机关行政区划码）应为 6 位数字")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise USCCError(f"统一社会信用代码校验位错误，应为 {expected}", expected_check=expected)
    return code


def _require_alphabet(code: str) -> None:
    invalid = sorted({char for char in code if char not in _VALUES}, key=code.index)
    if invalid:
        raise USCCError(
            "统一社会信用代码只能由数字和大写字母（不含 I、O、Z、S、V）组成，"
            f"发现非法字符：{''.join(f'「{char}」' for char in invalid)}"
        )


def _require_department_and_category(department: str, category: str) -> None:
    allowed = _CATEGORIES_BY_DEPARTMENT.get(department)
    if allowed is None:
        raise USCCError(f"统一社会信用代码第 1 位（登记管理部门代码）{department} 不是有效的部门代码")
    if category not in allowed:
        raise USCCError(
            f"统一社会信用代码第 2 位（机构类别代码）{category} 无效："
            f"登记管理部门 {department} 的机构类别应为 {'、'.join(allowed)} 之一"
        )
