"""Small text helpers for the deterministic writer (plain text; Slack escaping is bot/blocks')."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.engine.business_time import local_date, next_midnight

MAX_QUOTED = 80


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def ago(start: datetime, now: datetime, tz: str | None = None) -> str:
    """A human span from ``start`` to ``now``: '40 minutes', '5 hours', '3 days', '7 weeks'.

    From two days on, with ``tz``, it counts calendar days in that zone (Monday evening to
    Thursday morning is '3 days'), so the text moves at a local midnight rather than at the
    hour of ``start`` (see :func:`ago_changes_at`)."""
    seconds = max(0.0, (now - start).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 60:
        return plural(max(minutes, 1), "minute")
    hours = minutes // 60
    if hours < 48:
        return plural(hours, "hour")
    days = hours // 24 if tz is None else max(2, calendar_days(start, now, tz))
    return _days(days)


def _days(days: int) -> str:
    if days < 70:
        return plural(days, "day")
    if days < 730:
        return plural(days // 30, "month")
    return plural(days // 365, "year")


def calendar_days(start: datetime, now: datetime, tz: str) -> int:
    """How many local midnights of ``tz`` lie between ``start`` and ``now``."""
    return (local_date(now, tz) - local_date(start, tz)).days


def days_ago(start: datetime, now: datetime, tz: str) -> str:
    """When ``start`` was, in calendar days of ``tz``: 'today', 'yesterday', '3 days ago',
    '2 months ago'. It changes only at a local midnight."""
    days = max(0, calendar_days(start, now, tz))
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return _days(days) + " ago"


def quote(text: str, limit: int = MAX_QUOTED) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"'{text}'"


def ago_changes_at(start: datetime, now: datetime, tz: str | None = None) -> datetime:
    """The first instant after ``now`` at which ``ago(start, ·, tz)`` may read differently (the
    next minute or hour of the span; with ``tz``, from two days on, the next local midnight;
    without, the next day, 30-day or 365-day boundary of the span, as ``ago`` rounds it)."""
    seconds = max(0.0, (now - start).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 60:
        return start + timedelta(minutes=max(minutes + 1, 2))
    hours = minutes // 60
    if hours < 48:
        return start + timedelta(hours=hours + 1)
    if tz is not None:
        return next_midnight(now, tz)
    days = hours // 24
    if days < 70:
        return start + timedelta(days=days + 1)
    if days < 730:
        return start + timedelta(days=min(730, (days // 30 + 1) * 30))
    return start + timedelta(days=(days // 365 + 1) * 365)
