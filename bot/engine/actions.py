"""Recommended actions for one account: its assessment's themes and the sweep's signals map to
the ten actions of the policy, each with an owner, a priority, a status (policy.py) and a
rationale naming what led to it.

Nothing is executed or written here. Each recommendation carries an ``evidence`` string built
from the themes and signals behind it, stable while they hold, so that executing an action can
be made idempotent on (account, action, evidence).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, select

from bot.db.models import Exclusion
from bot.engine.assessment import Assessment, Theme, assess, load_profile
from bot.engine.business_time import local_date
from bot.engine.facts import load_org, load_users
from bot.engine.policy import (
    ACTIONS,
    ActionSpec,
    AutomationLevel,
    Status,
    action_status,
    org_level,
)
from bot.engine.results import Card, Reason, iso_z
from bot.engine.rules import Severity
from bot.engine.sweep import run_sweep


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return PRIORITY_ORDER.index(self)


PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)
SEVERITY_PRIORITY = {
    Severity.CRITICAL: Priority.URGENT,
    Severity.HIGH: Priority.HIGH,
    Severity.MEDIUM: Priority.NORMAL,
    Severity.LOW: Priority.LOW,
}

# What each theme calls for (more follows from combinations: see _account_triggers).
THEME_ACTIONS: dict[str, tuple[str, ...]] = {
    "onboarding_friction": ("add_to_onboarding_recovery", "schedule_checkpoint_7d"),
    "churn_risk": ("send_checkin_email", "notify_owner_slack", "schedule_checkpoint_7d"),
    "support_burden": ("create_support_task",),
    "low_adoption": ("add_to_low_adoption_nurture",),
    "renewal_risk": ("send_checkin_email", "schedule_checkpoint_7d"),
}
# What each sweep signal calls for: the owner hears of work waiting on them, a lapsed touch or
# news to bring is a check-in email, a missing next step a checkpoint, a pulse gap a re-score.
SIGNAL_ACTIONS: dict[str, tuple[str, ...]] = {
    "unreplied_customer_email": ("notify_owner_slack",),
    "no_first_response": ("send_checkin_email",),
    "overdue_task": ("notify_owner_slack",),
    "call_retry_due": ("notify_owner_slack",),
    "stale_high_impact_request": ("notify_owner_slack",),
    "unowned_action_item": ("notify_owner_slack",),
    "health_drop": ("notify_owner_slack", "update_csm_health_score"),
    "request_shipped": ("send_checkin_email",),
    "request_discussed": ("send_checkin_email",),
    "no_recent_touch": ("send_checkin_email",),
    "never_touched": ("send_checkin_email",),
    "stale_meeting_cadence": ("schedule_checkpoint_7d",),
    "missing_next_step": ("schedule_checkpoint_7d",),
    "no_next_action": ("schedule_checkpoint_7d",),
    "low_pulse": ("notify_owner_slack",),
    "pulse_divergence": ("update_csm_health_score",),
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """One theme, signal or account fact behind an action."""

    name: str  # theme id, signal id, or an account fact (blocker, owner, health_gap)
    priority: Priority
    text: str  # for the rationale
    evidence: str  # stable while the same facts hold


@dataclass(slots=True)
class Recommendation:
    action: ActionSpec
    account: str
    owner: str | None
    priority: Priority
    status: Status
    triggers: tuple[Trigger, ...]

    @property
    def rationale(self) -> str:
        return "; ".join(f"{t.name}: {t.text}" for t in self.triggers)

    @property
    def evidence(self) -> str:
        """What execution keys idempotency on (with account and action)."""
        return "|".join(sorted({t.evidence for t in self.triggers}))

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.id,
            "kind": self.action.kind,
            "sensitivity": self.action.sensitivity.value,
            "status": self.status.value,
            "owner": self.owner,
            "priority": self.priority.value,
            "rationale": self.rationale,
        }


def _theme_trigger(theme: Theme) -> Trigger:
    return Trigger(theme.id, SEVERITY_PRIORITY[theme.severity], theme.summary, theme.evidence)


def _signal_trigger(reason: Reason) -> Trigger:
    return Trigger(
        reason.signal,
        SEVERITY_PRIORITY[reason.severity],
        reason.detail,
        f"signal:{reason.signal}@{reason.evidence}",
    )


def _account_triggers(a: Assessment, reasons: Sequence[Reason]) -> list[tuple[str, Trigger]]:
    """Actions that follow from combinations and from the account itself."""
    p = a.profile
    out: list[tuple[str, Trigger]] = []
    churn, renewal = a.theme("churn_risk"), a.theme("renewal_risk")
    if churn is not None and renewal is not None:
        # A save offer only when churn risk meets a near renewal; it always needs approval.
        out.append(("create_discount_request", _theme_trigger(churn)))
        out.append(("create_discount_request", _theme_trigger(renewal)))
    if p.blocker == "major":
        blocker = Trigger("blocker", Priority.HIGH, "major blocker", "blocker:major")
        out.append(("escalate_to_specialist", blocker))
    support = a.theme("support_burden")
    if support is not None and support.severity.rank >= Severity.HIGH.rank:
        out.append(("escalate_to_specialist", _theme_trigger(support)))
    serious = [t for t in a.themes if t.severity.rank >= Severity.HIGH.rank]
    if serious and a.health_tier not in ("at_risk", "critical"):
        ids = ",".join(sorted(t.id for t in serious))
        tier = (a.health_tier or "").replace("_", " ")
        health = "no health score" if p.health is None else f"health {p.health:g} ({tier})"
        text = f"{health} misses {', '.join(t.id for t in serious)}"
        gap = Trigger("health_gap", Priority.NORMAL, text, f"health_gap:{a.health_tier}({ids})")
        out.append(("update_csm_health_score", gap))
    if not p.csm_active:
        high = any(t.severity.rank >= Severity.HIGH.rank for t in a.themes) or any(
            r.severity.rank >= Severity.HIGH.rank for r in reasons
        )
        text = "no CSM assigned" if p.csm_id is None else f"CSM {p.csm_id} is inactive"
        owner = Trigger(
            "owner",
            Priority.HIGH if high else Priority.NORMAL,
            text,
            f"owner:{p.csm_id or 'none'}",
        )
        out.append(("reassign_ownership", owner))
    return out


def recommend(
    a: Assessment,
    reasons: Sequence[Reason],
    level: AutomationLevel,
    fallback_csm: str | None,
) -> list[Recommendation]:
    """The actions for the assessed account and its signals, most urgent first."""
    if not a.flagged:
        return []
    wanted: list[tuple[str, Trigger]] = []
    for theme in a.themes:
        wanted += [(action, _theme_trigger(theme)) for action in THEME_ACTIONS[theme.id]]
    for reason in reasons:
        wanted += [(action, _signal_trigger(reason)) for action in SIGNAL_ACTIONS[reason.signal]]
    wanted += _account_triggers(a, reasons)
    by_action: dict[str, list[Trigger]] = {}
    for action, trigger in wanted:
        triggers = by_action.setdefault(action, [])
        if trigger not in triggers:
            triggers.append(trigger)
    p = a.profile
    owner = p.csm_id if p.csm_active else fallback_csm
    out = []
    for action_id, triggers in by_action.items():
        triggers.sort(key=lambda t: -t.priority.rank)  # stable: themes before signals
        spec = ACTIONS[action_id]
        out.append(
            Recommendation(
                action=spec,
                account=p.id,
                owner=owner,
                priority=triggers[0].priority,
                status=action_status(spec, p.segment, level, p.blocker),
                triggers=tuple(triggers),
            )
        )
    out.sort(key=lambda r: (-r.priority.rank, r.action.order))
    return out


@dataclass(slots=True)
class ActionPlan:
    """The recommended actions of one account at ``as_of`` (``note`` says why there are none
    when the account is never flagged or excluded)."""

    as_of: datetime
    level: AutomationLevel
    assessment: Assessment
    signals: list[Reason]
    recommendations: list[Recommendation]
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        p = self.assessment.profile
        return {
            "account": p.id,
            "account_name": p.name,
            "as_of": iso_z(self.as_of),
            "automation_level": self.level.value,
            "actions": [r.to_json() for r in self.recommendations],
            "assessment": self.assessment.to_json(),
            "signals": [r.to_json() for r in self.signals],
            "note": self.note,
        }


class UnknownAccount(LookupError):
    pass


def plan_actions(
    engine: Engine, account_id: str, now: datetime, level: AutomationLevel | None = None
) -> ActionPlan:
    """Assess the account and recommend its actions at ``level`` (default: the org's). The
    signals come from a dry-run sweep of that account: nothing is written."""
    with engine.connect() as conn:
        org = load_org(conn)
        users = load_users(conn, org.timezone)
        profile = load_profile(conn, account_id, now, org, users)
        if profile is None:
            raise UnknownAccount(account_id)
        excluded = _excluded(conn, account_id, local_date(now, org.timezone))
    if level is None:
        level = org_level(org.automation_level)
    assessment = assess(profile, org.rules.for_team(profile.team_id), now)
    if not assessment.flagged:
        note = f"{profile.status} accounts are never flagged: no actions"
        return ActionPlan(now, level, assessment, [], [], note)
    if excluded:
        note = "excluded from every queue (followup-bot exclude): no actions"
        return ActionPlan(now, level, assessment, [], [], note)
    swept = run_sweep(engine, now, dry_run=True, account_ids=[account_id])
    reasons = _reasons_of(swept.cards, account_id)
    actions = recommend(assessment, reasons, level, org.fallback_csm_id)
    return ActionPlan(now, level, assessment, reasons, actions)


def _excluded(conn: Connection, account_id: str, today: date) -> bool:
    row = conn.execute(select(Exclusion.until).where(Exclusion.account_id == account_id)).first()
    return row is not None and (row.until is None or row.until >= today)


def _reasons_of(cards: Iterable[Card], account_id: str) -> list[Reason]:
    for card in cards:
        if card.account == account_id:
            return list(card.reasons)
    return []
