"""The scheduler's daily-DM job: each reader's DM at their ``send_at``, in their own time zone,
once per local day (:mod:`bot.engine.schedule` says who is due).

Who was served on a local day is read from ``deliveries`` (one row per user and local day): a
DM sent, or whose outcome is unknown, or being sent right now (an unexpired lease) is not due
again; one Slack refused is tried again at the next round, at most :data:`MAX_ATTEMPTS` times
in the day. A reader who gets nothing that day (no cards, no Slack user) is recorded as
``skipped`` so that later rounds do not sweep for them again; ``followup-bot deliver`` still
sends to them on demand.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, cast

from slack_sdk import WebClient
from sqlalchemy import Connection, Engine, Table, select, update

from bot.db.models import Delivery
from bot.db.upsert import insert_ignore
from bot.engine.schedule import Due, due_digests
from bot.engine.sweep import SweepResult
from bot.service.daily_dm import deliver_digests, digest_readers
from bot.service.people import load_people
from bot.slack.delivery import (
    DEFAULT_LANES,
    Clock,
    DeliveryReport,
    Pacing,
    Status,
    utc_now,
)
from bot.slack.users import resolve_users

if TYPE_CHECKING:
    from bot.ai.client import AiConfig


log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
SERVED = ("sent", "unknown", "skipped")
BUSY = "another run is delivering it right now"


def served_days(conn: Connection, now: datetime) -> set[tuple[str, date]]:
    """``(user id, local day)`` of the DMs that are not due again: sent, unknown, skipped, being
    sent, or refused too often (the local days around ``now`` only)."""
    since = (now - timedelta(days=2)).date()
    rows = conn.execute(
        select(
            Delivery.user_id,
            Delivery.local_date,
            Delivery.status,
            Delivery.lease_until,
            Delivery.attempts,
        ).where(Delivery.local_date >= since)
    )
    served = set()
    for user_id, day, status, lease_until, attempts in rows:
        busy = lease_until is not None and lease_until > now
        if status in SERVED or busy or attempts >= MAX_ATTEMPTS:
            served.add((str(user_id), day))
    return served


def due_now(engine: Engine, now: datetime, client: WebClient | None = None) -> list[Due]:
    """The readers whose daily DM is due at ``now`` and not served yet. With ``client``, the
    time zone of a reader nobody gave one is asked of Slack first (once: it is kept)."""
    if client is not None:
        with engine.connect() as conn:
            org = load_people(conn).org
            ids = digest_readers(conn, org)
        resolve_users(engine, client, ids)
    with engine.connect() as conn:
        people = load_people(conn)
        readers = [people.users[u] for u in digest_readers(conn, people.org) if u in people.users]
        served = served_days(conn, now)
    return due_digests(readers, people.org, now, served)


def mark_skipped(engine: Engine, user_id: str, day: date, reason: str, now: datetime) -> None:
    """Nothing went to ``user_id`` on ``day`` (and nothing needs to): later rounds skip them."""
    with engine.begin() as conn:
        inserted = insert_ignore(
            conn,
            cast(Table, Delivery.__table__),
            {
                "user_id": user_id,
                "local_date": day,
                "status": "skipped",
                "attempts": 0,
                "created_at": now,
                "error": reason,
            },
            ("user_id", "local_date"),
        )
        if inserted is None:
            conn.execute(
                update(Delivery)
                .where(
                    Delivery.user_id == user_id,
                    Delivery.local_date == day,
                    Delivery.status == "failed",
                    Delivery.attempts >= MAX_ATTEMPTS,
                )
                .values(error=reason)
            )


def send_due_digests(
    engine: Engine,
    client: WebClient,
    now: datetime,
    *,
    pacing: Pacing | None = None,
    lanes: int = DEFAULT_LANES,
    clock: Clock = utc_now,
    due: Collection[Due] | None = None,
    result: SweepResult | None = None,
    ai: AiConfig | None = None,
) -> DeliveryReport:
    """Send the daily DMs due at ``now``: from ``result`` (a recording sweep at ``now``), or
    after one recording sweep of their own when anyone is due."""
    due = list(due if due is not None else due_now(engine, now, client))
    if not due:
        return DeliveryReport(now)
    report = deliver_digests(
        engine,
        client,
        as_of=now,
        only=[d.user.id for d in due],
        result=result,
        pacing=pacing,
        lanes=lanes,
        clock=clock,
        ai=ai,
    )
    days = {d.user.id: d.day for d in due}
    for outcome in report.outcomes:
        if outcome.status is Status.SKIPPED and outcome.reason != BUSY:
            mark_skipped(engine, outcome.user_id, days[outcome.user_id], outcome.reason or "", now)
        elif outcome.status is Status.FAILED:
            log.warning("daily DM of %s failed: %s", outcome.user_id, outcome.reason)
    return report
