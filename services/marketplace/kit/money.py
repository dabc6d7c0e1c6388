"""Money as integer fen (1 元 = 100 fen); rates as integer basis points (1 bp = 0.01 %).

Nothing here touches ``float``. Rounding is half-up on the magnitude (half away from
zero, like ``decimal.ROUND_HALF_UP``), so a negative amount rounds as the mirror image
of its positive counterpart.
"""

import re
from collections.abc import Sequence

FEN_PER_YUAN = 100
FEN_PER_WAN = 1_000_000  # 万元 = 10⁴ yuan
FEN_PER_YI = 10_000_000_000  # 亿元 = 10⁸ yuan
BP_PER_UNIT = 10_000  # 100 % in basis points
MAX_FEN = 2**63 - 1  # PostgreSQL BIGINT
_MAX_WHOLE_YUAN_DIGITS = len(str(MAX_FEN // FEN_PER_YUAN))

_YUAN_PATTERN = re.compile(
    r"(?P<sign>[+-]?)(?P<whole>[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?",
    re.ASCII,
)


def _require_int(name: str, value: int) -> int:
    # bool is an int subclass and float sneaks in easily: both are bugs for money.
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return value


def _div_half_up(numerator: int, denominator: int) -> int:
    """Divide, rounding half away from zero; ``denominator`` must be positive."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def _format_in_unit(fen: int, fen_per_unit: int, places: int, suffix: str) -> str:
    _require_int("fen", fen)
    _require_int("places", places)
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    scale = 10**places
    scaled = _div_half_up(fen * scale, fen_per_unit)
    # A value that rounds to zero prints without a minus sign.
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), scale)
    digits = f"{whole:,}" if places == 0 else f"{whole:,}.{frac:0{places}d}"
    return f"{sign}{digits} {suffix}"


def format_yuan(fen: int) -> str:
    """Format fen as yuan with thousands separators: ``123456`` → ``"1,234.56 元"``."""
    return _format_in_unit(fen, FEN_PER_YUAN, 2, "元")


def format_wan(fen: int, places: int = 2) -> str:
    """Format fen in 万元 (10⁴ yuan), rounded half-up to ``places`` decimals."""
    return _format_in_unit(fen, FEN_PER_WAN, places, "万元")


def format_yi(fen: int, places: int = 2) -> str:
    """Format fen in 亿元 (10⁸ yuan), rounded half-up: ``12 * 10**12`` → ``"1,200.00 亿元"``."""
    return _format_in_unit(fen, FEN_PER_YI, places, "亿元")


def parse_yuan(text: str) -> int:
    """Parse a decimal yuan amount such as ``"12.34"``, ``"1,234"`` or ``"-12.3"`` into fen.

    Accepts an optional sign, ASCII digits, comma thousands separators in groups of three
    and at most two decimals. Rejects anything else (exponents, NaN, infinity, blanks)
    and amounts outside the BIGINT range, with a ``ValueError`` that names the problem.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("amount is empty")
    match = _YUAN_PATTERN.fullmatch(stripped)
    if match is None:
        raise ValueError(f"not a decimal yuan amount (expected e.g. '1,234.56'): {text!r}")
    frac = match["frac"] or ""
    if len(frac) > 2:
        raise ValueError(f"yuan amounts have at most 2 decimal places (fen): {text!r}")
    whole = match["whole"].replace(",", "").lstrip("0")
    # The length check keeps int() away from absurdly long digit strings.
    too_long = len(whole) > _MAX_WHOLE_YUAN_DIGITS
    magnitude = 0 if too_long else int(whole or "0") * FEN_PER_YUAN + int(frac.ljust(2, "0"))
    if too_long or magnitude > MAX_FEN:
        raise ValueError(f"amount does not fit in a BIGINT of fen: {text!r}")
    return -magnitude if match["sign"] == "-" else magnitude


def apply_rate_bp(fen: int, rate_bp: int) -> int:
    """Return ``fen × rate_bp / 10000`` rounded half-up to whole fen."""
    _require_int("fen", fen)
    _require_int("rate_bp", rate_bp)
    return _div_half_up(fen * rate_bp, BP_PER_UNIT)


def _validated_weights(weights: Sequence[int]) -> list[int]:
    checked = [_require_int("weight", weight) for weight in weights]
    if not checked:
        raise ValueError("weights must not be empty")
    if any(weight < 0 for weight in checked):
        raise ValueError(f"weights must be non-negative, got {checked}")
    if sum(checked) <= 0:
        raise ValueError("weights must have a positive sum")
    return checked


def split_largest_remainder(total_fen: int, weights: Sequence[int]) -> list[int]:
    """Split ``total_fen`` in proportion to ``weights`` so the parts sum exactly to it.

    Each part gets its floor share; the fen left over go one each to the parts with the
    largest remainders, ties broken by the lower index. A zero weight always gets 0.
    A negative total is split as the mirror image of its magnitude.
    """
    _require_int("total_fen", total_fen)
    checked = _validated_weights(weights)
    if total_fen < 0:
        return [-part for part in split_largest_remainder(-total_fen, checked)]
    weight_sum = sum(checked)
    shares = [divmod(total_fen * weight, weight_sum) for weight in checked]
    parts = [floor for floor, _ in shares]
    leftover = total_fen - sum(parts)
    by_remainder = sorted(range(len(shares)), key=lambda index: (-shares[index][1], index))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts


def split_fee(gross_fen: int, fee_bp: int) -> tuple[int, int]:
    """Split ``gross_fen`` into ``(fee, net)`` at ``fee_bp`` basis points; fee + net == gross.

    With two parts, largest-remainder equals rounding the fee half-up, so the fee matches
    ``apply_rate_bp(gross_fen, fee_bp)``.
    """
    _require_int("fee_bp", fee_bp)
    if not 0 <= fee_bp <= BP_PER_UNIT:
        raise ValueError(f"fee_bp must be between 0 and {BP_PER_UNIT}, got {fee_bp}")
    fee, net = split_largest_remainder(gross_fen, [fee_bp, BP_PER_UNIT - fee_bp])
    return fee, net
