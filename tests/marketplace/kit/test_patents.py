import dataclasses
import random
from datetime import date
from typing import get_args

import pytest

from services.marketplace.kit.patents import (
    KIND_BY_CODE,
    WEIGHTS,
    PatentKind,
    PatentNumber,
    PatentNumberError,
    check_character,
    is_invention_or_utility_model,
    parse_patent_number,
)

TODAY = date(2026, 6, 1)

# Published numbers (patent certificates, CVs, company pages); their check characters agree with the rule.
REAL_NUMBERS: list[tuple[str, int, PatentKind]] = [
    ("201710601862.3", 2017, "invention"),
    ("201811564288.X", 2018, "invention"),
    ("202110377287.X", 2021, "invention"),
    ("200510096239.4", 2005, "invention"),
    ("201510958772.0", 2015, "invention"),
    ("202010566088.9", 2020, "invention"),
    ("202411020646.6", 2024, "invention"),
    ("201620161392.4", 2016, "utility_model"),
    ("202322865413.3", 2023, "utility_model"),
    ("97101765.4", 1997, "invention"),
    ("95115608.X", 1995, "invention"),
]


def _with_check(digits: str) -> str:
    return f"{digits}.{check_character(digits)}"


def _generated_numbers() -> list[str]:
    rng = random.Random(20031001)
    numbers = []
    for year in (2003, 2004, 2010, 2019, 2023, 2026, 2027):
        for code in KIND_BY_CODE:
            for _ in range(3):
                numbers.append(_with_check(f"{year}{code}{rng.randrange(10**7):07d}"))
    for short_year in ("85", "90", "99", "00", "03"):
        for code in KIND_BY_CODE:
            numbers.append(_with_check(f"{short_year}{code}{rng.randrange(10**5):05d}"))
    return numbers


GENERATED = _generated_numbers()


def _weighted_remainder(digits: str) -> int:
    return sum(int(digit) * weight for digit, weight in zip(digits, WEIGHTS, strict=False)) % 11


# --- check character ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "year", "kind"), REAL_NUMBERS)
def test_check_character_of_published_numbers(number: str, year: int, kind: PatentKind) -> None:
    digits, check = number.split(".")
    assert check_character(digits) == check


def test_check_character_worked_example() -> None:
    # 2·2 + 0·3 + 1·4 + 7·5 + 1·6 + 0·7 + 6·8 + 0·9 + 1·2 + 8·3 + 6·4 + 2·5 = 157 = 14·11 + 3
    assert check_character("201710601862") == "3"
    # 9·2 + 5·3 + 1·4 + 1·5 + 5·6 + 6·7 + 0·8 + 8·9 = 186 = 16·11 + 10 -> X
    assert check_character("95115608") == "X"


def test_check_character_of_zeros_is_zero() -> None:
    assert check_character("0" * 12) == "0"
    assert check_character("0" * 8) == "0"


def test_remainder_ten_is_written_x_and_every_remainder_occurs() -> None:
    seen = {check_character(f"2023100{serial:05d}") for serial in range(200)}
    assert seen == {*"0123456789", "X"}


def test_old_form_uses_the_first_eight_weights() -> None:
    assert check_character("98123456") == str(_weighted_remainder("98123456"))
    assert check_character("98123456") == "9"


@pytest.mark.parametrize("digits", ["", "2023101234", "2023101234567", "9812345"])
def test_check_character_rejects_wrong_length(digits: str) -> None:
    with pytest.raises(PatentNumberError, match="计算校验位需要 12 位"):
        check_character(digits)


@pytest.mark.parametrize("digits", ["20231012345A", "２０２３１０１２３４５６", "2023 1012345"])
def test_check_character_rejects_non_ascii_digits(digits: str) -> None:
    with pytest.raises(PatentNumberError, match="只能由数字 0-9 组成"):
        check_character(digits)


# --- valid numbers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "year", "kind"), REAL_NUMBERS)
def test_published_numbers_parse(number: str, year: int, kind: PatentKind) -> None:
    parsed = parse_patent_number(number, today=TODAY)
    assert parsed.year == year
    assert parsed.kind == kind
    assert parsed.check == number[-1]
    assert str(parsed) == number
    assert parsed.application_number == number


@pytest.mark.parametrize("number", GENERATED)
def test_generated_numbers_round_trip(number: str) -> None:
    parsed = parse_patent_number(number, today=TODAY)
    assert str(parsed) == number
    assert parse_patent_number(str(parsed), today=TODAY) == parsed
    assert parsed.kind == KIND_BY_CODE[parsed.kind_code]


def test_fields_of_a_new_style_number() -> None:
    parsed = parse_patent_number("ZL201620161392.4")
    assert parsed == PatentNumber(year=2016, kind="utility_model", serial="0161392", check="4")
    assert not parsed.is_legacy
    assert parsed.digits == "201620161392"


def test_fields_of_an_old_style_number_keep_the_eight_digit_form() -> None:
    parsed = parse_patent_number("ZL97101765.4")
    assert parsed == PatentNumber(year=1997, kind="invention", serial="01765", check="4")
    assert parsed.is_legacy
    assert str(parsed) == "97101765.4"


@pytest.mark.parametrize(
    ("digits", "year"), [("85100001", 1985), ("99212345", 1999), ("00312345", 2000), ("03812345", 2003)]
)
def test_old_style_year_window(digits: str, year: int) -> None:
    assert parse_patent_number(_with_check(digits)).year == year


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("1", "invention"),
        ("2", "utility_model"),
        ("3", "design"),
        ("8", "pct_invention"),
        ("9", "pct_utility_model"),
    ],
)
def test_type_digit(code: str, kind: PatentKind) -> None:
    assert parse_patent_number(_with_check(f"2019{code}0012345")).kind == kind
    assert parse_patent_number(_with_check(f"96{code}12345")).kind == kind


def test_kinds_cover_the_literal() -> None:
    assert set(KIND_BY_CODE.values()) == set(get_args(PatentKind))


@pytest.mark.parametrize(
    "text",
    [
        "201710601862.3",
        "2017106018623",
        "CN201710601862.3",
        "ZL201710601862.3",
        "zl201710601862.3",
        "Cn 201710601862.3",
        "ZL 2017 1 0601862.3",
        "ZL 2017 1 0601862 .3",
        "  ZL201710601862.3\n",
        "ＺＬ２０１７１０６０１８６２．３",
        "ZL\u30002017\u30001\u30000601862.3",
        "201710601862。3",
        "ZL2017 1060 1862.3",
    ],
)
def test_written_forms_are_normalised(text: str) -> None:
    assert str(parse_patent_number(text, today=TODAY)) == "201710601862.3"


@pytest.mark.parametrize("text", ["201811564288.x", "201811564288x", "ZL201811564288.Ｘ", "zl 2018 1 1564288.x"])
def test_check_x_is_case_insensitive(text: str) -> None:
    assert str(parse_patent_number(text, today=TODAY)) == "201811564288.X"


@pytest.mark.parametrize("text", ["95115608X", "ZL 95 1 15608.x", "CN95115608.X"])
def test_old_style_forms_are_normalised(text: str) -> None:
    assert str(parse_patent_number(text)) == "95115608.X"


def test_next_year_is_accepted() -> None:
    number = _with_check(f"{TODAY.year + 1}10000001")
    assert parse_patent_number(number, today=TODAY).year == TODAY.year + 1


def test_default_today_is_the_real_date() -> None:
    this_year = date.today().year  # noqa: DTZ011
    assert parse_patent_number(_with_check(f"{this_year + 1}10000001")).year == this_year + 1
    with pytest.raises(PatentNumberError, match="年份"):
        parse_patent_number(_with_check(f"{this_year + 2}10000001"))


# --- invalid numbers ------------------------------------------------------------------------------------------------


def test_wrong_check_character_names_the_expected_one() -> None:
    with pytest.raises(PatentNumberError) as caught:
        parse_patent_number("201710601862.7")
    assert caught.value.expected_check == "3"
    assert caught.value.message == "专利申请号校验位错误，应为 3"
    assert str(caught.value) == caught.value.message
    assert isinstance(caught.value, ValueError)


def test_commonly_quoted_placeholder_has_a_wrong_check_character() -> None:
    # "202310123456.7" circulates as an example, but its check character is 6.
    with pytest.raises(PatentNumberError) as caught:
        parse_patent_number("ZL202310123456.7", today=TODAY)
    assert caught.value.expected_check == "6"
    assert str(parse_patent_number("202310123456.6", today=TODAY)) == "202310123456.6"


def test_wrong_x_check_character() -> None:
    with pytest.raises(PatentNumberError) as caught:
        parse_patent_number("98123456.X")
    assert caught.value.expected_check == "9"


def test_expected_check_can_be_x() -> None:
    with pytest.raises(PatentNumberError) as caught:
        parse_patent_number("201811564288.0", today=TODAY)
    assert caught.value.expected_check == "X"
    assert caught.value.message == "专利申请号校验位错误，应为 X"


@pytest.mark.parametrize("code", ["0", "4", "5", "6", "7"])
def test_unknown_type_digit_is_rejected(code: str) -> None:
    with pytest.raises(PatentNumberError, match=f"第 5 位（专利类型）{code} 无效") as caught:
        parse_patent_number(_with_check(f"2019{code}0012345"), today=TODAY)
    assert caught.value.expected_check is None
    with pytest.raises(PatentNumberError, match=f"第 3 位（专利类型）{code} 无效"):
        parse_patent_number(_with_check(f"96{code}12345"))


@pytest.mark.parametrize(
    "text",
    [
        "2017106018.3",
        "20171060186.3",
        "2017106018623.3",
        "201710601862",
        "9710176.4",
        "971017654.4",
        "9710176",
        "1.2",
        "7",
        "ZL",
        "CN.3",
    ],
)
def test_wrong_length_is_rejected(text: str) -> None:
    with pytest.raises(PatentNumberError, match="应为 12 位数字加 1 位校验位") as caught:
        parse_patent_number(text, today=TODAY)
    assert caught.value.expected_check is None


def test_length_message_counts_digits_and_check() -> None:
    with pytest.raises(PatentNumberError, match="实为 12 位（不计前缀和小数点）"):
        parse_patent_number("ZL201710601862", today=TODAY)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2017A0601862.3", "「A」"),
        ("US201710601862.3", "「U」「S」"),
        ("2017-10601862.3", "「-」"),
        ("201710601862,3", "「,」"),
        ("ZL201710601862.3号", "「号」"),
        ("专利号ZL201710601862.3", "「专」「利」「号」「Z」「L」"),
        ("2017\u200b10601862.3", "「\u200b」"),
    ],
)
def test_illegal_characters_are_named(text: str, shown: str) -> None:
    with pytest.raises(PatentNumberError, match=f"发现非法字符：{shown}$"):
        parse_patent_number(text, today=TODAY)


@pytest.mark.parametrize("text", ["2017106018X2.3", "X01710601862.3", "20171060186X3", "201710601862X.3"])
def test_x_only_as_check_character(text: str) -> None:
    with pytest.raises(PatentNumberError, match="X 只能作为校验位"):
        parse_patent_number(text, today=TODAY)


@pytest.mark.parametrize("text", ["2017.10601862.3", "201710601862..3", "201710601862.3."])
def test_more_than_one_dot_is_rejected(text: str) -> None:
    with pytest.raises(PatentNumberError, match="只能有一个小数点"):
        parse_patent_number(text, today=TODAY)


@pytest.mark.parametrize(("text", "count"), [("201710601862.", 0), ("20171060186.23", 2)])
def test_exactly_one_character_after_the_dot(text: str, count: int) -> None:
    with pytest.raises(PatentNumberError, match=f"小数点后应为 1 位校验位，实为 {count} 位"):
        parse_patent_number(text, today=TODAY)


@pytest.mark.parametrize("text", ["", "   ", "\u3000", "\n\t"])
def test_empty_is_rejected(text: str) -> None:
    with pytest.raises(PatentNumberError, match="不能为空"):
        parse_patent_number(text)


@pytest.mark.parametrize("year", [TODAY.year + 2, TODAY.year + 10, 9999])
def test_future_year_is_rejected(year: int) -> None:
    with pytest.raises(PatentNumberError, match=f"年份 {year} 无效，应在 2003 至 {TODAY.year + 1} 之间") as caught:
        parse_patent_number(_with_check(f"{year}10012345"), today=TODAY)
    assert caught.value.expected_check is None


@pytest.mark.parametrize("year", [1985, 1998, 2002, 1000, 0])
def test_twelve_digit_number_before_2003_is_rejected(year: int) -> None:
    with pytest.raises(PatentNumberError, match="12 位申请号自 2003 年 10 月 1 日起使用"):
        parse_patent_number(_with_check(f"{year:04d}10012345"), today=TODAY)


@pytest.mark.parametrize("short_year", ["04", "10", "23", "84"])
def test_old_style_year_outside_1985_to_2003_is_rejected(short_year: str) -> None:
    with pytest.raises(PatentNumberError, match=f"8 位旧式专利申请号的年份 {short_year} 无效"):
        parse_patent_number(_with_check(f"{short_year}112345"))


# --- error detection ------------------------------------------------------------------------------------------------

SAMPLE = [number for number, _, _ in REAL_NUMBERS] + GENERATED[::5]


@pytest.mark.parametrize("number", SAMPLE)
def test_any_single_digit_change_is_detected(number: str) -> None:
    digits, check = number.split(".")
    for position, original in enumerate(digits):
        for replacement in "0123456789":
            if replacement == original:
                continue
            mutated = digits[:position] + replacement + digits[position + 1 :]
            # The checksum alone catches it, whatever else the change breaks ...
            assert check_character(mutated) != check, (number, position, replacement)
            # ... so the parser always refuses it.
            with pytest.raises(PatentNumberError):
                parse_patent_number(f"{mutated}.{check}", today=TODAY)


@pytest.mark.parametrize("number", SAMPLE)
def test_any_wrong_check_character_is_detected(number: str) -> None:
    digits, check = number.split(".")
    for wrong in "0123456789X":
        if wrong != check:
            with pytest.raises(PatentNumberError) as caught:
                parse_patent_number(f"{digits}.{wrong}", today=TODAY)
            assert caught.value.expected_check == check


@pytest.mark.parametrize("number", SAMPLE)
def test_any_adjacent_transposition_is_detected(number: str) -> None:
    digits, check = number.split(".")
    for position in range(len(digits) - 1):
        first, second = digits[position], digits[position + 1]
        if first != second:
            swapped = digits[:position] + second + first + digits[position + 2 :]
            assert check_character(swapped) != check, (number, position)


def test_swapping_positions_with_equal_weights_is_not_detected() -> None:
    # Weights repeat: positions 1-4 and 9-12 share 2, 3, 4, 5, so such a swap keeps the check character.
    digits = "201710601862"
    swapped = digits[8] + digits[1:8] + digits[0] + digits[9:]
    assert swapped != digits
    assert check_character(swapped) == check_character(digits)


def test_weights_never_make_a_digit_change_vanish_mod_11() -> None:
    assert all((weight * delta) % 11 for weight in WEIGHTS for delta in range(1, 10))


# --- the dataclass --------------------------------------------------------------------------------------------------


def test_number_is_frozen() -> None:
    parsed = parse_patent_number("201710601862.3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.check = "4"  # type: ignore[misc]


def test_direct_construction_is_validated() -> None:
    assert str(PatentNumber(year=2023, kind="invention", serial="0123456", check="6")) == "202310123456.6"
    with pytest.raises(PatentNumberError) as caught:
        PatentNumber(year=2023, kind="invention", serial="0123456", check="7")
    assert caught.value.expected_check == "6"


@pytest.mark.parametrize(
    ("year", "kind", "serial", "match"),
    [
        (2023, "invention", "123456", "流水号"),
        (2023, "invention", "01234567", "流水号"),
        (2023, "invention", "012345A", "流水号"),
        (2023, "trademark", "0123456", "未知的专利类型"),
        (2002, "invention", "0123456", "不早于 2003"),
        (2004, "invention", "12345", "1985 至 2003"),
        (1984, "invention", "12345", "1985 至 2003"),
    ],
)
def test_direct_construction_rejects_inconsistent_fields(year: int, kind: str, serial: str, match: str) -> None:
    with pytest.raises(PatentNumberError, match=match):
        PatentNumber(year=year, kind=kind, serial=serial, check="0")  # type: ignore[arg-type]


@pytest.mark.parametrize(("code", "expected"), [("1", True), ("2", True), ("3", False), ("8", True), ("9", True)])
def test_is_invention_or_utility_model(code: str, expected: bool) -> None:
    number = parse_patent_number(_with_check(f"2020{code}0000001"), today=TODAY)
    assert is_invention_or_utility_model(number) is expected
    old = parse_patent_number(_with_check(f"99{code}00001"))
    assert is_invention_or_utility_model(old) is expected
