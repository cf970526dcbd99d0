"""The records a summary is built from, as plain frozen data (no SQLAlchemy, no Slack)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# KPI statuses (data-format.md) and which of them count as progress.
KPI_GOOD = ("on_track", "completed")
KPI_EXCLUDED_FROM_VALUE = ("off_track", "not_started", "blocked")
# A KPI on track shows "significant progress" from this share of the way to its target.
SIGNIFICANT_PROGRESS = 0.5


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: str
    name: str
    mrr: float | None
    segment: str | None
    status: str
    touch_policy: str
    renewal_date: date | None
    traits: dict[str, Any]
    csm_id: str | None
    csm_name: str | None
    csm_pulse: int | None
    csm_pulse_note: str | None
    ai_pulse: int | None
    health: float | None
    health_prev: float | None
    usage_trend: float | None
    adoption: float | None
    csat: float | None
    blocker: str | None
    crm_url: str | None


@dataclass(frozen=True, slots=True)
class Person:
    """A stakeholder: one of the account's contacts (``theirs``) or one of our users."""

    id: str
    name: str
    side: str  # "theirs" | "ours"
    title: str | None = None
    role: str | None = None
    last_active_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    id: str
    title: str | None
    status: str | None
    starts_on: date | None
    ends_on: date | None


@dataclass(frozen=True, slots=True)
class Objective:
    id: str
    plan_id: str
    title: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class Kpi:
    id: str
    objective_id: str
    name: str | None
    status: str | None
    baseline: float | None
    target: float | None
    current: float | None
    unit: str | None
    updated_at: datetime | None

    @property
    def progress(self) -> float | None:
        """The share of the way from baseline to target (1.0 at the target; may be negative
        or above 1); None when it cannot be computed."""
        if self.baseline is None or self.target is None or self.current is None:
            return None
        span = self.target - self.baseline
        if span == 0:
            return 1.0 if self.current == self.target else None
        return (self.current - self.baseline) / span

    @property
    def significant(self) -> bool:
        """Counts as a strategic value achievement (the seed's Key Achievements rule): on
        track or completed, and completed or at least half way to its target."""
        if self.status not in KPI_GOOD:
            return False
        if self.status == "completed":
            return True
        progress = self.progress
        return progress is not None and progress >= SIGNIFICANT_PROGRESS


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    title: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class Playbook:
    id: str
    name: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class PlaybookTask:
    id: str
    playbook_id: str
    title: str | None
    status: str | None
    due_at: datetime | None
    completed_at: datetime | None

    @property
    def done(self) -> bool:
        return self.completed_at is not None or (self.status or "").lower() in (
            "done",
            "completed",
            "complete",
            "closed",
            "skipped",
        )


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str | None
    status: str | None
    priority: str | None
    opened_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Opportunity:
    id: str
    title: str | None
    kind: str | None
    stage: str | None
    status: str | None
    amount: float | None
    close_date: date | None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class ActivityRow:
    id: str
    at: datetime
    kind: str
    direction: str
    subject: str | None
    text: str | None  # the start of the body, whitespace collapsed
    user_id: str | None
    contact_id: str | None
    outcome: str | None
    links: tuple[str, ...] = ()  # ids of this account's hierarchy records it is linked to

    @property
    def words(self) -> str:
        return " ".join(p for p in (self.subject, self.text) if p)


@dataclass(frozen=True, slots=True)
class Obligation:
    """An open obligation of the account's queue (what the sweep flags today)."""

    text: str
    refs: tuple[str, ...]
    severity: str
    lane: str


@dataclass(slots=True)
class ActivityWindow:
    """The account's most recent activities in the period, newest first: ``total`` in the
    period, of which ``rows`` were read (all of them when ``complete``)."""

    rows: list[ActivityRow] = field(default_factory=list)
    total: int = 0

    @property
    def complete(self) -> bool:
        return len(self.rows) >= self.total
