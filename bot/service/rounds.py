"""One scheduler round (``followup-bot tick``, and every minute in ``scheduler`` / ``serve``):
a recording sweep, the daily DMs due in each reader's time zone, the escalations due (and the
reminders of unacknowledged ones, and the "snoozed follow-ups are back" DMs —
:mod:`bot.service.escalations`), the due actions (executed once per account, action and
evidence; gated ones stored for approval), then every due message of the outbox (escalations,
action DMs, specialist posts, the actions webhook).

Each job after the sweep runs under a lock of its own, taken only if it is free
(:func:`bot.db.locks.try_lock`): when another process's round is doing that job right now, this
round leaves it to that one. That is an economy, not the guarantee: every message goes through
a claim that lets exactly one process send it (the daily DM's slot per user and local day, the
outbox row), so two rounds at once still send each message once. Recording sweeps take turns
(:data:`bot.engine.sweep.RECORDING_SWEEP_LOCK`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.db.locks import try_lock
from bot.engine.sweep import run_sweep
from bot.service.actions import ActionsReport, run_actions
from bot.service.escalations import EscalationReport, escalate_due, remind_due, tell_wakeups
from bot.service.outbox import DrainReport, drain
from bot.service.schedule import send_due_digests
from bot.service.webhook import WebhookConfig
from bot.slack.delivery import Clock, DeliveryReport, Pacing, utc_now

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RoundReport:
    as_of: datetime
    accounts: int = 0
    cards: int = 0
    digests: DeliveryReport | None = None
    actions: ActionsReport = field(init=False)
    escalations: EscalationReport = field(default_factory=EscalationReport)
    outbox: DrainReport = field(default_factory=DrainReport)
    left_to_others: list[str] = field(default_factory=list)  # jobs another process was doing
    failed: dict[str, str] = field(default_factory=dict)  # job → what went wrong

    def __post_init__(self) -> None:
        self.actions = ActionsReport(self.as_of)

    def lines(self) -> list[str]:
        out = [f"swept {self.accounts} accounts ({self.cards} cards)"]
        if self.digests is not None and self.digests.outcomes:
            out.append(f"daily DMs: {self.digests.summary()}")
            out += [f"  {o.describe()}" for o in self.digests.outcomes]
        elif self.digests is not None:
            out.append("daily DMs: none due")
        out += self.escalations.lines()
        out.append(f"Actions: {self.actions.summary()}")
        out += [f"  {o.describe()}" for o in self.actions.outcomes]
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
) -> RoundReport:
    """Every job due at ``now`` (see the module docstring)."""
    report = RoundReport(now)
    result = run_sweep(engine, now, dry_run=False)
    report.accounts, report.cards = result.accounts, len(result.cards)

    def digests() -> None:
        if client is not None:
            report.digests = send_due_digests(
                engine, client, now, pacing=pacing, clock=clock, result=result
            )

    def escalations() -> None:
        escalate_due(engine, now, report.escalations)

    def reminders() -> None:
        remind_due(engine, now, report.escalations)

    def wakeups() -> None:
        tell_wakeups(engine, now, report.escalations)

    def actions() -> None:
        report.actions = run_actions(engine, now, result, webhook=webhook, clock=clock)

    def outbox() -> None:
        report.outbox = drain(engine, client, webhook=webhook, clock=clock, pacing=pacing)

    _job(engine, "daily DMs", "round-digests", digests, report)
    _job(engine, "escalations", "round-escalations", escalations, report)
    _job(engine, "escalation reminders", "round-escalation-reminders", reminders, report)
    _job(engine, "snooze wake-ups", "round-wakeups", wakeups, report)
    _job(engine, "actions", "round-actions", actions, report)
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
