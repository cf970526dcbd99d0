"""The follow-up sweep: facts → signals → alerts → ranked cards.

``run_sweep`` computes and (unless ``dry_run``) records alerts; it never sends anything.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from bot.db.locks import serialized
from bot.db.models import Org, SweepRun
from bot.engine.alerts import (
    AlertChanges,
    StoredAlert,
    alert_key,
    apply_changes,
    load_alerts,
    reconcile,
    uncleared_outside,
)
from bot.engine.business_time import business_hours_between, business_instant, local_date
from bot.engine.facts import (
    AccountFacts,
    Portfolio,
    Scope,
    load_portfolio,
    scope_ranges,
)
from bot.engine.horizons import next_check_at
from bot.engine.queue import card_rank, store_queue
from bot.engine.results import Card, Pulse, Reason, Suppression, iso_z
from bot.engine.rules import LANE_ORDER, SIGNAL_IDS, Lane, Rules, Severity
from bot.engine.scoring import action_score
from bot.engine.signals import Ctx, evaluate, valid_ai_pulse, valid_csm_pulse
from bot.engine.sweep_state import changes_seen, record_checks
from bot.engine.textfmt import calendar_days
from bot.engine.writer import CardDraft, CardWriter, RulesWriter
from bot.gc_pause import gc_paused

_SIGNAL_RANK = {s: i for i, s in enumerate(SIGNAL_IDS)}


@dataclass(slots=True)
class SweepResult:
    as_of: datetime
    cards: list[Card]
    suppressed: list[Suppression]
    accounts: int = 0
    alerts_new: int = 0
    alerts_cleared: int = 0
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": iso_z(self.as_of),
            "cards": [c.to_json() for c in self.cards],
            "suppressed": [s.to_json() for s in self.suppressed],
        }

    def lanes(self) -> dict[Lane, list[Card]]:
        out: dict[Lane, list[Card]] = {lane: [] for lane in LANE_ORDER}
        for card in self.cards:
            out[card.lane].append(card)
        return out


def _reason_order(r: Reason) -> tuple[int, int, int, str]:
    return (-r.severity.rank, r.lane.order, _SIGNAL_RANK[r.signal], r.evidence)


def run_sweep(
    engine: Engine,
    now: datetime,
    *,
    dry_run: bool = False,
    csm_id: str | None = None,
    account_ids: Sequence[str] | None = None,
    writer: CardWriter | None = None,
    workers: int | None = None,
    parallel_from: int | None = None,
) -> SweepResult:
    """Sweep every account in scope at ``now`` (all, ``csm_id``'s, or just ``account_ids``);
    record alerts unless ``dry_run``.

    A sweep of the whole portfolio with at least ``parallel_from`` (default ``PARALLEL_FROM``)
    accounts is shared between ``workers`` processes, this one included (default: one per CPU,
    at most ``MAX_WORKERS``): each loads, evaluates and cards its range of account ids and
    reconciles their alerts; this process then writes the alerts, as for a small sweep.
    """
    url = engine.url.render_as_string(hide_password=False)
    # Recording sweeps take turns (two at once would both insert the same new alerts and
    # cards): the second one sweeps what the first one committed.
    begin = engine.begin() if dry_run else serialized(engine, RECORDING_SWEEP_LOCK)
    with gc_paused(), begin as conn:
        return sweep_in(
            conn,
            now,
            dry_run=dry_run,
            csm_id=csm_id,
            account_ids=account_ids,
            writer=writer,
            workers=workers,
            parallel_from=parallel_from,
            url=url,
        )


RECORDING_SWEEP_LOCK = "recording-sweep"
PARALLEL_FROM = 20_000  # accounts; fewer are swept faster than worker processes start
MAX_WORKERS = 4


@dataclass(slots=True)
class Swept:
    """A sweep's outcome before anything is written: the cards (new alerts without ids yet),
    the suppressions, how many accounts were looked at, and the alert writes it needs."""

    cards: list[Card]
    suppressed: list[Suppression]
    accounts: int
    changes: AlertChanges
    # with ``checks``: each account's next_check_at (bot.engine.horizons), by id
    checks: dict[str, datetime | None]

    def extend(self, other: Swept) -> None:
        """Add another share of the same sweep (other accounts)."""
        self.cards.extend(other.cards)
        self.suppressed.extend(other.suppressed)
        self.accounts += other.accounts
        self.changes.extend(other.changes)
        self.checks.update(other.checks)


def sweep_portfolio(
    conn: Connection,
    portfolio: Portfolio,
    writer: CardWriter,
    scope: Scope,
    *,
    checks: bool = False,
) -> Swept:
    """Signals → alerts (reconciled with the stored ones of the scope, not written) → cards;
    with ``checks``, each account's next_check_at too (what a recording sweep stores)."""
    now = portfolio.now
    hours = portfolio.org.business_hours
    flagged: list[tuple[AccountFacts, Rules, list[Reason]]] = []
    suppressed: list[Suppression] = []
    fired: dict[str, tuple[str, Reason]] = {}
    contexts: list[tuple[Ctx, list[Reason]]] = []  # with ``checks``: to find the next checks
    for facts in portfolio.accounts:
        rules = portfolio.rules_for(facts)
        ctx = Ctx(facts, rules, now, hours)
        reasons = evaluate(ctx)
        suppressed.extend(ctx.suppressed)
        if checks:
            contexts.append((ctx, reasons))
        if reasons:
            flagged.append((facts, rules, reasons))
            for r in reasons:
                fired[alert_key(facts.id, r)] = (facts.id, r)

    stored = load_alerts(conn, fired, scope)
    alerts, changes = reconcile(fired, stored, now)
    cards = []
    by_account: dict[str, Card] = {}
    for facts, rules, reasons in flagged:
        shown = [r for r in reasons if alerts[alert_key(facts.id, r)].visible(now)]
        if shown:
            card = build_card(facts, rules, shown, alerts, portfolio, writer)
            cards.append(card)
            by_account[facts.id] = card
    next_checks: dict[str, datetime | None] = {}
    for ctx, reasons in contexts:

        def escalation(r: Reason, stored: StoredAlert, c: Ctx = ctx) -> datetime | None:
            return _escalation_due_at(r, stored, c.account, c.rules, portfolio)

        next_checks[ctx.account.id] = next_check_at(
            ctx, reasons, alerts, by_account.get(ctx.account.id), escalation
        )
    return Swept(cards, suppressed, len(portfolio.accounts), changes, next_checks)


def _sweep_range(url: str, now: datetime, id_range: tuple[str, str], checks: bool) -> Swept:
    """A worker process's share: its own engine, the accounts from ``id_range[0]`` to
    ``id_range[1]``, their stored alerts; nothing written."""
    from bot.db.session import make_engine

    engine = make_engine(url)
    try:
        with gc_paused(), engine.connect() as conn:
            return sweep_scope(conn, now, Scope(id_range=id_range), checks=checks)
    finally:
        engine.dispose()


def sweep_scope(conn: Connection, now: datetime, scope: Scope, *, checks: bool) -> Swept:
    """Load, evaluate and card the accounts of ``scope`` (a list of ids or a range) with their
    stored alerts, nothing written: one process's share of a sweep."""
    portfolio = load_portfolio(conn, now, account_ids=scope.ids, id_range=scope.id_range)
    return sweep_portfolio(conn, portfolio, RulesWriter(), scope, checks=checks)


def attach_alert_ids(cards: Sequence[Card], new_ids: dict[str, int]) -> None:
    """Name on each card the ids of its reasons' alerts inserted just now (by key)."""
    for card in cards:
        for r in card.reasons:
            alert_id = new_ids.get(alert_key(card.account, r))
            if alert_id is not None:
                card.alert_ids[r.key_part] = alert_id


def _sweep_in_parallel(
    conn: Connection, url: str, now: datetime, ranges: Sequence[tuple[str, str]], *, record: bool
) -> tuple[Swept, dict[str, int]]:
    """The first range is swept here, in this transaction, while worker processes sweep the
    others (so a two-way split costs one worker, and half the results need no pickling).

    With ``record``, each share's alert changes are written as soon as it is in: this
    process's own while the workers finish theirs. Returns everything swept, and the ids of
    the alerts inserted, by key."""
    # A single-threaded process (the CLI) forks its workers: they start at once. One running
    # threads (the served app, a scheduler) spawns them clean — forking threads is unsafe — and
    # pays about a second of imports per worker (this process works meanwhile).
    forkable = threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if forkable else "spawn")
    others = ranges[1:]
    new_ids: dict[str, int] = {}
    with ProcessPoolExecutor(max_workers=len(others), mp_context=context) as pool:
        futures = [pool.submit(_sweep_range, url, now, id_range, record) for id_range in others]
        swept = sweep_scope(conn, now, Scope(id_range=ranges[0]), checks=record)
        if record:
            new_ids.update(apply_changes(conn, swept.changes, now))
        for future in futures:
            part = future.result()
            swept.extend(part)
            if record:
                new_ids.update(apply_changes(conn, part.changes, now))
    # Alerts of accounts before the first range or after the last (out of scope now) clear.
    outside = AlertChanges([], [], uncleared_outside(conn, ranges[0][0], ranges[-1][1]))
    swept.changes.extend(outside)
    if record:
        apply_changes(conn, outside, now)
    return swept, new_ids


def sweep_in(
    conn: Connection,
    now: datetime,
    *,
    dry_run: bool = False,
    csm_id: str | None = None,
    account_ids: Sequence[str] | None = None,
    writer: CardWriter | None = None,
    workers: int | None = None,
    parallel_from: int | None = None,
    url: str | None = None,
) -> SweepResult:
    """See :func:`run_sweep`; ``url`` (the database's, password included) lets worker
    processes connect."""
    started = datetime.now(now.tzinfo)
    whole = csm_id is None and account_ids is None
    # The change counters as they stand before anything is loaded (bot.engine.sweep_state).
    seen = {} if dry_run else changes_seen(conn)
    workers = min(workers or os.cpu_count() or 1, MAX_WORKERS)
    splittable = whole and url is not None and workers > 1 and writer is None
    count, ranges = scope_ranges(conn, workers) if splittable else (0, [])
    scope_ids: list[str] | None = None  # the accounts whose stored cards this sweep replaces
    if url is not None and len(ranges) > 1 and count >= max(1, parallel_from or PARALLEL_FROM):
        swept, new_ids = _sweep_in_parallel(conn, url, now, ranges, record=not dry_run)
    else:
        portfolio = load_portfolio(conn, now, csm_id=csm_id, account_ids=account_ids)
        scope = Scope() if whole else Scope([f.id for f in portfolio.accounts])
        if not whole:
            scope_ids = sorted({f.id for f in portfolio.accounts} | set(account_ids or ()))
        swept = sweep_portfolio(conn, portfolio, writer or RulesWriter(), scope, checks=not dry_run)
        new_ids = {} if dry_run else apply_changes(conn, swept.changes, now)
    cards, suppressed, changes = swept.cards, swept.suppressed, swept.changes
    if not dry_run:
        attach_alert_ids(cards, new_ids)
        store_queue(
            conn,
            cards,
            as_of=now,
            scope_ids=scope_ids,
            fallback_csm_id=fallback_csm(conn),
        )
        record_checks(conn, now, swept.checks, seen, whole=whole)
    cards.sort(key=card_rank)
    suppressed.sort(key=lambda s: (s.account, s.signal, s.evidence))

    result = SweepResult(
        as_of=now,
        cards=cards,
        suppressed=suppressed,
        accounts=swept.accounts,
        alerts_new=len(changes.inserts),
        alerts_cleared=len(changes.cleared),
        dry_run=dry_run,
    )
    if not dry_run:
        conn.execute(
            insert(SweepRun).values(
                as_of=now,
                started_at=started,
                finished_at=datetime.now(now.tzinfo),
                accounts=result.accounts,
                cards=len(cards),
                alerts_new=result.alerts_new,
                alerts_cleared=result.alerts_cleared,
                whole=whole,
            )
        )
    return result


def fallback_csm(conn: Connection) -> str | None:
    found = conn.execute(select(Org.fallback_csm_id).order_by(Org.id).limit(1)).scalar()
    return str(found) if found else None


class DrySweeps:
    """Read-only sweeps at one moment, each reader's computed once: what one click re-renders
    (the reader's DM, App Homes, an ephemeral) comes from the same sweep."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine = engine
        self.now = now
        self._by_csm: dict[str, SweepResult] = {}

    def of(self, csm_id: str) -> SweepResult:
        result = self._by_csm.get(csm_id)
        if result is None:
            result = run_sweep(self.engine, self.now, dry_run=True, csm_id=csm_id)
            self._by_csm[csm_id] = result
        return result


def build_card(
    facts: AccountFacts,
    rules: Rules,
    reasons: list[Reason],
    alerts: dict[str, StoredAlert],
    portfolio: Portfolio,
    writer: CardWriter,
) -> Card:
    now = portfolio.now
    reasons = sorted(reasons, key=_reason_order)
    lane = min((r.lane for r in reasons), key=lambda lane: lane.order)
    severity = max((r.severity for r in reasons), key=lambda s: s.rank)
    owe_since = [r.since for r in reasons if r.lane is Lane.OWE and r.since is not None]
    ctx = Ctx(facts, rules, now, portfolio.org.business_hours)
    touch = ctx.last_touch()
    last_touch_days = calendar_days(touch[0], now, facts.timezone) if touch else None
    upcoming = facts.next_meeting_at is not None and facts.next_meeting_at <= now + timedelta(
        days=rules.upcoming_meeting_days
    )
    open_requests = [r for r in facts.requests if r.status not in ("shipped", "declined")]
    text = writer.write(
        CardDraft(
            account_name=facts.name,
            lane=lane,
            reasons=reasons,
            now=now,
            renewal_date=facts.renewal_date,
            upcoming_meeting=upcoming,
            last_touch_days=last_touch_days,
        )
    )
    alert_ids = {}
    escalate = False
    for r in reasons:
        stored = alerts[alert_key(facts.id, r)]
        if stored.id is not None:
            alert_ids[r.key_part] = stored.id
        if stored.escalated_at is None and _due_for_escalation(r, stored, facts, rules, portfolio):
            escalate = True
    return Card(
        account=facts.id,
        account_name=facts.name,
        csm=facts.csm_id,
        lane=lane,
        action_score=action_score(
            severity,
            facts.mrr,
            facts.renewal_date,
            local_date(now, facts.timezone),
            lane,
            local_date(min(owe_since), facts.timezone) if owe_since else None,
        ),
        severity=severity,
        mrr=facts.mrr,
        segment=facts.segment,
        touch_policy=facts.touch_policy,
        reasons=reasons,
        hook=text.hook,
        summary=text.summary,
        next_step=text.next_step,
        waiting_on_you=text.waiting_on_you,
        pulse=_pulse(ctx),
        last_touch_days=last_touch_days,
        open_requests=len(open_requests),
        high_impact_requests=sum(1 for r in open_requests if r.impact == "high"),
        upcoming_meeting=upcoming,
        escalate=escalate,
        crm_url=facts.crm_url,
        renewal_date=facts.renewal_date.isoformat() if facts.renewal_date else None,
        alert_ids=alert_ids,
    )


def _due_for_escalation(
    reason: Reason,
    stored: StoredAlert,
    facts: AccountFacts,
    rules: Rules,
    portfolio: Portfolio,
) -> bool:
    if reason.facts.get("tier_drop"):
        return True
    if reason.severity is not Severity.CRITICAL:
        return False
    since = stored.first_critical_at or portfolio.now
    waited = business_hours_between(
        since,
        portfolio.now,
        facts.timezone,
        portfolio.org.business_hours,
        cap=rules.escalate_after_business_hours + 1,
    )
    return waited >= rules.escalate_after_business_hours


def _escalation_due_at(
    reason: Reason,
    stored: StoredAlert,
    facts: AccountFacts,
    rules: Rules,
    portfolio: Portfolio,
) -> datetime | None:
    """When a critical reason's alert becomes due for escalation by time (None: no time in
    it — a tier drop is due at once)."""
    if reason.facts.get("tier_drop") or reason.severity is not Severity.CRITICAL:
        return None
    since = stored.first_critical_at or portfolio.now
    return business_instant(
        since,
        rules.escalate_after_business_hours,
        facts.timezone,
        portfolio.org.business_hours,
    )


def _pulse(ctx: Ctx) -> Pulse:
    r = ctx.account.rollup
    tiers = ctx.rules.health_tiers
    csm, ai = valid_csm_pulse(ctx), valid_ai_pulse(ctx)
    return Pulse(
        health=r.health_score,
        health_tier=tiers.tier(r.health_score) if r.health_score is not None else None,
        health_delta=(
            r.health_score - r.health_prev_score
            if r.health_score is not None and r.health_prev_score is not None
            else None
        ),
        csm=csm[0] if csm else None,
        ai=ai[0] if ai else None,
        divergent=(abs(csm[0] - ai[0]) >= ctx.rules.pulse_divergence_gap if csm and ai else None),
    )
