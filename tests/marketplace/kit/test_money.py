import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from services.marketplace.kit.money import (
    FEN_PER_WAN,
    FEN_PER_YI,
    FEN_PER_YUAN,
    MAX_FEN,
    apply_rate_bp,
    format_wan,
    format_yi,
    format_yuan,
    parse_yuan,
    split_fee,
    split_largest_remainder,
)

SEED = 20250101


def _decimal_half_up(fen: int, fen_per_unit: int, places: int) -> Decimal:
    return (Decimal(fen) / Decimal(fen_per_unit)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def test_units_are_what_officials_read() -> None:
    assert FEN_PER_YUAN == 100
    assert FEN_PER_WAN == 10_000 * FEN_PER_YUAN
    assert FEN_PER_YI == 100_000_000 * FEN_PER_YUAN


@pytest.mark.parametrize(
    ("fen", "expected"),
    [
        (0, "0.00 元"),
        (1, "0.01 元"),
        (5, "0.05 元"),
        (100, "1.00 元"),
        (123_456, "1,234.56 元"),
        (-123_456, "-1,234.56 元"),
        (-1, "-0.01 元"),
        (100_000_000_000, "1,000,000,000.00 元"),
        (MAX_FEN, "92,233,720,368,547,758.07 元"),
    ],
)
def test_format_yuan(fen: int, expected: str) -> None:
    assert format_yuan(fen) == expected


def test_1200_yi_is_120_billion_yuan_exactly() -> None:
    fen = 12_000_000_000_000
    assert format_yi(fen) == "1,200.00 亿元"
    assert format_wan(fen) == "12,000,000.00 万元"
    assert format_yuan(fen) == "120,000,000,000.00 元"


def test_baseline_57213_yi() -> None:
    assert format_yi(5_721_300_000_000) == "572.13 亿元"


@pytest.mark.parametrize(
    ("fen", "places", "expected"),
    [
        (123_450_000, 2, "123.45 万元"),
        (123_455_000, 2, "123.46 万元"),  # exactly half rounds up
        (123_454_999, 2, "123.45 万元"),
        (-123_455_000, 2, "-123.46 万元"),  # half-up is on the magnitude
        (-123_454_999, 2, "-123.45 万元"),
        (4_999, 2, "0.00 万元"),
        (5_000, 2, "0.01 万元"),
        (-4_999, 2, "0.00 万元"),  # no "-0.00"
        (15_000_000, 0, "15 万元"),
        (14_999_999, 0, "15 万元"),
        (14_499_999, 0, "14 万元"),
        (1, 6, "0.000001 万元"),
    ],
)
def test_format_wan_rounds_half_up(fen: int, places: int, expected: str) -> None:
    assert format_wan(fen, places) == expected


@pytest.mark.parametrize(
    ("fen", "places", "expected"),
    [
        (5_000_000_000, 0, "1 亿元"),
        (4_999_999_999, 0, "0 亿元"),
        (-5_000_000_000, 0, "-1 亿元"),
        (12_345_678_901_234, 4, "1,234.5679 亿元"),
        (10**30, 2, "100,000,000,000,000,000,000.00 亿元"),
    ],
)
def test_format_yi(fen: int, places: int, expected: str) -> None:
    assert format_yi(fen, places) == expected


def _displayed_number(text: str, suffix: str) -> str:
    return text.removesuffix(f" {suffix}").replace(",", "")


def test_formatting_agrees_with_decimal_half_up() -> None:
    rng = random.Random(SEED)
    for _ in range(3_000):
        fen = rng.randint(-(10**16), 10**16)
        places = rng.randint(0, 4)
        for text, suffix, fen_per_unit in [
            (format_wan(fen, places), "万元", FEN_PER_WAN),
            (format_yi(fen, places), "亿元", FEN_PER_YI),
        ]:
            number = _displayed_number(text, suffix)
            assert Decimal(number) == _decimal_half_up(fen, fen_per_unit, places)
            assert len(number.partition(".")[2]) == places
            assert not number.startswith("-0") or Decimal(number) != 0


def test_formatting_rejects_negative_places_and_floats() -> None:
    with pytest.raises(ValueError, match="places"):
        format_wan(1, -1)
    with pytest.raises(TypeError, match="int"):
        format_yuan(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="int"):
        format_yi(True)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12.34", 1_234),
        ("12.3", 1_230),
        ("12", 1_200),
        ("0", 0),
        ("0.01", 1),
        ("1,234", 123_400),
        ("1,234,567.89", 123_456_789),
        (" 5.00 ", 500),
        ("-12.34", -1_234),
        ("+7", 700),
        ("-0.00", 0),
        ("007.5", 750),
        ("92233720368547758.07", MAX_FEN),
    ],
)
def test_parse_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1.234", "2 decimal places"),
        ("0.001", "2 decimal places"),
        ("1e5", "not a decimal yuan amount"),
        ("1E5", "not a decimal yuan amount"),
        ("1.5e-2", "not a decimal yuan amount"),
        ("NaN", "not a decimal yuan amount"),
        ("nan", "not a decimal yuan amount"),
        ("inf", "not a decimal yuan amount"),
        ("-Infinity", "not a decimal yuan amount"),
        ("12.", "not a decimal yuan amount"),
        (".5", "not a decimal yuan amount"),
        ("1,23", "not a decimal yuan amount"),
        ("1234,567", "not a decimal yuan amount"),
        ("0,123", "not a decimal yuan amount"),
        ("1 234", "not a decimal yuan amount"),
        ("12元", "not a decimal yuan amount"),
        ("１２", "not a decimal yuan amount"),  # full-width digits
        ("--1", "not a decimal yuan amount"),
        ("0x10", "not a decimal yuan amount"),
        ("1_000", "not a decimal yuan amount"),
        ("92233720368547758.08", "BIGINT"),
        ("9" * 5_000, "BIGINT"),
    ],
)
def test_parse_yuan_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_yuan(text)


def test_parse_yuan_rejects_non_strings() -> None:
    with pytest.raises(TypeError):
        parse_yuan(12.34)  # type: ignore[arg-type]


def test_parse_inverts_format_yuan() -> None:
    rng = random.Random(SEED)
    for _ in range(2_000):
        fen = rng.randint(-MAX_FEN, MAX_FEN)
        assert parse_yuan(format_yuan(fen).removesuffix(" 元")) == fen


@pytest.mark.parametrize(
    ("fen", "rate_bp", "expected"),
    [
        (10_000, 250, 250),
        (100, 50, 1),  # 0.5 fen rounds up
        (100, 49, 0),  # 0.49 fen rounds down
        (-100, 50, -1),
        (-100, 49, 0),
        (12_345, 10_000, 12_345),
        (12_345, 0, 0),
        (3, 3_333, 1),
        (12_000_000_000_000, 2_000, 2_400_000_000_000),
    ],
)
def test_apply_rate_bp(fen: int, rate_bp: int, expected: int) -> None:
    assert apply_rate_bp(fen, rate_bp) == expected


def test_apply_rate_bp_agrees_with_decimal_half_up() -> None:
    rng = random.Random(SEED)
    for _ in range(5_000):
        fen = rng.randint(-(10**15), 10**15)
        rate_bp = rng.randint(0, 20_000)
        expected = (Decimal(fen) * rate_bp / 10_000).quantize(Decimal(1), ROUND_HALF_UP)
        assert apply_rate_bp(fen, rate_bp) == int(expected)


def test_apply_rate_bp_rejects_float_rate() -> None:
    with pytest.raises(TypeError, match="rate_bp"):
        apply_rate_bp(100, 2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # tie broken by the lower index
        (2, [1, 1, 1], [1, 1, 0]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (10, [0, 1], [0, 10]),
        (7, [3, 0, 4], [3, 0, 4]),
        (1, [0, 0, 5], [0, 0, 1]),
        (0, [1, 2], [0, 0]),
        (100, [1], [100]),
        (101, [1, 2, 2], [20, 41, 40]),
        (12_000_000_000_000, [1, 2], [4_000_000_000_000, 8_000_000_000_000]),
    ],
)
def test_split_largest_remainder(total: int, weights: list[int], expected: list[int]) -> None:
    assert split_largest_remainder(total, weights) == expected


def test_split_largest_remainder_parts_always_sum_to_total() -> None:
    rng = random.Random(SEED)
    for _ in range(5_000):
        total = rng.randint(-(10**14), 10**14) if rng.random() < 0.5 else rng.randint(-50, 50)
        weights = [rng.choice([0, rng.randint(1, 10), rng.randint(1, 10**6)]) for _ in range(rng.randint(1, 8))]
        if sum(weights) == 0:
            weights[rng.randrange(len(weights))] = 1
        parts = split_largest_remainder(total, weights)
        assert sum(parts) == total
        assert len(parts) == len(weights)
        weight_sum = sum(weights)
        for part, weight in zip(parts, weights, strict=True):
            exact = Decimal(total) * weight / weight_sum
            assert abs(Decimal(part) - exact) < 1  # never more than one fen from the exact share
            assert weight != 0 or part == 0


def test_split_largest_remainder_is_deterministic() -> None:
    weights = [3, 3, 3, 3, 3, 3, 3]
    assert split_largest_remainder(10, weights) == split_largest_remainder(10, weights)
    assert split_largest_remainder(10, weights) == [2, 2, 2, 1, 1, 1, 1]


@pytest.mark.parametrize(
    ("weights", "error", "message"),
    [
        ([], ValueError, "empty"),
        ([1, -1, 3], ValueError, "non-negative"),
        ([0, 0], ValueError, "positive sum"),
        ([1, 0.5], TypeError, "weight"),
    ],
)
def test_split_largest_remainder_validates_weights(weights: list[int], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        split_largest_remainder(100, weights)


def test_split_largest_remainder_rejects_float_total() -> None:
    with pytest.raises(TypeError, match="total_fen"):
        split_largest_remainder(100.0, [1, 1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("gross", "fee_bp", "expected"),
    [
        (10_000, 300, (300, 9_700)),
        (100, 50, (1, 99)),  # half a fen of fee rounds up
        (99, 50, (0, 99)),
        (12_345, 0, (0, 12_345)),
        (12_345, 10_000, (12_345, 0)),
        (-10_050, 1_000, (-1_005, -9_045)),
    ],
)
def test_split_fee(gross: int, fee_bp: int, expected: tuple[int, int]) -> None:
    assert split_fee(gross, fee_bp) == expected


def test_split_fee_sums_to_gross_and_matches_apply_rate() -> None:
    rng = random.Random(SEED)
    for _ in range(5_000):
        gross = rng.randint(-(10**14), 10**14) if rng.random() < 0.5 else rng.randint(0, 1_000)
        fee_bp = rng.randint(0, 10_000)
        fee, net = split_fee(gross, fee_bp)
        assert fee + net == gross
        assert fee == apply_rate_bp(gross, fee_bp)


@pytest.mark.parametrize("fee_bp", [-1, 10_001])
def test_split_fee_rejects_rates_outside_0_to_100_percent(fee_bp: int) -> None:
    with pytest.raises(ValueError, match="fee_bp"):
        split_fee(100, fee_bp)
