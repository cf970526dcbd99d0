"""The follow-up rules: signal catalogue, default thresholds, org/team overrides.

Every number of followup-rules.md is a default here, never a constant in the signal code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Lane(StrEnum):
    OWE = "owe_them_something"
    NEWS = "bring_them_news"
    STAY = "stay_close"

    @property
    def label(self) -> str:
        return LANE_TITLES[self]

    @property
    def order(self) -> int:
        return LANE_ORDER.index(self)


LANE_ORDER = (Lane.OWE, Lane.NEWS, Lane.STAY)
LANE_TITLES = {
    Lane.OWE: "Owe Them Something",
    Lane.NEWS: "Bring Them News",
    Lane.STAY: "Stay Close",
}


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class Group(StrEnum):
    DIRECT_ACTION = "direct_action"
    CONDUIT = "conduit"
    RISK_TREND = "risk_trend"
    COVERAGE_DEBT = "coverage_debt"

    @property
    def label(self) -> str:
        """The group's name on a card's reason badges, in a CSM's words."""
        return GROUP_LABELS[self]


GROUP_LABELS = {
    Group.DIRECT_ACTION: "Act now",
    Group.CONDUIT: "Close the loop",
    Group.RISK_TREND: "Risk",
    Group.COVERAGE_DEBT: "Keep in touch",
}


@dataclass(frozen=True)
class SignalSpec:
    id: str
    lane: Lane
    group: Group
    title: str


_SIGNALS = (
    SignalSpec("unreplied_customer_email", Lane.OWE, Group.DIRECT_ACTION, "Unreplied email"),
    SignalSpec("no_first_response", Lane.OWE, Group.DIRECT_ACTION, "No first response"),
    SignalSpec("overdue_task", Lane.OWE, Group.DIRECT_ACTION, "Overdue task"),
    SignalSpec("call_retry_due", Lane.OWE, Group.DIRECT_ACTION, "Call retry due"),
    SignalSpec(
        "stale_high_impact_request", Lane.OWE, Group.DIRECT_ACTION, "Stale high-impact request"
    ),
    SignalSpec("unowned_action_item", Lane.OWE, Group.DIRECT_ACTION, "Unowned action item"),
    SignalSpec("health_drop", Lane.OWE, Group.RISK_TREND, "Health drop"),
    SignalSpec("request_shipped", Lane.NEWS, Group.CONDUIT, "Request shipped"),
    SignalSpec("request_discussed", Lane.NEWS, Group.CONDUIT, "Request discussed"),
    SignalSpec("no_recent_touch", Lane.STAY, Group.COVERAGE_DEBT, "No recent touch"),
    SignalSpec("never_touched", Lane.STAY, Group.COVERAGE_DEBT, "Never touched"),
    SignalSpec("stale_meeting_cadence", Lane.STAY, Group.COVERAGE_DEBT, "Stale meeting cadence"),
    SignalSpec("missing_next_step", Lane.STAY, Group.COVERAGE_DEBT, "Missing next step"),
    SignalSpec("no_next_action", Lane.STAY, Group.COVERAGE_DEBT, "No next action"),
    SignalSpec("low_pulse", Lane.STAY, Group.RISK_TREND, "Low pulse"),
    SignalSpec("pulse_divergence", Lane.STAY, Group.RISK_TREND, "Pulse divergence"),
)
SIGNALS: dict[str, SignalSpec] = {s.id: s for s in _SIGNALS}
SIGNAL_IDS = tuple(SIGNALS)

TOUCH_POLICIES = ("strategic", "onboarding", "standard", "low_touch")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TouchDays(_Strict):
    strategic: int = Field(14, ge=0)
    onboarding: int = Field(7, ge=0)
    standard: int = Field(30, ge=0)
    low_touch: int = Field(60, ge=0)


class MeetingCadenceDays(_Strict):
    strategic: int | None = Field(30, ge=0)
    onboarding: int | None = Field(14, ge=0)
    standard: int | None = Field(90, ge=0)
    low_touch: int | None = Field(None, ge=0)


class HealthTiers(_Strict):
    """Lower bounds of the tiers above ``critical`` on the 0–100 health score."""

    healthy: float = Field(80, ge=0, le=100)
    needs_attention: float = Field(60, ge=0, le=100)
    at_risk: float = Field(40, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> HealthTiers:
        if not self.healthy > self.needs_attention > self.at_risk:
            raise ValueError("health_tiers must satisfy healthy > needs_attention > at_risk")
        return self

    def tier(self, score: float) -> str:
        if score >= self.healthy:
            return "healthy"
        if score >= self.needs_attention:
            return "needs_attention"
        if score >= self.at_risk:
            return "at_risk"
        return "critical"


TIER_RANK = {"critical": 0, "at_risk": 1, "needs_attention": 2, "healthy": 3}


class AssessmentThresholds(_Strict):
    """Where the account assessment (bot/engine/assessment.py) draws its lines; the legacy
    health score gives its points at the same lines."""

    usage_decline: float = Field(-0.10, ge=-1, le=0)  # usage_trend at or below: declining
    usage_steep_decline: float = Field(-0.30, ge=-1, le=0)
    low_adoption: float = Field(0.60, ge=0, le=1)  # adoption below: low
    very_low_adoption: float = Field(0.40, ge=0, le=1)
    support_issues: int = Field(3, ge=1)  # open issues at or above: a support burden
    heavy_support_issues: int = Field(5, ge=1)
    low_csat: float = Field(3.5, ge=1, le=5)  # CSAT below: low
    very_low_csat: float = Field(3.0, ge=1, le=5)
    renewal_window_days: int = Field(90, ge=0)  # a renewal this close puts risk on it
    renewal_imminent_days: int = Field(30, ge=0)
    churn_indicators: int = Field(2, ge=1)  # churn indicators that make a churn risk

    @model_validator(mode="after")
    def _ordered(self) -> AssessmentThresholds:
        pairs = (
            (
                "usage_steep_decline",
                "usage_decline",
                self.usage_steep_decline <= self.usage_decline,
            ),
            ("very_low_adoption", "low_adoption", self.very_low_adoption <= self.low_adoption),
            (
                "support_issues",
                "heavy_support_issues",
                self.support_issues <= self.heavy_support_issues,
            ),
            ("very_low_csat", "low_csat", self.very_low_csat <= self.low_csat),
            (
                "renewal_imminent_days",
                "renewal_window_days",
                self.renewal_imminent_days <= self.renewal_window_days,
            ),
        )
        for low, high, ok in pairs:
            if not ok:
                raise ValueError(f"{low} must not be above {high}")
        return self


class LegacyPoints(_Strict):
    """Risk points of the legacy additive health score, per field band (seed 004)."""

    usage_decline: float = Field(15, ge=0)
    usage_steep_decline: float = Field(30, ge=0)
    low_adoption: float = Field(10, ge=0)
    very_low_adoption: float = Field(20, ge=0)
    support_issues: float = Field(10, ge=0)
    heavy_support_issues: float = Field(20, ge=0)
    low_csat: float = Field(10, ge=0)
    very_low_csat: float = Field(20, ge=0)
    blocker_minor: float = Field(5, ge=0)
    blocker_major: float = Field(20, ge=0)


class LegacyTiers(_Strict):
    """Lowest totals of the legacy score's tiers below ``healthy`` (more points: worse)."""

    needs_attention: float = Field(20, ge=0)
    at_risk: float = Field(40, ge=0)
    critical: float = Field(60, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> LegacyTiers:
        if not 0 < self.needs_attention < self.at_risk < self.critical:
            raise ValueError("legacy_tiers must satisfy 0 < needs_attention < at_risk < critical")
        return self

    def tier(self, total: float) -> str:
        if total >= self.critical:
            return "critical"
        if total >= self.at_risk:
            return "at_risk"
        if total >= self.needs_attention:
            return "needs_attention"
        return "healthy"


class Rules(_Strict):
    """The effective thresholds for one account (org rules with its team's overrides)."""

    reply_sla_business_hours: float = Field(8, gt=0)
    first_response_sla_hours: float = Field(48, ge=0)
    new_account_days: float = Field(30, ge=0)
    call_retry_hours: float = Field(24, ge=0)
    stale_request_days: float = Field(30, ge=0)
    health_drop_points: float = Field(15, gt=0)
    news_window_days: float = Field(30, ge=0)
    next_step_grace_hours: float = Field(48, ge=0)
    next_step_window_days: float = Field(30, ge=0)
    touch_days: TouchDays = TouchDays()
    meeting_cadence_days: MeetingCadenceDays = MeetingCadenceDays()
    pulse_divergence_gap: float = Field(3, gt=0)
    low_pulse_max: float = Field(4, ge=1, le=10)
    escalate_after_business_hours: float = Field(16, ge=0)
    escalation_reminder_business_hours: float = Field(8, gt=0)
    health_tiers: HealthTiers = HealthTiers()
    reply_critical_multiple: float = Field(3, ge=1)
    unreplied_lookback_days: float = Field(30, gt=0)
    upcoming_meeting_days: float = Field(7, ge=0)
    csm_pulse_valid_days: float = Field(90, ge=0)
    csm_pulse_extreme_valid_days: float = Field(30, ge=0)
    ai_pulse_valid_days: float = Field(30, ge=0)
    assessment: AssessmentThresholds = AssessmentThresholds()
    legacy_points: LegacyPoints = LegacyPoints()
    legacy_tiers: LegacyTiers = LegacyTiers()
    disabled_signals: tuple[str, ...] = ()

    @field_validator("disabled_signals")
    @classmethod
    def _known_signals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in SIGNALS]
        if unknown:
            raise ValueError(f"unknown signal(s) {', '.join(map(repr, unknown))}")
        return value

    def enabled(self, signal: str) -> bool:
        return signal not in self.disabled_signals


DEFAULT_RULES = Rules()


def merge_rules(base: Rules, override: dict[str, Any] | None) -> Rules:
    """``base`` with ``override`` applied; nested objects merge key by key."""
    if not override:
        return base
    data = base.model_dump()
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Rules.model_validate(data)


def validate_rules_object(raw: Any) -> list[tuple[str, str]]:
    """Errors of a `rules` object as ``(path, message)`` pairs (empty when valid)."""
    from pydantic import ValidationError

    if not isinstance(raw, dict):
        return [("", "expected an object")]
    try:
        merge_rules(DEFAULT_RULES, raw)
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown rule"
            out.append((path, msg))
        return out
    return []


class RulesBook:
    """Resolves the effective rules per team, built once per sweep."""

    def __init__(self, org_rules: dict[str, Any] | None, team_rules: dict[str, dict[str, Any]]):
        self.org = merge_rules(DEFAULT_RULES, org_rules)
        self._teams = {team: merge_rules(self.org, rules) for team, rules in team_rules.items()}

    def for_team(self, team_id: str | None) -> Rules:
        if team_id is None:
            return self.org
        return self._teams.get(team_id, self.org)
