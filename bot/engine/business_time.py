"""Business-hour arithmetic in a local time zone (DST-aware through ``zoneinfo``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_DEFAULT_DAYS = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class BusinessHours:
    """Daily opening ``start``–``end`` (local wall clock) on ISO weekdays ``days``."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    days: tuple[int, ...] = _DEFAULT_DAYS

    @classmethod
    def from_config(cls, raw: dict[str, Any] | None) -> BusinessHours:
        raw = raw or {}
        return cls(
            start=parse_clock(raw.get("start") or "09:00"),
            end=parse_clock(raw.get("end") or "17:00"),
            days=tuple(raw.get("days") or _DEFAULT_DAYS),
        )


def parse_clock(text: str) -> time:
    """``"09:00"`` → ``time(9, 0)``; ``"24:00"`` means the end of the day."""
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes or 0)
    if h == 24 and m == 0:
        return time.max
    return time(h, m)


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _window(day: date, hours: BusinessHours, tz: ZoneInfo) -> tuple[datetime, datetime]:
    opens = datetime.combine(day, hours.start, tzinfo=tz)
    closes = (
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        if hours.end == time.max
        else datetime.combine(day, hours.end, tzinfo=tz)
    )
    return opens.astimezone(UTC), closes.astimezone(UTC)


def business_seconds(
    start: datetime,
    end: datetime,
    tz_name: str,
    hours: BusinessHours,
    cap: float | None = None,
) -> float:
    """Seconds of business time in ``[start, end)`` in zone ``tz_name``.

    With ``cap``, counting stops once it is exceeded (enough to compare with a threshold).
    Windows are computed from local wall-clock times each day, so a DST change is honoured.
    """
    if end <= start or not hours.days:
        return 0.0
    tz = zone(tz_name)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    total = 0.0
    while day <= last:
        if day.isoweekday() in hours.days:
            opens, closes = _window(day, hours, tz)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
                if cap is not None and total > cap:
                    return total
        day += timedelta(days=1)
    return total


def business_hours_between(
    start: datetime, end: datetime, tz_name: str, hours: BusinessHours, cap: float | None = None
) -> float:
    capped = None if cap is None else cap * 3600.0
    return business_seconds(start, end, tz_name, hours, capped) / 3600.0


def business_start_for(
    end: datetime, needed_hours: float, tz_name: str, hours: BusinessHours
) -> datetime | None:
    """The latest ``start`` with ``business_hours_between(start, end) >= needed_hours`` (None
    when there is no business time at all). Business time only grows as ``start`` moves back,
    so "has ``needed_hours`` passed since ``start``" is ``start <= business_start_for(…)``: one
    computation per zone and threshold instead of one per alert."""
    if needed_hours <= 0:
        return end
    if not hours.days:
        return None
    tz = zone(tz_name)
    need = timedelta(hours=needed_hours)
    day = end.astimezone(tz).date()
    for _ in range(3700):  # ten years of days: thresholds are hours, this is a safety stop
        if day.isoweekday() in hours.days:
            opens, closes = _window(day, hours, tz)
            hi = min(closes, end)
            if hi > opens:
                if hi - opens >= need:
                    return hi - need
                need -= hi - opens
        day -= timedelta(days=1)
    return None


def add_business_days(moment: datetime, n: int, tz_name: str, hours: BusinessHours) -> datetime:
    """The opening time of the ``n``-th business day after ``moment``'s local date."""
    tz = zone(tz_name)
    day = moment.astimezone(tz).date()
    count = 0
    while count < n:
        day += timedelta(days=1)
        if day.isoweekday() in hours.days:
            count += 1
    return _window(day, hours, tz)[0]


def local_date(moment: datetime, tz_name: str) -> date:
    return moment.astimezone(zone(tz_name)).date()


def local_time_on(day: date, clock: time, tz_name: str) -> datetime:
    """The instant of wall-clock ``clock`` on ``day`` in ``tz_name`` (as UTC)."""
    return datetime.combine(day, clock, tzinfo=zone(tz_name)).astimezone(UTC)


def next_midnight(now: datetime, tz_name: str) -> datetime:
    """The first local midnight of ``tz_name`` after ``now`` (as UTC)."""
    return local_time_on(local_date(now, tz_name) + timedelta(days=1), time(0), tz_name)


def business_instant(
    start: datetime,
    hours_needed: float,
    tz_name: str,
    hours: BusinessHours,
    *,
    beyond: bool = False,
    max_days: int = 800,
) -> datetime | None:
    """The instant at which ``hours_needed`` business hours have passed since ``start`` (the
    inverse of :func:`business_hours_between`) — with ``beyond``, the first instant after
    which *more* than that has passed (the next opening when the count is reached at a
    closing) — or None when that takes more than ``max_days`` (or there are no business
    days)."""
    if not hours.days:
        return None
    remaining = timedelta(hours=hours_needed)
    if remaining < timedelta(0) or (remaining == timedelta(0) and not beyond):
        return start
    tz = zone(tz_name)
    day = start.astimezone(tz).date()
    for _ in range(max_days):
        if day.isoweekday() in hours.days:
            opens, closes = _window(day, hours, tz)
            lo = max(opens, start)
            if closes > lo:
                if closes - lo > remaining or (closes - lo == remaining and not beyond):
                    return lo + remaining
                remaining -= closes - lo
        day += timedelta(days=1)
    return None
