"""One scheduler round (``followup-bot tick``, and every minute in ``scheduler`` / ``serve``):
an incremental sweep (only the accounts whose data changed or whose next check has come are
evaluated again; the queue left is the one a full sweep would leave), the daily DMs due in each
reader's time zone, the escalations due (and the reminders of unacknowledged ones, and the
"snoozed follow-ups are back" DMs — :mod:`bot.service.escalations`), the due actions (executed
once per account, action and evidence; gated ones stored for approval), the approvals (a
request in the approvals channel per pending run, a reminder in its thread a business day
later), the AI Pulse of accounts whose activity changed (with an Anthropic key;
:mod:`bot.ai.pulse`), the meeting-prep DMs of meetings starting within the hour
(:mod:`bot.service.prep_dm`), then every due message of the outbox (escalations, action DMs,
prep DMs, approvals, specialist posts, the actions webhook).

Each job after the sweep runs under a lock of its own, taken only if it is free
(:func:`bot.db.locks.try_lock`): when another process's round is doing that job right now, this
round leaves it to that one. That is an economy, not the guarantee: every message is an outbox
row that exactly one process can claim and send (a daily DM's messages under its slot per user
and local day), so two rounds at once still send each message once. Recording sweeps take turns
(:data:`bot.engine.sweep.RECORDING_SWEEP_LOCK`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.db.locks import try_lock
from bot.engine.incremental import as_sweep_result, run_incremental_sweep, stored_queue
from bot.engine.sweep_pool import SweepPool
from bot.service.actions import ActionsReport, run_actions
from bot.service.approvals import ApprovalsReport, post_approvals
from bot.service.drain import DrainReport, drain
from bot.service.escalations import EscalationReport, escalate_due, remind_due, tell_wakeups
from bot.service.prep_dm import PrepReport, queue_prep_dms
from bot.service.schedule import send_due_digests
from bot.service.webhook import WebhookConfig
from bot.slack.delivery import Clock, DeliveryReport, Pacing, utc_now

if TYPE_CHECKING:
    from bot.ai.client import AiConfig


log = logging.getLogger(__name__)


@dataclass(slots=True)
class RoundReport:
    as_of: datetime
    accounts: int = 0
    evaluated: int = 0  # accounts the incremental sweep re-evaluated
    cards: int = 0
    digests: DeliveryReport | None = None
    actions: ActionsReport = field(init=False)
    approvals: ApprovalsReport = field(default_factory=ApprovalsReport)
    escalations: EscalationReport = field(default_factory=EscalationReport)
    outbox: DrainReport = field(default_factory=DrainReport)
    ai_pulse: str | None = None  # what the AI Pulse job did (None: no key)
    prep: PrepReport = field(default_factory=PrepReport)
    left_to_others: list[str] = field(default_factory=list)  # jobs another process was doing
    failed: dict[str, str] = field(default_factory=dict)  # job → what went wrong

    def __post_init__(self) -> None:
        self.actions = ActionsReport(self.as_of)

    def lines(self) -> list[str]:
        out = [
            f"swept: re-evaluated {self.evaluated} of {self.accounts} accounts "
            f"({self.cards} cards in the queue)"
        ]
        if self.digests is not None and self.digests.outcomes:
            out.append(f"daily DMs: {self.digests.summary()}")
            out += [f"  {o.describe()}" for o in self.digests.outcomes]
        elif self.digests is not None:
            out.append("daily DMs: none due")
        out += self.escalations.lines()
        out.append(f"Actions: {self.actions.summary()}")
        out += [f"  {o.describe()}" for o in self.actions.outcomes]
        out.append(f"Approvals: {self.approvals.summary()}")
        out += [f"  {line}" for line in self.approvals.lines()]
        if self.ai_pulse is not None:
            out.append(f"AI Pulse: {self.ai_pulse}")
        out.append(f"Meeting prep DMs: {self.prep.summary()}")
        out.append(f"Outbox: {self.outbox.summary()}")
        out += [f"  {line}" for line in self.outbox.lines()]
        out += [f"{job}: another process is doing it" for job in self.left_to_others]
        out += [f"{job}: failed ({why})" for job, why in self.failed.items()]
        return out


def run_round(
    engine: Engine,
    client: WebClient | None,
    now: datetime,
    *,
    webhook: WebhookConfig | None = None,
    pacing: Pacing | None = None,
    clock: Clock = utc_now,
    ai: AiConfig | None = None,
    sweep_pool: SweepPool | None = None,
) -> RoundReport:
    """Every job due at ``now`` (see the module docstring). ``sweep_pool``: the worker the
    incremental sweep shares its accounts with (a long-lived scheduler keeps one)."""
    report = RoundReport(now)
    swept = run_incremental_sweep(engine, now, pool=sweep_pool)
    with engine.connect() as conn:
        result = as_sweep_result(swept, stored_queue(conn))
    report.accounts, report.evaluated, report.cards = (
        swept.accounts,
        swept.evaluated,
        len(result.cards),
    )

    def digests() -> None:
        if client is not None:
            report.digests = send_due_digests(
                engine, client, now, pacing=pacing, clock=clock, result=result, ai=ai
            )

    def escalations() -> None:
        escalate_due(engine, now, report.escalations)

    def reminders() -> None:
        remind_due(engine, now, report.escalations)

    def wakeups() -> None:
        tell_wakeups(engine, now, report.escalations)

    def actions() -> None:
        # An account's actions follow from its data and signals: between the hourly rounds
        # that assess every account (time alone moves a renewal closer), only the accounts the
        # sweep evaluated again can call for new ones.
        hourly = now.minute == 0 or swept.full
        only = None if hourly else set(swept.evaluated_ids)
        report.actions = run_actions(engine, now, result, webhook=webhook, clock=clock, only=only)

    def approvals() -> None:
        report.approvals = post_approvals(engine, client, webhook=webhook, clock=clock)

    def ai_pulse() -> None:
        if ai is not None:
            from bot.ai.pulse import refresh_ai_pulses

            report.ai_pulse = refresh_ai_pulses(engine, ai, now).summary()

    def prep() -> None:
        report.prep = queue_prep_dms(engine, now)

    def outbox() -> None:
        report.outbox = drain(engine, client, webhook=webhook, clock=clock, pacing=pacing)

    _job(engine, "daily DMs", "round-digests", digests, report)
    _job(engine, "escalations", "round-escalations", escalations, report)
    _job(engine, "escalation reminders", "round-escalation-reminders", reminders, report)
    _job(engine, "snooze wake-ups", "round-wakeups", wakeups, report)
    _job(engine, "actions", "round-actions", actions, report)
    _job(engine, "approvals", "round-approvals", approvals, report)
    _job(engine, "AI Pulse", "round-ai-pulse", ai_pulse, report)
    _job(engine, "meeting prep DMs", "round-prep", prep, report)
    _job(engine, "outbox", "round-outbox", outbox, report)
    return report


def _job(
    engine: Engine, title: str, lock: str, work: Callable[[], None], report: RoundReport
) -> None:
    with try_lock(engine, lock) as mine:
        if not mine:
            report.left_to_others.append(title)
            return
        try:
            work()
        except Exception as exc:  # one job's failure never stops the others
            log.exception("scheduler job %s failed", title)
            report.failed[title] = f"{type(exc).__name__}: {exc}"
