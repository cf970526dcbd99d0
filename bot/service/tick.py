"""One scheduler tick (cli.md ``followup-bot tick``), as far as it goes today: a recording sweep,
the due actions (:mod:`bot.service.actions`), then a drain of the outbox — every due message,
whoever queued it. Digests due, snooze wake-ups, escalations and approval requests join here as
they are built."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.engine.sweep import run_sweep
from bot.service.actions import ActionsReport, run_actions
from bot.service.outbox import DrainReport, drain
from bot.service.webhook import WebhookConfig
from bot.slack.delivery import Clock, Pacing, utc_now


@dataclass(slots=True)
class TickReport:
    as_of: datetime
    accounts: int
    cards: int
    actions: ActionsReport
    outbox: DrainReport


def run_tick(
    engine: Engine,
    client: WebClient | None,
    now: datetime,
    *,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
    pacing: Pacing | None = None,
) -> TickReport:
    result = run_sweep(engine, now, dry_run=False)
    actions = run_actions(engine, now, result, webhook=webhook, clock=clock)
    sent = drain(engine, client, webhook=webhook, clock=clock, pacing=pacing)
    return TickReport(now, result.accounts, len(result.cards), actions, sent)
