from collections.abc import Callable
from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from services.marketplace.kit.timeutil import (
    SHANGHAI,
    Period,
    day_period,
    end_of_shanghai_day,
    month_period,
    quarter_period,
    shanghai_date,
    to_shanghai,
    utcnow,
    year_period,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def test_utcnow_is_aware_utc() -> None:
    before = datetime.now(UTC)
    now = utcnow()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


def test_to_shanghai_keeps_the_instant() -> None:
    instant = utc(2025, 12, 31, 16, 30)
    local = to_shanghai(instant)
    assert local == instant
    assert local.tzinfo is SHANGHAI
    assert (local.year, local.month, local.day, local.hour, local.minute) == (2026, 1, 1, 0, 30)


def test_to_shanghai_accepts_any_aware_datetime() -> None:
    new_york_evening = datetime(2025, 6, 30, 20, 0, tzinfo=timezone(timedelta(hours=-4)))
    assert to_shanghai(new_york_evening).hour == 8
    assert shanghai_date(new_york_evening) == date(2025, 7, 1)


def test_to_shanghai_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_shanghai(datetime(2025, 1, 1))  # noqa: DTZ001


def test_shanghai_date_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        shanghai_date(datetime(2025, 1, 1, 12))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (utc(2025, 12, 31, 15, 59, 59, 999_999), date(2025, 12, 31)),
        (utc(2025, 12, 31, 16, 0), date(2026, 1, 1)),
        (utc(2025, 12, 31, 16, 30), date(2026, 1, 1)),
        (utc(2026, 1, 1, 15, 59), date(2026, 1, 1)),
    ],
)
def test_shanghai_date_turns_at_16_utc(instant: datetime, expected: date) -> None:
    assert shanghai_date(instant) == expected


def test_year_2025_starts_at_shanghai_midnight_in_utc() -> None:
    period = year_period(2025)
    assert period.start == utc(2024, 12, 31, 16)
    assert period.end == utc(2025, 12, 31, 16)
    assert period.start.tzinfo is UTC
    assert period.start.isoformat() == "2024-12-31T16:00:00+00:00"


def test_contract_registered_at_new_year_shanghai_belongs_to_2026() -> None:
    registered_at = utc(2025, 12, 31, 16, 30)
    assert year_period(2026).contains(registered_at)
    assert not year_period(2025).contains(registered_at)


def test_year_boundary_is_half_open() -> None:
    boundary = utc(2025, 12, 31, 16)
    just_before = boundary - timedelta(microseconds=1)
    assert year_period(2025).contains(just_before)
    assert not year_period(2025).contains(boundary)
    assert year_period(2026).contains(boundary)
    assert not year_period(2026).contains(just_before)


def test_consecutive_years_tile_without_gap() -> None:
    for year in range(1950, 2100):
        assert year_period(year).end == year_period(year + 1).start


def test_year_during_china_summer_time_still_starts_at_local_midnight() -> None:
    # China observed DST 1986–1991; midnight boundaries must follow the tz database.
    assert month_period(1988, 5).end == datetime(1988, 6, 1, tzinfo=SHANGHAI).astimezone(UTC)
    assert month_period(1988, 5).end == utc(1988, 5, 31, 15)


@pytest.mark.parametrize(
    ("year", "month", "start", "end"),
    [
        (2025, 1, utc(2024, 12, 31, 16), utc(2025, 1, 31, 16)),
        (2024, 2, utc(2024, 1, 31, 16), utc(2024, 2, 29, 16)),
        (2025, 12, utc(2025, 11, 30, 16), utc(2025, 12, 31, 16)),
    ],
)
def test_month_period(year: int, month: int, start: datetime, end: datetime) -> None:
    assert month_period(year, month) == Period(start, end)


def test_months_tile_the_year() -> None:
    months = [month_period(2026, month) for month in range(1, 13)]
    assert months[0].start == year_period(2026).start
    assert months[-1].end == year_period(2026).end
    for earlier, later in pairwise(months):
        assert earlier.end == later.start


@pytest.mark.parametrize(
    ("q", "start", "end"),
    [
        (1, utc(2024, 12, 31, 16), utc(2025, 3, 31, 16)),
        (2, utc(2025, 3, 31, 16), utc(2025, 6, 30, 16)),
        (3, utc(2025, 6, 30, 16), utc(2025, 9, 30, 16)),
        (4, utc(2025, 9, 30, 16), utc(2025, 12, 31, 16)),
    ],
)
def test_quarter_period(q: int, start: datetime, end: datetime) -> None:
    assert quarter_period(2025, q) == Period(start, end)


def test_day_period() -> None:
    period = day_period(date(2026, 12, 1))
    assert period == Period(utc(2026, 11, 30, 16), utc(2026, 12, 1, 16))
    assert period.contains(utc(2026, 12, 1, 15, 59, 59))
    assert not period.contains(utc(2026, 12, 1, 16))


def test_day_period_rejects_datetime() -> None:
    # A UTC datetime's calendar date is not its Shanghai date: make the caller choose.
    with pytest.raises(TypeError, match="shanghai_date"):
        day_period(utc(2025, 12, 31, 16, 30))


def test_applications_close_at_end_of_shanghai_day() -> None:
    deadline = end_of_shanghai_day(date(2026, 12, 1))
    assert deadline == utc(2026, 12, 1, 16)
    assert deadline.tzinfo is UTC
    assert to_shanghai(deadline) == datetime(2026, 12, 2, tzinfo=SHANGHAI)
    last_moment = to_shanghai(deadline - timedelta(microseconds=1))
    assert last_moment.date() == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: month_period(2025, 0), "month"),
        (lambda: month_period(2025, 13), "month"),
        (lambda: quarter_period(2025, 0), "quarter"),
        (lambda: quarter_period(2025, 5), "quarter"),
        (lambda: year_period(1), "year"),
        (lambda: year_period(9999), "year"),
        (lambda: day_period(date(9999, 12, 31)), "year"),
    ],
)
def test_periods_reject_out_of_range(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_period_normalises_to_utc() -> None:
    start = datetime(2025, 1, 1, tzinfo=SHANGHAI)
    period = Period(start, start + timedelta(days=1))
    assert period.start.tzinfo is UTC
    assert period.start == utc(2024, 12, 31, 16)
    assert period == day_period(date(2025, 1, 1))


def test_period_rejects_naive_and_empty() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Period(datetime(2025, 1, 1), utc(2025, 1, 2))  # noqa: DTZ001
    with pytest.raises(ValueError, match="before"):
        Period(utc(2025, 1, 2), utc(2025, 1, 2))
    with pytest.raises(ValueError, match="before"):
        Period(utc(2025, 1, 2), utc(2025, 1, 1))


def test_period_contains_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        year_period(2025).contains(datetime(2025, 6, 1))  # noqa: DTZ001


def test_period_is_frozen() -> None:
    period = year_period(2025)
    with pytest.raises(FrozenInstanceError):
        period.start = utc(2020, 1, 1)  # type: ignore[misc]
