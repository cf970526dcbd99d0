"""Executing the recommended actions (issue 19): by ``tick`` (and later ``deliver`` and the
scheduler), never by ``sweep``.

Every account's recommendations (:func:`bot.engine.actions.recommend`) are taken once per
``(account, action, evidence)`` — the unique key of ``action_runs``. An ``auto`` action is
executed (:mod:`bot.service.executors`); a ``needs_approval`` one is stored as
``pending_approval`` for the approvals flow; ``recommended`` ones wait for the CSM's click. The
run, what its executor wrote, its audit-log entry and its messages (and the webhook's event) are
committed in one transaction, taken under the named lock ``actions`` so that two ticks at once
execute each action once and see each other's reassignments. The messages are then sent by the
outbox (:mod:`bot.service.outbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from bot.db.locks import serialized
from bot.db.models import Account, ActionRun, AuditLog, Exclusion
from bot.engine.actions import Recommendation, recommend
from bot.engine.assessment import Assessment, assess, load_profile, load_profiles
from bot.engine.business_time import local_date
from bot.engine.execution import evidence_parts, run_key, webhook_event
from bot.engine.facts import NEVER_FLAGGED_STATUSES, OrgFacts, UserFacts, load_org, load_users
from bot.engine.policy import AutomationLevel, Status, org_level
from bot.engine.results import Reason
from bot.engine.sweep import SweepResult, run_sweep
from bot.service.executors import EXECUTORS, Done, Refused, Run
from bot.service.outbox import Kind, Message, enqueue
from bot.service.webhook import WebhookConfig
from bot.slack.delivery import Clock, utc_now

log = logging.getLogger(__name__)

LOCK = "actions"
DECIDABLE = ("pending_approval", "approved")  # runs execute_approved may still execute


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    account: str
    account_name: str
    action: str
    status: str  # executed | pending_approval | refused | failed
    detail: str | None = None

    def describe(self) -> str:
        text = f"{self.account_name} ({self.account}): {self.action} {self.status}"
        return text + (f" — {self.detail}" if self.detail else "")


@dataclass(slots=True)
class ActionsReport:
    as_of: datetime
    outcomes: list[ActionOutcome] = field(default_factory=list)
    unchanged: int = 0  # runs of the same evidence done (or waiting) already

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        parts = [
            f"{self.count(s)} {s.replace('_', ' ')}"
            for s in ("executed", "pending_approval", "refused", "failed")
        ]
        return ", ".join(parts) + f", {self.unchanged} already done"


@dataclass(slots=True)
class _Context:
    org: OrgFacts
    users: dict[str, UserFacts]
    now: datetime
    webhook: WebhookConfig | None
    report: ActionsReport
    queued_at: datetime  # when the messages become due (the real clock, not as_of)


def _accounts(conn: Connection, now: datetime, org: OrgFacts) -> list[str]:
    """The accounts actions may be taken on: in scope and not excluded."""
    today = local_date(now, org.timezone)
    excluded = {
        acc
        for acc, until in conn.execute(select(Exclusion.account_id, Exclusion.until))
        if until is None or until >= today
    }
    ids = conn.execute(
        select(Account.id)
        .where(or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)))
        .order_by(Account.id)
    ).scalars()
    return [a for a in ids if a not in excluded]


def run_actions(
    engine: Engine,
    now: datetime,
    result: SweepResult,
    *,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
    only: Collection[str] | None = None,
) -> ActionsReport:
    """Take every account's due actions at ``now`` (or only those of ``only``: the accounts an
    incremental sweep found changed), the signals being those of ``result`` (a recording sweep
    at ``now``); their messages wait in the outbox for a drain."""
    report = ActionsReport(now)
    reasons: dict[str, list[Reason]] = {c.account: list(c.reasons) for c in result.cards}
    with engine.connect() as conn:
        org = load_org(conn)
        users = load_users(conn, org.timezone)
        accounts = _accounts(conn, now, org)
    if only is not None:
        accounts = [a for a in accounts if a in only]
    level = org_level(org.automation_level)
    ctx = _Context(org, users, now, webhook, report, clock())
    with engine.connect() as conn:
        profiles = load_profiles(conn, accounts, now, org, users)
        runs = _runs_by_action(conn)
    for account_id in accounts:
        profile = profiles.get(account_id)
        if profile is None:
            continue
        assessment = assess(profile, org.rules.for_team(profile.team_id), now)
        recs = recommend(assessment, reasons.get(account_id, []), level, org.fallback_csm_id)
        due = [r for r in recs if r.status is not Status.RECOMMENDED]
        # Most rounds find every due action done already: those need no write transaction
        # (a run another process adds meanwhile is seen by _take, under the lock).
        new = [r for r in due if not _done_before(runs.get((r.account, r.action.id), []), r)]
        report.unchanged += len(due) - len(new)
        if new:
            with serialized(engine, LOCK) as conn:
                for rec in new:
                    _take(conn, ctx, assessment, rec)
    return report


_Run = tuple[str, str, str]  # key, status, evidence


def _runs_by_action(conn: Connection) -> dict[tuple[str, str], list[_Run]]:
    out: dict[tuple[str, str], list[_Run]] = {}
    for account, action, key, status, evidence in conn.execute(
        select(
            ActionRun.account_id,
            ActionRun.action,
            ActionRun.key,
            ActionRun.status,
            ActionRun.evidence,
        ).order_by(ActionRun.id)
    ):
        out.setdefault((account, action), []).append((key, status, evidence))
    return out


def _done_before(earlier: list[_Run], rec: Recommendation) -> bool:
    """Whether ``rec`` was run (or is waiting) already: the rule of :func:`_take`."""
    key = run_key(rec.account, rec.action.id, rec.evidence)
    existing = next((r for r in earlier if r[0] == key), None)
    seen = {
        p
        for _, status, evidence in earlier
        if status != "refused"
        for p in evidence_parts(evidence)
    }
    return (existing is not None and existing[1] != "refused") or (
        existing is None and evidence_parts(rec.evidence) <= seen
    )


def _audit(
    conn: Connection,
    ctx: _Context,
    rec: Recommendation,
    what: str,
    details: dict[str, Any],
    approved_by: str | None = None,
) -> None:
    """The audit-log entry: what, for whom, automatic or approved by whom, when."""
    conn.execute(
        insert(AuditLog).values(
            at=ctx.now,
            actor=approved_by or "bot",
            action=f"action.{what}",
            subject=f"account:{rec.account}",
            details={
                "action": rec.action.id,
                "owner": rec.owner,
                "priority": rec.priority.value,
                "automatic": approved_by is None,
                "approved_by": approved_by,
                "rationale": rec.rationale,
                **details,
            },
        )
    )


def _take(
    conn: Connection,
    ctx: _Context,
    assessment: Assessment,
    rec: Recommendation,
    actor: str | None = None,
) -> None:
    """Run ``rec`` once for its evidence (or store it for approval); ``actor``: the user who
    asked for it ("Do it" on a card), else it is automatic."""
    key = run_key(rec.account, rec.action.id, rec.evidence)
    name = assessment.profile.name
    earlier = conn.execute(
        select(
            ActionRun.key,
            ActionRun.id,
            ActionRun.status,
            ActionRun.error,
            ActionRun.evidence,
            ActionRun.decided_by,
        )
        .where(ActionRun.account_id == rec.account, ActionRun.action == rec.action.id)
        .order_by(ActionRun.id)
    ).all()
    existing = next((r for r in earlier if r.key == key), None)
    # Each piece of evidence leads to the action once: a run whose own effect retired one of
    # its triggers (a checkpoint task answers "no next action") does not make it run again.
    seen = {p for r in earlier if r.status != "refused" for p in evidence_parts(r.evidence)}
    if (existing is not None and existing.status != "refused") or (
        existing is None and evidence_parts(rec.evidence) <= seen
    ):
        ctx.report.unchanged += 1
        return
    if existing is None:
        pending = rec.status is Status.NEEDS_APPROVAL
        decided = {} if pending or actor is None else {"decided_by": actor}
        run_id = conn.execute(
            insert(ActionRun)
            .values(
                key=key,
                account_id=rec.account,
                action=rec.action.id,
                evidence=rec.evidence,
                status="pending_approval" if pending else "executing",
                owner_id=rec.owner,
                priority=rec.priority.value,
                rationale=rec.rationale,
                created_at=ctx.now,
                **decided,
            )
            .returning(ActionRun.id)
        ).scalar_one()
        if pending:
            _audit(conn, ctx, rec, "pending_approval", {"run": run_id, "automatic": False})
            ctx.report.outcomes.append(
                ActionOutcome(rec.account, name, rec.action.id, "pending_approval")
            )
            return
    else:
        run_id = existing.id
        if existing.decided_by is None and rec.status is Status.NEEDS_APPROVAL:
            # Refused before anyone approved it, and gated now: it waits for a manager again.
            conn.execute(
                update(ActionRun)
                .where(ActionRun.id == run_id)
                .values(status="pending_approval", error=None)
            )
            _audit(conn, ctx, rec, "pending_approval", {"run": run_id, "automatic": False})
            ctx.report.outcomes.append(
                ActionOutcome(rec.account, name, rec.action.id, "pending_approval")
            )
            return
    # A run a manager approved before it was refused runs again in their name.
    approver = actor or (existing.decided_by if existing is not None else None)
    run = Run(run_id, key, rec, assessment, ctx.org, ctx.users, ctx.now, approved_by=approver)
    _execute(conn, ctx, run, existing.error if existing is not None else None, first=not existing)


def _execute(
    conn: Connection, ctx: _Context, run: Run, last_error: str | None, *, first: bool
) -> ActionOutcome:
    rec, name, by = run.rec, run.account_name, run.approved_by
    try:
        with conn.begin_nested():
            outcome = EXECUTORS[rec.action.id](conn, run)
            if isinstance(outcome, Done):
                _executed(conn, ctx, run, outcome)
    except Exception as exc:
        log.exception("action %s of %s failed", rec.action.id, rec.account)
        error = f"{type(exc).__name__}: {exc}"
        conn.execute(
            update(ActionRun).where(ActionRun.id == run.id).values(status="failed", error=error)
        )
        _audit(conn, ctx, rec, "failed", {"run": run.id, "error": error}, by)
        done = ActionOutcome(rec.account, name, rec.action.id, "failed", error)
        ctx.report.outcomes.append(done)
        return done
    if isinstance(outcome, Refused):
        conn.execute(
            update(ActionRun)
            .where(ActionRun.id == run.id)
            .values(status="refused", error=outcome.reason)
        )
        refused = ActionOutcome(rec.account, name, rec.action.id, "refused", outcome.reason)
        if first or last_error != outcome.reason:
            _audit(conn, ctx, rec, "refused", {"run": run.id, "reason": outcome.reason}, by)
            ctx.report.outcomes.append(refused)
        else:
            ctx.report.unchanged += 1
        return refused
    done = ActionOutcome(rec.account, name, rec.action.id, "executed")
    ctx.report.outcomes.append(done)
    return done


def _executed(conn: Connection, ctx: _Context, run: Run, done: Done) -> None:
    rec = run.rec
    conn.execute(
        update(ActionRun)
        .where(ActionRun.id == run.id)
        .values(
            status="executed",
            executed_at=ctx.now,
            result=done.result,
            error=None,
            decided_by=run.approved_by,
        )
    )
    _audit(conn, ctx, rec, "executed", {"run": run.id, "result": done.result}, run.approved_by)
    messages = list(done.messages)
    if ctx.webhook is not None:
        event_key = f"action:{run.key}:webhook"
        event = webhook_event(
            event_key,
            rec,
            run.account_name,
            executed_at=ctx.now,
            approved_by=run.approved_by,
            result=done.result,
        )
        messages.append(
            Message(event_key, Kind.WEBHOOK, ctx.webhook.url, event, f"action_run:{run.id}")
        )
    for message in messages:
        enqueue(conn, message, ctx.queued_at)


# ------------------------------------------------------------------ approved


def execute_approved(
    engine: Engine,
    run_id: int,
    approver: str,
    now: datetime,
    *,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
) -> ActionOutcome:
    """Execute a ``pending_approval`` run that ``approver`` approved, or one the approvals flow
    already marked ``approved`` (:func:`bot.service.approvals.decide`), once. The account is
    assessed again at ``now``: an action it no longer calls for is refused.
    Its messages wait in the outbox."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ActionRun.account_id, ActionRun.action, ActionRun.key, ActionRun.status).where(
                ActionRun.id == run_id
            )
        ).first()
        if row is None:
            raise LookupError(f"no action run {run_id}")
        org = load_org(conn)
        users = load_users(conn, org.timezone)
        profile = load_profile(conn, row.account_id, now, org, users)
    name = profile.name if profile is not None else row.account_id
    if row.status not in DECIDABLE:
        return ActionOutcome(row.account_id, name, row.action, row.status, "already decided")
    if profile is None:
        raise LookupError(f"no account {row.account_id}")
    assessment = assess(profile, org.rules.for_team(profile.team_id), now)
    swept = run_sweep(engine, now, dry_run=True, account_ids=[row.account_id])
    reasons = next((list(c.reasons) for c in swept.cards if c.account == row.account_id), [])
    recs = recommend(assessment, reasons, org_level(org.automation_level), org.fallback_csm_id)
    rec = next((r for r in recs if r.action.id == row.action), None)
    ctx = _Context(org, users, now, webhook, ActionsReport(now), clock())
    with serialized(engine, LOCK) as conn:
        status = conn.execute(select(ActionRun.status).where(ActionRun.id == run_id)).scalar()
        if status not in DECIDABLE:
            return ActionOutcome(row.account_id, name, row.action, str(status), "already decided")
        conn.execute(
            update(ActionRun)
            .where(ActionRun.id == run_id)
            .values(decided_by=approver, decided_at=func.coalesce(ActionRun.decided_at, now))
        )
        if rec is None:
            reason = "the account no longer calls for it"
            conn.execute(
                update(ActionRun)
                .where(ActionRun.id == run_id)
                .values(status="refused", error=reason)
            )
            conn.execute(
                insert(AuditLog).values(
                    at=now,
                    actor=approver,
                    action="action.refused",
                    subject=f"account:{row.account_id}",
                    details={"action": row.action, "run": run_id, "reason": reason},
                )
            )
            return ActionOutcome(row.account_id, name, row.action, "refused", reason)
        run = Run(run_id, row.key, rec, assessment, org, users, now, approved_by=approver)
        return _execute(conn, ctx, run, None, first=True)


def take_action(
    engine: Engine,
    account_id: str,
    action_id: str,
    reasons: Sequence[Reason],
    *,
    actor: str,
    now: datetime,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
) -> ActionOutcome | None:
    """A CSM's "Do it" on a recommended action: it follows the segment matrix (and a major
    blocker) — run now in ``actor``'s name, or stored for a manager's approval. None when the
    account does not call for that action (any more) or it was taken already."""
    with engine.connect() as conn:
        org = load_org(conn)
        users = load_users(conn, org.timezone)
        profile = load_profile(conn, account_id, now, org, users)
    if profile is None:
        return None
    assessment = assess(profile, org.rules.for_team(profile.team_id), now)
    matrix = AutomationLevel.AUTONOMOUS  # the matrix value for every action
    recs = recommend(assessment, list(reasons), matrix, org.fallback_csm_id)
    rec = next((r for r in recs if r.action.id == action_id), None)
    if rec is None:
        return None
    report = ActionsReport(now)
    ctx = _Context(org, users, now, webhook, report, clock())
    with serialized(engine, LOCK) as conn:
        _take(conn, ctx, assessment, rec, actor=actor)
    return report.outcomes[-1] if report.outcomes else None
