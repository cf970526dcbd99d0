"""When can an account's card or alerts next change with time alone? (the incremental sweep)

A sweep's verdicts are functions of an account's data and of ``now``. With the data fixed, each
signal's verdict, severity and detail, and the card's time-dependent parts (action score, "last
touch N days", the upcoming-meeting flag, the renewal hook, escalation), are piecewise constant
in ``now``: they can only change at a few instants — a threshold crossing (an SLA in business
hours, a window of days, a pulse's expiry, a meeting's start, a task's due time, a snooze's wake
time, a date boundary) or a boundary of a rounded age in a text ("unanswered 3 days" changes at
the next whole day of age; see :func:`bot.engine.textfmt.ago_changes_at`).

:data:`HORIZONS` gives each signal a function listing the instants at which *its* verdict may
change (whether or not it fires now); :func:`next_check_at` takes the earliest instant that is
not in the past, over those, the details of the reasons that fire, the alerts' snoozes and the
card's own parts. Candidates may be early (a re-evaluation that finds nothing new only costs a
little); a late one would be a bug, so every bound here is the exact crossing or earlier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta

from bot.engine.alerts import AlertState, StoredAlert, alert_key
from bot.engine.business_time import business_instant, local_date, local_time_on, next_midnight
from bot.engine.results import Card, Reason
from bot.engine.rules import Lane, Severity
from bot.engine.scoring import RENEWAL_HORIZON_DAYS
from bot.engine.signals import DAY, DETECTORS, HOUR, Ctx
from bot.engine.textfmt import ago_changes_at

Instants = list[datetime | None]
Horizon = Callable[[Ctx], Instants]

# Signals whose detail (or card text) spells the age of their ``since`` with ``ago``
# (in hours for the first two days, then in local calendar days).
AGED_DETAILS = frozenset(
    {
        "unreplied_customer_email",
        "no_first_response",
        "overdue_task",
        "call_retry_due",
        "stale_high_impact_request",
        "no_recent_touch",
        "stale_meeting_cadence",
        "missing_next_step",
    }
)

# Signals whose detail says the day of their ``since`` ("today", "3 days ago"): it moves at a
# local midnight.
DAY_DETAILS = frozenset({"request_shipped", "request_discussed"})


def _pulses(c: Ctx) -> Instants:
    """When a pulse becomes valid (set in the future) or expires."""
    out: Instants = []
    p = c.account.csm_pulse
    if p is not None:
        extreme = p[0] in (1, 10)
        days = c.rules.csm_pulse_extreme_valid_days if extreme else c.rules.csm_pulse_valid_days
        out += (p[1], p[1] + days * DAY)
    a = c.account.ai_pulse
    if a is not None:
        out += (a[1], a[1] + c.rules.ai_pulse_valid_days * DAY)
    return out


def _unreplied(c: Ctx) -> Instants:
    out: Instants = []
    sla = c.rules.reply_sla_business_hours
    critical = sla * c.rules.reply_critical_multiple
    for t in c.account.threads:
        out += (t.last_at, t.last_at + c.rules.unreplied_lookback_days * DAY)
        for needed in (sla, critical):
            # (it fires once *more* than that has passed)
            out.append(
                business_instant(t.last_at, needed, c.account.timezone, c.hours, beyond=True)
            )
    return out


def _first_response(c: Ctx) -> Instants:
    created = c.account.created_at
    if created is None:
        return []
    return [
        created + c.rules.new_account_days * DAY,
        created + c.rules.first_response_sla_hours * HOUR,
    ]


def _never_touched(c: Ctx) -> Instants:
    created = c.account.created_at
    return [] if created is None else [created + c.rules.new_account_days * DAY]


def _overdue(c: Ctx) -> Instants:
    out: Instants = [c.account.next_task_due_at]
    for t in c.account.tasks:
        if t.status == "open":
            out.append(t.due_at)
    return out


def _call_retry(c: Ctx) -> Instants:
    at = c.account.rollup.last_outbound_call_at
    return [] if at is None else [at, at + c.rules.call_retry_hours * HOUR]


def _stale_request(c: Ctx) -> Instants:
    out: Instants = []
    for req in c.account.requests:
        if req.impact != "high" or req.status in ("shipped", "declined"):
            continue
        if req.activity_ahead:
            out.append(c.now)  # a linked activity lies ahead, at a time not loaded: look again
        for stamp in (req.updated_at, req.discussed_at, req.last_activity_at, req.created_at):
            if stamp is not None:
                out += (stamp, stamp + c.rules.stale_request_days * DAY)
    return out


def _task_completions(c: Ctx) -> Instants:
    return [t.completed_at for t in c.account.tasks]


def _shipped(c: Ctx) -> Instants:
    out = _task_completions(c)
    for req in c.account.requests:
        if req.status == "shipped" and req.shipped_at is not None:
            out += (req.shipped_at, req.shipped_at + c.rules.news_window_days * DAY)
    return out


def _discussed(c: Ctx) -> Instants:
    out = _task_completions(c)
    for req in c.account.requests:
        if req.discussed_at is not None:
            out += (req.discussed_at, req.discussed_at + c.rules.news_window_days * DAY)
    return out


def _recent_touch(c: Ctx) -> Instants:
    touch = c.last_touch()
    if touch is None:
        return []
    policy = c.account.touch_policy
    limit = getattr(c.rules.touch_days, policy, c.rules.touch_days.standard)
    return [touch[0] + limit * DAY]


def _meeting_cadence(c: Ctx) -> Instants:
    cadence = getattr(c.rules.meeting_cadence_days, c.account.touch_policy, None)
    if cadence is None:
        return []
    out: Instants = []
    if c.account.created_at is not None:
        out.append(c.account.created_at + cadence * DAY)
    held = c.last_meeting_held()
    if held is not None:
        out.append(held[0] + cadence * DAY)
    return out


def _next_step(c: Ctx) -> Instants:
    out: Instants = []
    grace, window = c.rules.next_step_grace_hours * HOUR, c.rules.next_step_window_days * DAY
    for m in c.account.meetings:
        out += (m.starts_at, m.ends_at, m.ends_at + grace, m.ends_at + window)
    return out


def _next_action(c: Ctx) -> Instants:
    return [c.account.next_task_due_at]  # (the next meeting's start is every account's)


def _nothing(c: Ctx) -> Instants:
    return []


HORIZONS: dict[str, Horizon] = {
    "unreplied_customer_email": _unreplied,
    "no_first_response": _first_response,
    "overdue_task": _overdue,
    "call_retry_due": _call_retry,
    "stale_high_impact_request": _stale_request,
    "unowned_action_item": _nothing,  # meetings taking place: the next meeting's start
    "health_drop": _nothing,  # no time in it
    "request_shipped": _shipped,
    "request_discussed": _discussed,
    "no_recent_touch": _recent_touch,
    "never_touched": _never_touched,
    "stale_meeting_cadence": _meeting_cadence,
    "missing_next_step": _next_step,
    "no_next_action": _next_action,
    "low_pulse": _pulses,
    "pulse_divergence": _pulses,
}

_ENABLED: dict[tuple[str, ...], tuple[Horizon, ...]] = {}


def _enabled_horizons(c: Ctx) -> tuple[Horizon, ...]:
    """The horizons of the enabled signals, each function once, the pulses' always (the
    card's pulse block shows them whatever the signals)."""
    key = c.rules.disabled_signals
    found = _ENABLED.get(key)
    if found is None:
        chosen = [HORIZONS[s] for s in DETECTORS if c.rules.enabled(s)] + [_pulses]
        found = _ENABLED[key] = tuple(
            h for i, h in enumerate(chosen) if h is not _nothing and h not in chosen[:i]
        )
    return found


def _card_instants(
    c: Ctx,
    card: Card,
    alerts: Mapping[str, StoredAlert],
    escalation_due: Callable[[Reason, StoredAlert], datetime | None],
) -> Iterator[datetime | None]:
    """When the card's own parts can change: its score and "last touch N days" (at a local
    midnight), the upcoming meeting flag, the renewal hook, escalation."""
    now, facts = c.now, c.account
    today = local_date(now, facts.timezone)
    if card.lane is Lane.OWE and any(r.lane is Lane.OWE and r.since for r in card.reasons):
        # the age points count local days (bot.engine.scoring)
        yield next_midnight(now, facts.timezone)
    renewal = facts.renewal_date
    if renewal is not None:
        days = (renewal - today).days
        if -1 <= days <= RENEWAL_HORIZON_DAYS:
            yield next_midnight(now, facts.timezone)
        elif days > RENEWAL_HORIZON_DAYS:
            first = renewal - timedelta(days=RENEWAL_HORIZON_DAYS)
            yield local_time_on(first, time(0), facts.timezone)
        # the hook's "Renewal in N days" counts days of ``now``'s own calendar
        hook_days = (renewal - now.date()).days
        if -1 <= hook_days <= 61:
            yield datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
    if c.last_touch() is not None:
        yield next_midnight(now, facts.timezone)  # "last touch N days ago" (local days)
    if facts.next_meeting_at is not None:
        yield facts.next_meeting_at - c.rules.upcoming_meeting_days * DAY
    for r in card.reasons:
        stored = alerts[alert_key(facts.id, r)]
        if stored.escalated_at is None and r.severity is Severity.CRITICAL:
            yield escalation_due(r, stored)


def next_check_at(
    c: Ctx,
    reasons: Iterable[Reason],
    alerts: Mapping[str, StoredAlert],
    card: Card | None,
    escalation_due: Callable[[Reason, StoredAlert], datetime | None],
) -> datetime | None:
    """The earliest instant at or after ``c.now`` at which re-evaluating the account may give
    another card or other alert writes, its data unchanged; None: never.

    ``reasons`` are the reasons that fire now (snoozed or not), ``alerts`` the alerts as this
    sweep leaves them, ``card`` the account's card (None without one), ``escalation_due`` when
    a critical reason's alert becomes due for escalation."""
    now = c.now
    facts = c.account
    if facts.rollup.data_until is not None and facts.rollup.data_until > now:
        return now  # newer data to come into view at times not loaded: look every time
    instants: list[datetime | None] = [facts.next_meeting_at]
    for horizon in _enabled_horizons(c):
        instants.extend(horizon(c))
    for r in reasons:
        if r.signal in AGED_DETAILS and r.since is not None:
            instants.append(ago_changes_at(r.since, now, facts.timezone))
        elif r.signal in DAY_DETAILS:
            instants.append(next_midnight(now, facts.timezone))
        stored = alerts.get(alert_key(facts.id, r))
        if stored is not None and stored.state is AlertState.SNOOZED:
            instants.append(stored.snooze_until)
    if card is not None:
        instants.extend(_card_instants(c, card, alerts, escalation_due))
    return min((t for t in instants if t is not None and t >= now), default=None)


def exclusion_ends_at(until: date | None, org_timezone: str) -> datetime | None:
    """When an exclusion through ``until`` (a local date of the org) lets the account back in."""
    if until is None:
        return None
    return local_time_on(until + timedelta(days=1), time(0), org_timezone)
