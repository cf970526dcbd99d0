"""Approvals in the org's approvals channel (issue 19).

A ``needs_approval`` action is stored as a ``pending_approval`` run (:mod:`bot.service.actions`).
Each scheduler round (:func:`post_approvals`) queues, through the outbox, one request per pending
run in the approvals channel (key ``approval:RUN``) and, once a request has waited a business
day (the org's business hours) undecided, one reminder in its thread (``approval-reminder:RUN``).
With no approvals channel the runs stay pending, said once per run in the audit log; a request
Slack refused for good (``not_in_channel`` …) or that the outbox gave up on is queued again an
hour later, to the channel set then.

A decision (:func:`decide`) is one conditional UPDATE (``status = 'pending_approval'`` →
``approved`` / ``rejected``): of two people clicking at once exactly one wins, the other is told
who decided. An approved run is executed once (:func:`bot.service.actions.execute_approved`,
under the actions lock; a run left ``approved`` by a dead process is executed by the next
round). The channel message is then rendered again from the database (:func:`rerender`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from sqlalchemy import Connection, Engine, insert, select, update

from bot.blocks.approvals import (
    Approval,
    Person,
    approval_message,
    approval_reminder_message,
    approval_request_message,
)
from bot.db.models import Account, ActionRun, AuditLog, OutboxMessage
from bot.engine.business_time import BusinessHours, business_seconds
from bot.engine.facts import OrgFacts, load_org, load_users
from bot.service.actions import ActionOutcome, execute_approved
from bot.service.outbox import Kind, Message, State, enqueue
from bot.service.webhook import WebhookConfig
from bot.slack.client import error_code
from bot.slack.delivery import Clock, utc_now

log = logging.getLogger(__name__)

PENDING = "pending_approval"
RETRY_FAILED = timedelta(hours=1)  # a request Slack refused (not_in_channel …) is tried again
GAVE_UP = (State.FAILED.value, State.PARKED.value)  # the outbox's final failures
STALE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})
Verdict = Literal["approved", "rejected"]


def request_key(run_id: int) -> str:
    return f"approval:{run_id}"


def reminder_key(run_id: int) -> str:
    return f"approval-reminder:{run_id}"


def subject(run_id: int) -> str:
    return f"action_run:{run_id}"


# ---------------------------------------------------------------------- reading


def load_approval(conn: Connection, run_id: int) -> Approval | None:
    """The run as its channel message shows it; None for no such run."""
    row = conn.execute(
        select(ActionRun.__table__, Account.name.label("account_name"), Account.csm_id)
        .outerjoin(Account, Account.id == ActionRun.account_id)
        .where(ActionRun.id == run_id)
    ).first()
    if row is None:
        return None
    org = load_org(conn)
    users = load_users(conn, org.timezone)
    owner_id = (row.csm_id or org.fallback_csm_id) if row.account_name else row.owner_id
    owner = users.get(owner_id) if owner_id else None
    manager = users.get(owner.manager_id) if owner is not None and owner.manager_id else None
    decider = users.get(row.decided_by) if row.decided_by else None
    return Approval(
        run=row.id,
        account_id=row.account_id,
        account_name=row.account_name or row.account_id,
        action=row.action,
        priority=row.priority,
        rationale=row.rationale or "",
        owner=Person(owner.name, owner.slack_user_id) if owner else None,
        manager=Person(manager.name, manager.slack_user_id) if manager else None,
        status=row.status,
        created_at=row.created_at,
        decided_by=decider.name if decider else row.decided_by,
        decided_at=row.decided_at,
        reason=row.decision_reason,
        error=row.error,
    )


def posted_at(conn: Connection, run_id: int) -> tuple[str, str] | None:
    """(channel, ts) of the run's request once the outbox sent it."""
    row = conn.execute(
        select(OutboxMessage.channel, OutboxMessage.ts).where(
            OutboxMessage.key == request_key(run_id), OutboxMessage.status == State.SENT.value
        )
    ).first()
    if row is None or not row.channel or not row.ts:
        return None
    return str(row.channel), str(row.ts)


# ---------------------------------------------------------------------- the round job


@dataclass(slots=True)
class ApprovalsReport:
    queued: list[int] = field(default_factory=list)  # requests queued for the channel
    reminders: list[int] = field(default_factory=list)
    no_channel: list[int] = field(default_factory=list)  # waiting: no approvals channel set
    requeued: list[tuple[int, str]] = field(default_factory=list)  # refused by Slack earlier
    executed: list[ActionOutcome] = field(default_factory=list)  # approved runs left over

    def summary(self) -> str:
        return (
            f"{len(self.queued)} requests queued, {len(self.reminders)} reminders, "
            f"{len(self.no_channel)} waiting for an approvals channel"
        )

    def lines(self) -> list[str]:
        out = []
        if self.no_channel:
            out.append(
                f"{len(self.no_channel)} approvals wait: no approvals channel is set "
                "(set the org's approvals_channel)"
            )
        out += [
            f"approval of run {run}: Slack refused it ({error}); tried again in an hour"
            for run, error in self.requeued
        ]
        out += [f"approved earlier: {o.describe()}" for o in self.executed]
        return out


def business_day(hours: BusinessHours) -> float:
    """The seconds of one business day (e.g. 8 h for 09:00–17:00)."""
    day = date(2026, 1, 5)
    start = datetime.combine(day, hours.start)
    end = (
        datetime.combine(day + timedelta(days=1), time(0))
        if hours.end == time.max
        else datetime.combine(day, hours.end)
    )
    return max((end - start).total_seconds(), 3600.0)


def reminder_due(org: OrgFacts, sent_at: datetime, now: datetime) -> bool:
    """A business day of the org's business hours has passed since ``sent_at``."""
    day = business_day(org.business_hours)
    return business_seconds(sent_at, now, org.timezone, org.business_hours, day) >= day


def post_approvals(
    engine: Engine,
    client: WebClient | None,
    *,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
) -> ApprovalsReport:
    """Queue every pending run's request and due reminder; execute runs left ``approved``."""
    report = ApprovalsReport()
    now = clock()
    with engine.begin() as conn:
        org = load_org(conn)
        pending = list(
            conn.execute(
                select(ActionRun.id).where(ActionRun.status == PENDING).order_by(ActionRun.id)
            ).scalars()
        )
        rows = {
            r.key: r
            for r in conn.execute(
                select(
                    OutboxMessage.key,
                    OutboxMessage.status,
                    OutboxMessage.channel,
                    OutboxMessage.ts,
                    OutboxMessage.sent_at,
                    OutboxMessage.error,
                ).where(OutboxMessage.key.in_([request_key(r) for r in pending]))
            )
        }
        channel = org.approvals_channel
        for run_id in pending:
            row = rows.get(request_key(run_id))
            if row is None and channel is None:
                _no_channel(conn, run_id, now)
                report.no_channel.append(run_id)
            elif row is None and channel is not None:
                approval = load_approval(conn, run_id)
                assert approval is not None
                payload = approval_request_message(approval).to_dict()
                message = Message(request_key(run_id), Kind.POST, channel, payload, subject(run_id))
                if enqueue(conn, message, now):
                    report.queued.append(run_id)
            elif row is not None and row.status in GAVE_UP and channel is not None:
                conn.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.key == request_key(run_id),
                        OutboxMessage.status.in_(GAVE_UP),
                    )
                    .values(
                        status=State.PENDING.value,
                        target=channel,
                        attempts=0,
                        next_attempt_at=now + RETRY_FAILED,
                    )
                )
                report.requeued.append((run_id, str(row.error)))
            elif row is not None and _remind(row, org, now):
                approval = load_approval(conn, run_id)
                assert approval is not None
                payload = {**approval_reminder_message(approval).to_dict(), "thread_ts": row.ts}
                message = Message(
                    reminder_key(run_id), Kind.POST, row.channel, payload, subject(run_id)
                )
                if enqueue(conn, message, now):
                    report.reminders.append(run_id)
        left = list(
            conn.execute(
                select(ActionRun.id, ActionRun.decided_by).where(ActionRun.status == "approved")
            )
        )
    for run_id, approver in left:  # approved, but the process that approved it stopped
        outcome = _run_approved(engine, run_id, str(approver), now, webhook, clock)
        report.executed.append(outcome)
        if client is not None:
            rerender(engine, client, run_id)
    return report


def _remind(row: Any, org: OrgFacts, now: datetime) -> bool:
    """The request was posted a business day ago or more (whether reminded already, the
    reminder's own key says)."""
    sent = row.status == State.SENT.value and row.sent_at and row.channel and row.ts
    return bool(sent) and reminder_due(org, row.sent_at, now)


def _no_channel(conn: Connection, run_id: int, now: datetime) -> None:
    """Audit once per run that it waits for an approvals channel."""
    said = conn.execute(
        select(AuditLog.id).where(
            AuditLog.action == "approval.no_channel", AuditLog.subject == subject(run_id)
        )
    ).first()
    if said is None:
        conn.execute(
            insert(AuditLog).values(
                at=now,
                actor="bot",
                action="approval.no_channel",
                subject=subject(run_id),
                details={"run": run_id, "error": "no approvals channel is set"},
            )
        )


# ---------------------------------------------------------------------- deciding


@dataclass(frozen=True, slots=True)
class Decision:
    won: bool  # False: someone else decided first (``approval`` says who)
    approval: Approval
    outcome: ActionOutcome | None = None  # what came of an approval


class UnknownApproval(LookupError):
    pass


def decide(
    engine: Engine,
    run_id: int,
    user_id: str,
    verdict: Verdict,
    now: datetime,
    *,
    reason: str | None = None,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
) -> Decision:
    """Record ``user_id``'s decision unless the run was decided already; an approved run is
    then executed once. Permission is the caller's business (``Permission.APPROVER``)."""
    with engine.begin() as conn:
        won = (
            conn.execute(
                update(ActionRun)
                .where(ActionRun.id == run_id, ActionRun.status == PENDING)
                .values(
                    status=verdict,
                    decided_by=user_id,
                    decided_at=now,
                    decision_reason=reason if verdict == "rejected" else None,
                )
            ).rowcount
            == 1
        )
        if won:
            account = conn.execute(
                select(ActionRun.account_id, ActionRun.action).where(ActionRun.id == run_id)
            ).one()
            conn.execute(
                insert(AuditLog).values(
                    at=now,
                    actor=user_id,
                    action=f"approval.{verdict}",
                    subject=f"account:{account.account_id}",
                    details={"run": run_id, "action": account.action, "reason": reason},
                )
            )
    outcome = None
    if won and verdict == "approved":
        outcome = _run_approved(engine, run_id, user_id, now, webhook, clock)
    with engine.connect() as conn:
        approval = load_approval(conn, run_id)
    if approval is None:
        raise UnknownApproval(run_id)
    return Decision(won, approval, outcome)


def _run_approved(
    engine: Engine,
    run_id: int,
    approver: str,
    now: datetime,
    webhook: WebhookConfig | None,
    clock: Clock,
) -> ActionOutcome:
    try:
        return execute_approved(engine, run_id, approver, now, webhook=webhook, clock=clock)
    except LookupError:  # the account is gone
        reason = "the account is no longer in Followup Bot"
        with engine.begin() as conn:
            row = conn.execute(
                select(ActionRun.account_id, ActionRun.action).where(ActionRun.id == run_id)
            ).one()
            conn.execute(
                update(ActionRun)
                .where(ActionRun.id == run_id, ActionRun.status == "approved")
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
        return ActionOutcome(row.account_id, row.account_id, row.action, "refused", reason)


def rerender(
    engine: Engine,
    client: WebClient,
    run_id: int,
    *,
    fallback: tuple[str, str] | None = None,
) -> bool:
    """Update the channel message of ``run_id`` from the database (its stored channel/ts, else
    ``fallback``: the message clicked). False when there is none to update."""
    with engine.connect() as conn:
        where = posted_at(conn, run_id) or fallback
        approval = load_approval(conn, run_id)
    if where is None or approval is None:
        return False
    payload = approval_message(approval).to_dict()
    try:
        client.chat_update(
            channel=where[0], ts=where[1], text=payload["text"], blocks=payload["blocks"]
        )
    except Exception as exc:
        if error_code(exc) in STALE:  # deleted, or not ours to edit: not an error
            log.info("approval %s: message not updated (%s)", run_id, error_code(exc))
            return False
        raise
    return True
