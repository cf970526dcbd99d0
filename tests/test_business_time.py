"""Business-hour arithmetic: weekends, time zones and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.engine.business_time import (
    BusinessHours,
    add_business_days,
    business_hours_between,
    business_start_for,
)

NY = "America/New_York"
BH = BusinessHours()


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(NY)).astimezone(UTC)


def test_friday_afternoon_to_monday_morning_counts_only_friday() -> None:
    # Fri 2026-11-13 15:00 → Mon 2026-11-16 10:00 New York: 2h Friday + 1h Monday.
    assert business_hours_between(ny(2026, 11, 13, 15), ny(2026, 11, 16, 10), NY, BH) == 3


def test_weekend_only_span_is_zero() -> None:
    assert business_hours_between(ny(2026, 11, 14, 8), ny(2026, 11, 15, 20), NY, BH) == 0


def test_full_week_is_forty_hours() -> None:
    assert business_hours_between(ny(2026, 11, 9, 0), ny(2026, 11, 16, 0), NY, BH) == 40


def test_same_instant_in_other_zone_differs() -> None:
    start, end = ny(2026, 11, 16, 9), ny(2026, 11, 16, 12)  # 09:00–12:00 New York
    assert business_hours_between(start, end, NY, BH) == 3
    # 14:00–17:00 in London: all of it is business time there too.
    assert business_hours_between(start, end, "Europe/London", BH) == 3
    # 06:00–09:00 in Los Angeles: none of it.
    assert business_hours_between(start, end, "America/Los_Angeles", BH) == 0


@pytest.mark.parametrize(
    ("start", "end"),
    [
        # Spring forward: Sun 2026-03-08 in New York; the Monday window is still 8 real hours.
        (ny(2026, 3, 6, 12), ny(2026, 3, 9, 12)),
        # Fall back: Sun 2026-11-01.
        (ny(2026, 10, 30, 12), ny(2026, 11, 2, 12)),
    ],
)
def test_dst_weekend_does_not_change_business_hours(start: datetime, end: datetime) -> None:
    # Fri 12:00 → Mon 12:00 local: 5h Friday + 3h Monday, although the wall clock moved.
    assert business_hours_between(start, end, NY, BH) == 8
    assert (end - start) != timedelta(days=3)  # the real span did change


def test_custom_hours_and_days() -> None:
    hours = BusinessHours.from_config({"start": "08:00", "end": "12:00", "days": [6, 7]})
    # Sat and Sun mornings only.
    assert business_hours_between(ny(2026, 11, 13, 0), ny(2026, 11, 16, 0), NY, hours) == 8


def test_cap_stops_counting_early() -> None:
    total = business_hours_between(ny(2026, 1, 1, 0), ny(2026, 12, 31, 0), NY, BH, cap=10)
    assert 10 < total <= 18


def test_add_business_days_skips_weekend() -> None:
    # From Thursday: Fri, Mon, Tue → Tuesday 09:00.
    assert add_business_days(ny(2026, 11, 12, 15), 3, NY, BH) == ny(2026, 11, 17, 9)


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Australia/Sydney"])
@pytest.mark.parametrize("needed", [0.5, 8, 16, 17.25, 40])
def test_business_start_for_is_the_latest_start_with_that_much_business_time(
    zone: str, needed: float
) -> None:
    hours = BusinessHours()
    # Ends through a week with a DST change in each hemisphere (and weekends).
    for end in (
        datetime(2027, 3, 16, 19, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 15, 30, tzinfo=UTC),
        datetime(2027, 4, 5, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 22, 12, 0, tzinfo=UTC),  # a Sunday
    ):
        start = business_start_for(end, needed, zone, hours)
        assert start is not None
        assert business_hours_between(start, end, zone, hours) == pytest.approx(needed)
        assert business_hours_between(start + timedelta(seconds=1), end, zone, hours) < needed


def test_business_start_for_without_business_days_is_none() -> None:
    end = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    assert business_start_for(end, 8, "UTC", BusinessHours(days=())) is None
