"""Small text helpers for the deterministic writer (plain text; Slack escaping is bot/blocks')."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_QUOTED = 80


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def ago(start: datetime, now: datetime) -> str:
    """A human span from ``start`` to ``now``: '40 minutes', '5 hours', '3 days', '7 weeks'."""
    seconds = max(0.0, (now - start).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 60:
        return plural(max(minutes, 1), "minute")
    hours = minutes // 60
    if hours < 48:
        return plural(hours, "hour")
    days = hours // 24
    if days < 70:
        return plural(days, "day")
    if days < 730:
        return plural(days // 30, "month")
    return plural(days // 365, "year")


def quote(text: str, limit: int = MAX_QUOTED) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"'{text}'"


def ago_changes_at(start: datetime, now: datetime) -> datetime:
    """The first instant after ``now`` at which ``ago(start, ·)`` may read differently (the next
    minute, hour, day, 30-day or 365-day boundary of the span, as ``ago`` rounds it)."""
    seconds = max(0.0, (now - start).total_seconds())
    minutes = int(seconds // 60)
    if minutes < 60:
        return start + timedelta(minutes=max(minutes + 1, 2))
    hours = minutes // 60
    if hours < 48:
        return start + timedelta(hours=hours + 1)
    days = hours // 24
    if days < 70:
        return start + timedelta(days=days + 1)
    if days < 730:
        return start + timedelta(days=min(730, (days // 30 + 1) * 30))
    return start + timedelta(days=(days // 365 + 1) * 365)
