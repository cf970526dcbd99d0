"""The action score's documented properties (followup-rules.md "Action score")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.engine.rules import Lane, Severity
from bot.engine.scoring import action_score

NOW = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)
TODAY = NOW.date()


def score(
    severity: Severity = Severity.HIGH,
    mrr: float | None = 1000,
    renewal: date | None = None,
    lane: Lane = Lane.OWE,
    oldest: datetime | None = None,
) -> float:
    return action_score(severity, mrr, renewal, TODAY, lane, oldest.date() if oldest else None)


MRRS = [0, 1, 10, 99, 500, 1000, 2500, 10_000, 60_000, 250_000, 1_000_000, 10**8, 10**9]


@pytest.mark.parametrize("severity", list(Severity))
def test_higher_mrr_never_scores_lower_and_double_scores_strictly_higher(
    severity: Severity,
) -> None:
    for low in MRRS:
        for high in MRRS:
            if high >= low:
                assert score(severity, high) >= score(severity, low)
            if low > 0 and high >= 2 * low:
                assert score(severity, high) > score(severity, low), (low, high)


def test_score_rises_with_severity() -> None:
    ranked = [score(s) for s in (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)]
    assert ranked == sorted(ranked) and len(set(ranked)) == 4


def test_score_rises_as_renewal_nears() -> None:
    far, near = (
        score(renewal=TODAY + timedelta(days=150)),
        score(renewal=TODAY + timedelta(days=10)),
    )
    assert near > far > score(renewal=None)


def test_older_obligation_scores_higher_in_owe_lane() -> None:
    assert score(oldest=NOW - timedelta(days=10)) > score(oldest=NOW - timedelta(days=1))


def test_an_obligations_age_counts_whole_calendar_days() -> None:
    # an email of 23:50 yesterday and one of 00:10 yesterday are both a day old all of today
    late, early = datetime(2026, 11, 15, 23, 50, tzinfo=UTC), datetime(2026, 11, 15, 0, 10)
    assert score(oldest=late) == score(oldest=early) > score(oldest=NOW)
    assert score(oldest=NOW - timedelta(days=7)) == (45 + 10 + 5)  # a week: 5 points


def test_score_stays_within_0_and_100() -> None:
    top = score(Severity.CRITICAL, 10**12, TODAY, Lane.OWE, NOW - timedelta(days=10_000))
    assert score(Severity.LOW, 0) >= 0 and top <= 100
