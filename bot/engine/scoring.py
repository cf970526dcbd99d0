"""The action score: one number from 0 to 100 per card, used to rank cards within a lane.

    score = severity points + MRR points + renewal points + age points

* severity points — the card's top severity: critical 60, high 45, medium 30, low 15;
* MRR points (0–20, never reached) — ``20 × (1 − 1 / (1 + log2(1 + MRR / 1000)))``: strictly
  increasing in MRR, so of two cards that differ only in MRR the larger never scores lower, and
  doubling MRR always adds a visible amount (≥ 0.04 points up to an MRR of 10⁹);
* renewal points (0–10) — ``10 × (1 − days_to_renewal / 180)`` for a renewal within 180 days,
  0 for none, further away or already past;
* age points (0–10, Owe lane only) — ``10 × (1 − 1 / (1 + days / 7))`` for the oldest
  obligation's age in whole calendar days (the account's time zone: an email of yesterday is 1
  day old all of today): a week-old obligation earns 5, a month-old one about 8.1.

Each part stays below its maximum, so the sum stays below 100; it is rounded to 2 decimals. The
score is a function of the account's data and of the local date only: with the data unchanged it
moves at a local midnight, never in between (which is what lets the incremental sweep leave a
card alone for the rest of the day, bot.engine.horizons).
"""

from __future__ import annotations

import math
from datetime import date

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


def age_points(oldest: date | None, today: date) -> float:
    """The age points of an obligation that arose on the local date ``oldest``."""
    if oldest is None:
        return 0.0
    days = max(0, (today - oldest).days)
    return AGE_POINTS * (1.0 - 1.0 / (1.0 + days / AGE_HALF_DAYS))


def action_score(
    severity: Severity,
    mrr: float | None,
    renewal: date | None,
    today: date,
    lane: Lane,
    oldest_obligation: date | None,
) -> float:
    """The card's score on the local date ``today``; ``oldest_obligation`` is the local date of
    its oldest Owe-lane reason."""
    total = SEVERITY_POINTS[severity] + mrr_points(mrr) + renewal_points(renewal, today)
    if lane is Lane.OWE:
        total += age_points(oldest_obligation, today)
    return round(total, 2)
