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

    def to_stored(self) -> dict[str, Any]:
        """Everything of the reason, JSON-ready (the stored queue)."""
        return {
            **self.to_json(),
            "since": self.since.isoformat() if self.since is not None else None,
            "facts": self.facts,
        }

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Reason:
        since = data.get("since")
        return cls(
            signal=data["signal"],
            severity=Severity(data["severity"]),
            detail=data["detail"],
            evidence=data["evidence"],
            since=datetime.fromisoformat(since) if since else None,
            facts=dict(data.get("facts") or {}),
        )


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Pulse:
        return cls(
            health=data.get("health"),
            health_tier=data.get("health_tier"),
            health_delta=data.get("health_delta"),
            csm=data.get("csm"),
            ai=data.get("ai"),
            divergent=data.get("divergent"),
        )


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
    # Actions recommended to the CSM (automation level "recommend"): (action id, title), shown
    # with a "Do it" button.
    suggested: list[tuple[str, str]] = field(default_factory=list)
    # Who wrote hook, summary and next step: None (the rules writer) or "ai" (bot.ai.cards).
    text_by: str | None = None

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

    def to_stored(self) -> dict[str, Any]:
        """The card as the stored queue keeps it: the sweep JSON card, its reasons whole, and
        what Slack rendering and the buttons need (the CRM link, the renewal, the alert ids)."""
        out = self.to_json()
        out["mrr"] = self.mrr
        out["reasons"] = [r.to_stored() for r in self.reasons]
        out["crm_url"] = self.crm_url
        out["renewal_date"] = self.renewal_date
        out["alert_ids"] = dict(self.alert_ids)
        if self.text_by is not None:
            out["text_by"] = self.text_by
        if self.suggested:
            out["suggested"] = [list(pair) for pair in self.suggested]
        return out

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> Card:
        return cls(
            account=data["account"],
            account_name=data["account_name"],
            csm=data["csm"],
            lane=Lane(data["lane"]),
            action_score=data["action_score"],
            severity=Severity(data["severity"]),
            mrr=data["mrr"],
            segment=data["segment"],
            touch_policy=data["touch_policy"],
            reasons=[Reason.from_stored(r) for r in data["reasons"]],
            hook=data["hook"],
            summary=data["summary"],
            next_step=data["next_step"],
            waiting_on_you=list(data["waiting_on_you"]),
            pulse=Pulse.from_json(data["pulse"]),
            last_touch_days=data["last_touch_days"],
            open_requests=data["open_requests"],
            high_impact_requests=data["high_impact_requests"],
            upcoming_meeting=data["upcoming_meeting"],
            escalate=data["escalate"],
            crm_url=data.get("crm_url"),
            renewal_date=data.get("renewal_date"),
            alert_ids={str(k): int(v) for k, v in (data.get("alert_ids") or {}).items()},
            text_by=data.get("text_by"),
            suggested=[(str(a), str(t)) for a, t in data.get("suggested") or []],
        )


def iso_z(moment: datetime) -> str:
    """``2026-11-16T13:30:00Z``: an aware instant in UTC, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
