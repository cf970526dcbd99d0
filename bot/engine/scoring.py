"""The action score: one number from 0 to 100 per card, used to rank cards within a lane.

    score = severity points + MRR points + renewal points + age points

* severity points — the card's top severity: critical 60, high 45, medium 30, low 15;
* MRR points (0–20, never reached) — ``20 × (1 − 1 / (1 + log2(1 + MRR / 1000)))``: strictly
  increasing in MRR, so of two cards that differ only in MRR the larger never scores lower, and
  doubling MRR always adds a visible amount (≥ 0.04 points up to an MRR of 10⁹);
* renewal points (0–10) — ``10 × (1 − days_to_renewal / 180)`` for a renewal within 180 days,
  0 for none, further away or already past;
* age points (0–10, Owe lane only) — ``10 × (1 − 1 / (1 + days / 7))`` for the oldest
  obligation's age in days: a week-old obligation earns 5, a month-old one about 8.1.

Each part stays below its maximum, so the sum stays below 100; it is rounded to 2 decimals.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from bot.engine.rules import Lane, Severity

SEVERITY_POINTS = {
    Severity.CRITICAL: 60.0,
    Severity.HIGH: 45.0,
    Severity.MEDIUM: 30.0,
    Severity.LOW: 15.0,
}
MRR_POINTS = 20.0
MRR_SCALE = 1000.0
RENEWAL_POINTS = 10.0
RENEWAL_HORIZON_DAYS = 180
AGE_POINTS = 10.0
AGE_HALF_DAYS = 7.0


def mrr_points(mrr: float | None) -> float:
    value = max(0.0, mrr or 0.0)
    return MRR_POINTS * (1.0 - 1.0 / (1.0 + math.log2(1.0 + value / MRR_SCALE)))


def renewal_points(renewal: date | None, today: date) -> float:
    if renewal is None:
        return 0.0
    days = (renewal - today).days
    if days < 0 or days >= RENEWAL_HORIZON_DAYS:
        return 0.0
    return RENEWAL_POINTS * (1.0 - days / RENEWAL_HORIZON_DAYS)


def age_points(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    days = max(0.0, (now - oldest).total_seconds() / 86400.0)
    return AGE_POINTS * (1.0 - 1.0 / (1.0 + days / AGE_HALF_DAYS))


def action_score(
    severity: Severity,
    mrr: float | None,
    renewal: date | None,
    today: date,
    lane: Lane,
    oldest_obligation: datetime | None,
    now: datetime,
) -> float:
    total = SEVERITY_POINTS[severity] + mrr_points(mrr) + renewal_points(renewal, today)
    if lane is Lane.OWE:
        total += age_points(oldest_obligation, now)
    return round(total, 2)


def score_changes_at(
    severity: Severity,
    mrr: float | None,
    renewal: date | None,
    today: date,
    lane: Lane,
    oldest_obligation: datetime | None,
    now: datetime,
) -> datetime | None:
    """The earliest instant after ``now`` at which the (rounded) score can change while the
    date stays ``today``: only the age points move within a day, and only in the Owe lane.
    Slightly early (never late): the age points' crossing of the next rounding step, less a
    margin for floating point. None when it cannot change within the day this way."""
    if lane is not Lane.OWE or oldest_obligation is None:
        return None
    base = SEVERITY_POINTS[severity] + mrr_points(mrr) + renewal_points(renewal, today)
    score = action_score(severity, mrr, renewal, today, lane, oldest_obligation, now)
    target = score + 0.005 - base - 1e-7  # the age points at which the rounding moves up
    if target <= age_points(oldest_obligation, now):
        return now
    if target >= AGE_POINTS:
        return None
    days = AGE_HALF_DAYS * (1.0 / (1.0 - target / AGE_POINTS) - 1.0)
    return max(now, oldest_obligation + timedelta(days=days))
