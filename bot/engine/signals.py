"""The sixteen follow-up signals of followup-rules.md, as pure functions of an account's facts.

Each detector takes an ``Ctx`` (the account, its effective rules, ``now`` and the business hours)
and returns the reasons it fires; the two news detectors also report follow-through
suppressions. Thresholds come from ``Rules`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.engine.business_time import BusinessHours, business_hours_between
from bot.engine.facts import AccountFacts, MeetingFact, RequestFact
from bot.engine.results import Reason, Suppression, iso_z
from bot.engine.rules import TIER_RANK, Rules, Severity
from bot.engine.textfmt import ago, days_ago, plural, quote

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass(slots=True)
class Ctx:
    account: AccountFacts
    rules: Rules
    now: datetime
    hours: BusinessHours
    suppressed: list[Suppression] = field(default_factory=list)
    _touch: tuple[datetime, str] | bool | None = False  # False: not computed yet

    # -- derived facts shared by several detectors ---------------------------------------

    def last_touch(self) -> tuple[datetime, str] | None:
        """The latest customer touchpoint at or before now, as ``(time, evidence)``."""
        if self._touch is False:
            self._touch = self._find_last_touch()
        return self._touch  # type: ignore[return-value]

    def _find_last_touch(self) -> tuple[datetime, str] | None:
        r = self.account.rollup
        best: tuple[datetime, str] | None = None
        if r.last_touch_at is not None and r.last_touch_activity_id is not None:
            best = (r.last_touch_at, f"activity:{r.last_touch_activity_id}")
        m = self.account.last_meeting
        if m is not None and (best is None or m[0] > best[0]):
            best = (m[0], f"meeting:{m[1]}")
        return best

    def last_meeting_held(self) -> tuple[datetime, str] | None:
        r = self.account.rollup
        best: tuple[datetime, str] | None = None
        if r.last_meeting_activity_at is not None and r.last_meeting_activity_id is not None:
            best = (r.last_meeting_activity_at, f"activity:{r.last_meeting_activity_id}")
        m = self.account.last_meeting
        if m is not None and (best is None or m[0] > best[0]):
            best = (m[0], f"meeting:{m[1]}")
        return best

    def age_days(self, moment: datetime) -> float:
        return (self.now - moment) / DAY

    def ago(self, moment: datetime) -> str:
        """How long ago ``moment`` was, as card texts say it (days count local midnights)."""
        return ago(moment, self.now, self.account.timezone)

    def days_ago(self, moment: datetime) -> str:
        """'today', 'yesterday', '3 days ago' in the account's calendar."""
        return days_ago(moment, self.now, self.account.timezone)

    def account_age_days(self) -> float | None:
        created = self.account.created_at
        return None if created is None else self.age_days(created)

    def touch_evidence(self) -> str:
        touch = self.last_touch()
        return touch[1] if touch else "none"


def _sev(value: str) -> Severity:
    return Severity(value)


# ----------------------------------------------------------------------- owe the customer


def unreplied_customer_email(c: Ctx) -> list[Reason]:
    sla = c.rules.reply_sla_business_hours
    critical_after = sla * c.rules.reply_critical_multiple
    out = []
    for t in c.account.threads:
        if t.last_direction != "inbound" or t.last_at > c.now:
            continue
        if c.age_days(t.last_at) >= c.rules.unreplied_lookback_days:
            continue
        waited = business_hours_between(
            t.last_at, c.now, c.account.timezone, c.hours, cap=critical_after + 1
        )
        if waited <= sla:
            continue
        who = c.account.contact_names.get(t.contact_id or "", "the customer")
        subject = t.subject or "(no subject)"
        since = t.first_unreplied_at or t.last_at
        out.append(
            Reason(
                "unreplied_customer_email",
                Severity.CRITICAL if waited > critical_after else Severity.HIGH,
                f"Email from {who} {quote(subject)}, unanswered {c.ago(since)}",
                f"activity:{t.last_activity_id}",
                since=since,
                facts={"subject": subject, "contact": who, "waiting": c.ago(since)},
            )
        )
    return out


def no_first_response(c: Ctx) -> list[Reason]:
    created = c.account.created_at
    if created is None or c.last_touch() is not None:
        return []
    age = c.now - created
    if age > c.rules.new_account_days * DAY or age <= c.rules.first_response_sla_hours * HOUR:
        return []
    return [
        Reason(
            "no_first_response",
            Severity.CRITICAL,
            f"New account created {c.ago(created)} ago; nobody has reached out yet",
            f"created:{created.date().isoformat()}",
            since=created,
            facts={"age": c.ago(created)},
        )
    ]


_TASK_SEVERITY = {"urgent": "critical", "high": "high", "normal": "medium", "low": "low"}


def overdue_task(c: Ctx) -> list[Reason]:
    out = []
    for t in c.account.tasks:
        if t.status != "open" or t.due_at is None or t.due_at >= c.now:
            continue
        title = t.title or "Untitled task"
        out.append(
            Reason(
                "overdue_task",
                _sev(_TASK_SEVERITY.get(t.priority, "medium")),
                f"Task {quote(title)} ({t.priority}) overdue by {c.ago(t.due_at)}",
                f"task:{t.id}@{iso_z(t.due_at)}",
                since=t.due_at,
                facts={"title": title, "overdue": c.ago(t.due_at)},
            )
        )
    return out


def call_retry_due(c: Ctx) -> list[Reason]:
    r = c.account.rollup
    at, outcome = r.last_outbound_call_at, r.last_outbound_call_outcome
    if at is None or outcome not in ("no_answer", "voicemail") or at > c.now:
        return []
    touch = c.last_touch()
    if touch is not None and touch[0] > at:
        return []
    if c.now - at <= c.rules.call_retry_hours * HOUR:
        return []
    how = "no answer" if outcome == "no_answer" else "left a voicemail"
    return [
        Reason(
            "call_retry_due",
            Severity.MEDIUM,
            f"Last call {c.ago(at)} ago: {how}; no touch since",
            f"activity:{r.last_outbound_call_id}",
            since=at,
        )
    ]


def _request_last_update(req: RequestFact, now: datetime) -> datetime | None:
    stamps = [
        s
        for s in (req.updated_at, req.discussed_at, req.last_activity_at)
        if s is not None and s <= now
    ]
    return max(stamps) if stamps else req.created_at


def stale_high_impact_request(c: Ctx) -> list[Reason]:
    out = []
    for req in c.account.requests:
        if req.impact != "high" or req.status in ("shipped", "declined"):
            continue
        last = _request_last_update(req, c.now)
        if last is None or c.now - last <= c.rules.stale_request_days * DAY:
            continue
        title = req.title or req.id
        out.append(
            Reason(
                "stale_high_impact_request",
                Severity.HIGH,
                f"High-impact request {quote(title)} has had no update for {c.ago(last)}",
                f"request:{req.id}@{iso_z(last)}",
                since=last,
                facts={"title": title},
            )
        )
    return out


def _took_place(m: MeetingFact, now: datetime) -> bool:
    return m.starts_at <= now


def unowned_action_item(c: Ctx) -> list[Reason]:
    out = []
    for m in c.account.meetings:
        if not _took_place(m, c.now):
            continue
        items = [
            str(i.get("text") or "an action item")
            for i in m.action_items
            if isinstance(i, dict) and not i.get("owner") and not i.get("done")
        ]
        if not items:
            continue
        title = m.title or "a meeting"
        out.append(
            Reason(
                "unowned_action_item",
                Severity.HIGH,
                f"{plural(len(items), 'action item')} from {quote(title)} without an owner: "
                + "; ".join(quote(i) for i in items[:3]),
                f"meeting:{m.id}",
                since=m.ends_at,
                facts={"items": items, "meeting": title},
            )
        )
    return out


def health_drop(c: Ctx) -> list[Reason]:
    r = c.account.rollup
    if r.health_score is None or r.health_prev_score is None or r.health_at is None:
        return []
    if r.health_score >= r.health_prev_score:
        return []
    tiers = c.rules.health_tiers
    now_tier, was_tier = tiers.tier(r.health_score), tiers.tier(r.health_prev_score)
    tier_drop = TIER_RANK[now_tier] < TIER_RANK[was_tier]
    if not tier_drop and r.health_prev_score - r.health_score < c.rules.health_drop_points:
        return []
    evidence = f"health:{r.health_at.date().isoformat()}"
    text = (
        f"Health fell from {r.health_prev_score:g} ({was_tier.replace('_', ' ')}) "
        f"to {r.health_score:g} ({now_tier.replace('_', ' ')})"
    )
    if tier_drop:
        return [
            Reason(
                "health_drop",
                Severity.CRITICAL,
                text,
                evidence,
                since=r.health_at,
                facts={"tier_drop": True},
            )
        ]
    return [Reason("health_drop", Severity.HIGH, text, evidence, since=r.health_at)]


# ------------------------------------------------------------------------ bring them news


def _first(candidates: list[tuple[datetime | None, str]]) -> str:
    """The label of the earliest candidate (unknown times count as latest)."""
    return min(candidates, key=lambda c: (c[0] is None, c[0] or datetime.max))[1]


def request_shipped(c: Ctx) -> list[Reason]:
    out = []
    r = c.account.rollup
    for req in c.account.requests:
        shipped = req.shipped_at
        if req.status != "shipped" or shipped is None or shipped > c.now:
            continue
        if c.now - shipped > c.rules.news_window_days * DAY:
            continue
        followed: list[tuple[datetime | None, str]] = []
        for t in c.account.tasks:
            done = t.auto_created and t.request_id == req.id and t.status == "done"
            if done and (t.completed_at is None or t.completed_at <= c.now):
                followed.append((t.completed_at, "follow-up task done"))
        if r.last_outbound_email_at is not None and shipped < r.last_outbound_email_at <= c.now:
            followed.append((r.last_outbound_email_at, "outbound email after ship"))
        title = req.title or req.id
        if followed:
            c.suppressed.append(
                Suppression(c.account.id, "request_shipped", f"request:{req.id}", _first(followed))
            )
            continue
        out.append(
            Reason(
                "request_shipped",
                Severity.MEDIUM,
                f"{title} shipped {c.days_ago(shipped)}; nobody told them",
                f"request:{req.id}@shipped",
                since=shipped,
                facts={"title": title},
            )
        )
    return out


def request_discussed(c: Ctx) -> list[Reason]:
    out = []
    r = c.account.rollup
    for req in c.account.requests:
        discussed = req.discussed_at
        if discussed is None or discussed > c.now:
            continue
        if c.now - discussed > c.rules.news_window_days * DAY:
            continue
        followed: list[tuple[datetime | None, str]] = []
        if r.last_note_at is not None and discussed < r.last_note_at <= c.now:
            followed.append((r.last_note_at, "note after discussion"))
        if r.last_outbound_email_at is not None and discussed < r.last_outbound_email_at <= c.now:
            followed.append((r.last_outbound_email_at, "outbound email after discussion"))
        for t in c.account.tasks:
            done = t.completed_at
            if t.auto_created and t.status == "done" and done and discussed < done <= c.now:
                followed.append((done, "follow-up task done after discussion"))
        if followed:
            c.suppressed.append(
                Suppression(
                    c.account.id, "request_discussed", f"request:{req.id}", _first(followed)
                )
            )
            continue
        title = req.title or req.id
        out.append(
            Reason(
                "request_discussed",
                Severity.LOW,
                f"{title} was discussed internally {c.days_ago(discussed)}; "
                "the customer hasn't heard",
                f"request:{req.id}@{iso_z(discussed)}",
                since=discussed,
                facts={"title": title, "status": req.status},
            )
        )
    return out


# ----------------------------------------------------------------------------- stay close


def no_recent_touch(c: Ctx) -> list[Reason]:
    touch = c.last_touch()
    if touch is None:
        return []
    policy = c.account.touch_policy
    limit = getattr(c.rules.touch_days, policy, c.rules.touch_days.standard)
    if c.now - touch[0] <= limit * DAY:
        return []
    sev = Severity.MEDIUM if policy in ("strategic", "onboarding") else Severity.LOW
    return [
        Reason(
            "no_recent_touch",
            sev,
            f"No customer touch for {c.ago(touch[0])} ({policy.replace('_', ' ')}: "
            f"every {limit} days)",
            touch[1],
            since=touch[0],
        )
    ]


def never_touched(c: Ctx) -> list[Reason]:
    if c.last_touch() is not None:
        return []
    age = c.account_age_days()
    if age is not None and age <= c.rules.new_account_days:
        return []
    return [
        Reason(
            "never_touched",
            Severity.MEDIUM,
            "No customer touchpoint on record, ever",
            "none",
            since=c.account.created_at,
        )
    ]


def stale_meeting_cadence(c: Ctx) -> list[Reason]:
    policy = c.account.touch_policy
    cadence = getattr(c.rules.meeting_cadence_days, policy, None)
    if cadence is None:
        return []
    age = c.account_age_days()
    if age is not None and age < cadence:
        return []
    held = c.last_meeting_held()
    if held is not None and c.now - held[0] <= cadence * DAY:
        return []
    detail = (
        f"Last meeting {c.ago(held[0])} ago" if held else "No meeting on record"
    ) + f" ({policy.replace('_', ' ')} cadence: every {cadence} days)"
    return [
        Reason(
            "stale_meeting_cadence",
            Severity.LOW,
            detail,
            held[1] if held else "none",
            since=held[0] if held else None,
        )
    ]


def missing_next_step(c: Ctx) -> list[Reason]:
    out = []
    last_note = c.account.rollup.last_post_meeting_note_at
    for m in c.account.meetings:
        if m.next_step or m.has_linked_note or m.starts_at > c.now:
            continue
        since_end = c.now - m.ends_at
        if since_end <= c.rules.next_step_grace_hours * HOUR:
            continue
        if since_end > c.rules.next_step_window_days * DAY:
            continue
        if last_note is not None and m.ends_at < last_note <= c.now:
            continue
        title = m.title or "a meeting"
        out.append(
            Reason(
                "missing_next_step",
                Severity.MEDIUM,
                f"{quote(title)} ended {c.ago(m.ends_at)} ago with no next step or notes",
                f"meeting:{m.id}",
                since=m.ends_at,
                facts={"meeting": title},
            )
        )
    return out


def no_next_action(c: Ctx) -> list[Reason]:
    if c.account.next_meeting_at is not None or c.account.has_task_ahead:
        return []
    return [
        Reason(
            "no_next_action",
            Severity.LOW,
            "No open task due ahead and no meeting booked",
            c.touch_evidence(),
        )
    ]


def valid_csm_pulse(c: Ctx) -> tuple[int, datetime] | None:
    p = c.account.csm_pulse
    if p is None or p[1] > c.now:
        return None
    days = c.rules.csm_pulse_extreme_valid_days if p[0] in (1, 10) else c.rules.csm_pulse_valid_days
    return p if c.now - p[1] <= days * DAY else None


def valid_ai_pulse(c: Ctx) -> tuple[int, datetime] | None:
    p = c.account.ai_pulse
    if p is None or p[1] > c.now:
        return None
    return p if c.now - p[1] <= c.rules.ai_pulse_valid_days * DAY else None


def low_pulse(c: Ctx) -> list[Reason]:
    if c.account.touch_policy != "strategic":
        return []
    low = c.rules.low_pulse_max
    parts, evidence = [], []
    csm, ai = valid_csm_pulse(c), valid_ai_pulse(c)
    if csm is not None and csm[0] <= low:
        parts.append(f"CSM Pulse {csm[0]}/10")
        evidence.append(f"csm@{iso_z(csm[1])}")
    if ai is not None and ai[0] <= low:
        parts.append(f"AI Pulse {ai[0]}/10")
        evidence.append(f"ai@{iso_z(ai[1])}")
    if not parts:
        return []
    return [
        Reason(
            "low_pulse",
            Severity.MEDIUM,
            " and ".join(parts) + " on a strategic account",
            "pulse:" + "+".join(evidence),
        )
    ]


def pulse_divergence(c: Ctx) -> list[Reason]:
    csm, ai = valid_csm_pulse(c), valid_ai_pulse(c)
    if csm is None or ai is None or abs(csm[0] - ai[0]) < c.rules.pulse_divergence_gap:
        return []
    return [
        Reason(
            "pulse_divergence",
            Severity.MEDIUM,
            f"CSM Pulse {csm[0]} vs AI Pulse {ai[0]}: worth a gut-check",
            f"pulse:csm@{iso_z(csm[1])}+ai@{iso_z(ai[1])}",
        )
    ]


Detector = Callable[[Ctx], list[Reason]]

DETECTORS: dict[str, Detector] = {
    "unreplied_customer_email": unreplied_customer_email,
    "no_first_response": no_first_response,
    "overdue_task": overdue_task,
    "call_retry_due": call_retry_due,
    "stale_high_impact_request": stale_high_impact_request,
    "unowned_action_item": unowned_action_item,
    "health_drop": health_drop,
    "request_shipped": request_shipped,
    "request_discussed": request_discussed,
    "no_recent_touch": no_recent_touch,
    "never_touched": never_touched,
    "stale_meeting_cadence": stale_meeting_cadence,
    "missing_next_step": missing_next_step,
    "no_next_action": no_next_action,
    "low_pulse": low_pulse,
    "pulse_divergence": pulse_divergence,
}


_ENABLED: dict[tuple[str, ...], tuple[Detector, ...]] = {}


def enabled_detectors(rules: Rules) -> tuple[Detector, ...]:
    key = rules.disabled_signals
    found = _ENABLED.get(key)
    if found is None:
        found = _ENABLED[key] = tuple(d for s, d in DETECTORS.items() if rules.enabled(s))
    return found


def evaluate(c: Ctx) -> list[Reason]:
    """Every enabled signal's reasons for the account (suppressions land in ``c.suppressed``)."""
    reasons: list[Reason] = []
    for detect in enabled_detectors(c.rules):
        found = detect(c)
        if found:
            reasons.extend(found)
    return reasons
