"""Instants in UTC, business calendars in Asia/Shanghai.

Timestamps are stored as aware UTC datetimes (``timestamptz``); statistics years, months,
quarters and deadlines follow the Shanghai calendar, so their boundaries are Shanghai
midnights expressed as UTC instants.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

# One year of headroom at each end keeps every boundary and its UTC form representable.
MIN_YEAR = 2
MAX_YEAR = 9998


def _require_aware(dt: datetime, name: str = "dt") -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {dt.isoformat()}")
    return dt


def _require_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}, got {year}")
    return year


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def to_shanghai(dt: datetime) -> datetime:
    """The same instant on Shanghai wall-clock time; naive datetimes are rejected."""
    return _require_aware(dt).astimezone(SHANGHAI)


def shanghai_date(dt: datetime) -> date:
    """The Shanghai calendar date on which the instant ``dt`` falls."""
    return to_shanghai(dt).date()


def _shanghai_midnight(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """A half-open interval ``[start, end)`` of aware instants, normalised to UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = _require_aware(self.start, "start").astimezone(UTC)
        end = _require_aware(self.end, "end").astimezone(UTC)
        if start >= end:
            raise ValueError(f"period start {start.isoformat()} must be before end {end.isoformat()}")
        # Frozen dataclass: normalising in place needs object.__setattr__.
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def contains(self, dt: datetime) -> bool:
        """Whether the aware instant ``dt`` lies in ``[start, end)``."""
        return self.start <= _require_aware(dt) < self.end


def _period_between(first_day: date, day_after: date) -> Period:
    return Period(_shanghai_midnight(first_day), _shanghai_midnight(day_after))


def year_period(year: int) -> Period:
    """The Shanghai calendar year: 2025 is [2024-12-31T16:00Z, 2025-12-31T16:00Z)."""
    _require_year(year)
    return _period_between(date(year, 1, 1), date(year + 1, 1, 1))


def _first_of_month_after(year: int, month: int) -> date:
    return date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)


def month_period(year: int, month: int) -> Period:
    """The Shanghai calendar month ``month`` (1–12) of ``year``."""
    _require_year(year)
    if not 1 <= month <= 12:
        raise ValueError(f"month must be between 1 and 12, got {month}")
    return _period_between(date(year, month, 1), _first_of_month_after(year, month))


def quarter_period(year: int, q: int) -> Period:
    """The Shanghai calendar quarter ``q`` (1–4) of ``year``."""
    _require_year(year)
    if not 1 <= q <= 4:
        raise ValueError(f"quarter must be between 1 and 4, got {q}")
    last_month = 3 * q
    return _period_between(date(year, last_month - 2, 1), _first_of_month_after(year, last_month))


def day_period(d: date) -> Period:
    """The Shanghai calendar day ``d``, from its midnight to the next."""
    # datetime is a subclass of date; taking its .date() here would silently use the wrong zone.
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"d must be a date (use shanghai_date() for an instant), got {type(d).__name__}")
    _require_year(d.year)
    return _period_between(d, d + timedelta(days=1))


def end_of_shanghai_day(d: date) -> datetime:
    """The UTC instant at which Shanghai day ``d`` ends (the next Shanghai midnight).

    A deadline "until the end of 2026-12-01" is open while ``now < end_of_shanghai_day(...)``.
    """
    return day_period(d).end
