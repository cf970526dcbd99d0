"""What the sweep produces: reasons, suppressions and cards (plain data, JSON-ready)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, TypeVar

from bot.engine.rules import SIGNALS, Group, Lane, Severity

T = TypeVar("T")


def pickled_by_fields(cls: type[T]) -> type[T]:
    """Pickle instances of a slots dataclass as the class and its field values, unpickled by
    calling the class. (The state functions dataclasses give slots classes look the fields up
    anew for every instance: a parallel sweep hands tens of thousands of cards between
    processes, and that was half of the time it took.)"""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    values: Callable[[Any], Any] = attrgetter(*names)

    def __reduce__(self: Any) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    setattr(cls, "__reduce__", __reduce__)  # noqa: B010 (a method of the class, set once)
    return cls


@pickled_by_fields
@dataclass(slots=True)
class Reason:
    """One signal that fired for an account, with the record that fired it."""

    signal: str
    severity: Severity
    detail: str
    evidence: str
    # When the obligation began (for its age and the action score), and facts for the writer.
    since: datetime | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def lane(self) -> Lane:
        return SIGNALS[self.signal].lane

    @property
    def group(self) -> Group:
        return SIGNALS[self.signal].group

    @property
    def key_part(self) -> str:
        return f"{self.signal}:{self.evidence}"

    def to_json(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "group": self.group.value,
            "severity": self.severity.value,
            "detail": self.detail,
            "evidence": self.evidence,
        }


@pickled_by_fields
@dataclass(slots=True, frozen=True)
class Suppression:
    account: str
    signal: str
    evidence: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "signal": self.signal,
            "evidence": self.evidence,
            "why": self.why,
        }


@pickled_by_fields
@dataclass(slots=True)
class Pulse:
    health: float | None
    health_tier: str | None
    health_delta: float | None
    csm: int | None
    ai: int | None
    divergent: bool | None

    def to_json(self) -> dict[str, Any]:
        return {
            "health": _num(self.health),
            "health_tier": self.health_tier,
            "health_delta": _num(self.health_delta),
            "csm": self.csm,
            "ai": self.ai,
            "divergent": self.divergent,
        }


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 2)


@pickled_by_fields
@dataclass(slots=True)
class Card:
    account: str
    account_name: str
    csm: str | None
    lane: Lane
    action_score: float
    severity: Severity
    mrr: float | None
    segment: str | None
    touch_policy: str
    reasons: list[Reason]
    hook: str | None
    summary: str
    next_step: str
    waiting_on_you: list[str]
    pulse: Pulse
    last_touch_days: int | None
    open_requests: int
    high_impact_requests: int
    upcoming_meeting: bool
    escalate: bool
    # Not in the sweep JSON: for Slack rendering and alert bookkeeping.
    crm_url: str | None = None
    renewal_date: str | None = None
    alert_ids: dict[str, int] = field(default_factory=dict)  # reason key_part -> alert id

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "account_name": self.account_name,
            "csm": self.csm,
            "lane": self.lane.value,
            "action_score": self.action_score,
            "severity": self.severity.value,
            "mrr": _num(self.mrr),
            "segment": self.segment,
            "touch_policy": self.touch_policy,
            "reasons": [r.to_json() for r in self.reasons],
            "hook": self.hook,
            "summary": self.summary,
            "next_step": self.next_step,
            "waiting_on_you": list(self.waiting_on_you),
            "pulse": self.pulse.to_json(),
            "last_touch_days": self.last_touch_days,
            "open_requests": self.open_requests,
            "high_impact_requests": self.high_impact_requests,
            "upcoming_meeting": self.upcoming_meeting,
            "escalate": self.escalate,
        }


def iso_z(moment: datetime) -> str:
    """``2026-11-16T13:30:00Z``: an aware instant in UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
