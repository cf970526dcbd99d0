"""The scheduler: APScheduler runs a round (:func:`bot.service.rounds.run_round`) every
``interval`` seconds — inside ``followup-bot serve`` (a background scheduler) or alone as
``followup-bot scheduler`` (a blocking one).

One job, ``round``, in memory (nothing to persist: a round works out what is due from the
database each time); ``coalesce`` and ``max_instances=1`` keep a slow round from piling up
runs, and a round missed while the process was down is simply the next one. Any number of
processes may run a scheduler against one PostgreSQL: each job of a round takes a lock only if
it is free, and every message goes through a claim that lets one process send it
(:mod:`bot.service.rounds`). On SQLite run one scheduler (the embedded database is for one
machine; the locks there are files beside the database).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.engine.sweep_pool import SweepPool
from bot.service.rounds import run_round
from bot.service.webhook import WebhookConfig

if TYPE_CHECKING:
    from bot.ai.client import AiConfig


log = logging.getLogger(__name__)

ROUND_SECONDS = 60


def utc_now() -> datetime:
    return datetime.now(UTC)


def build_scheduler(
    engine: Engine,
    client: WebClient,
    *,
    background: bool,
    webhook: WebhookConfig | None = None,
    interval: float = ROUND_SECONDS,
    clock: Callable[[], datetime] = utc_now,
    ai: AiConfig | None = None,
    sweep_pool: SweepPool | None = None,
) -> Any:
    """A scheduler (not started) whose one job runs a round every ``interval`` seconds, the
    first at once; its incremental sweeps share their accounts with ``sweep_pool``'s worker."""
    kind = BackgroundScheduler if background else BlockingScheduler
    scheduler = kind(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )

    def one_round() -> None:
        report = run_round(engine, client, clock(), webhook=webhook, ai=ai, sweep_pool=sweep_pool)
        for line in report.lines():
            log.info("round: %s", line)

    scheduler.add_job(
        one_round,
        "interval",
        seconds=interval,
        id="round",
        name="scheduler round",
        next_run_time=clock(),
    )
    return scheduler
