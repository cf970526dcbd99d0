"""One scheduler round (``followup-bot tick``, and every minute in ``scheduler`` / ``serve``).

Each job of the round runs under a lock of its own, taken only if it is free
(:func:`bot.db.locks.try_lock`): when another process's round is doing that job right now, this
round leaves it to that one. That is an economy, not the guarantee: every message a job sends
goes through a claim that lets exactly one process send it (the daily DM's slot per user and
local day), so two rounds at once still send each message once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.db.locks import try_lock
from bot.service.schedule import send_due_digests
from bot.slack.delivery import Clock, DeliveryReport, Pacing, utc_now

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RoundReport:
    as_of: datetime
    digests: DeliveryReport | None = None
    left_to_others: list[str] = field(default_factory=list)  # jobs another process was doing
    failed: dict[str, str] = field(default_factory=dict)  # job → what went wrong

    def lines(self) -> list[str]:
        out = []
        if self.digests is not None:
            if self.digests.outcomes:
                out.append(f"daily DMs: {self.digests.summary()}")
                out += [f"  {o.describe()}" for o in self.digests.outcomes]
            else:
                out.append("daily DMs: none due")
        for job in self.left_to_others:
            out.append(f"{job}: another process is doing it")
        for job, why in self.failed.items():
            out.append(f"{job}: failed ({why})")
        return out


def run_round(
    engine: Engine,
    client: WebClient,
    now: datetime,
    *,
    pacing: Pacing | None = None,
    clock: Clock = utc_now,
) -> RoundReport:
    """The jobs due at ``now``: today, the daily DMs due in each reader's time zone."""
    report = RoundReport(now)

    def digests() -> None:
        report.digests = send_due_digests(engine, client, now, pacing=pacing, clock=clock)

    _job(engine, "daily DMs", "round-digests", digests, report)
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
