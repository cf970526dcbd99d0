"""The outbox's drain: every due row sent once, oldest first — each scheduler round, and at once
after a click that queued a DM (:mod:`bot.service.outbox` describes the store and its one post
path).

A drain claims each due row (pending and due, or left claimed by a dead drain whose lease ran
out), sends it — a Slack post through :class:`~bot.service.outbox.Poster`, a webhook call
signed by :mod:`bot.service.webhook` — and records the outcome while it holds the lease. Webhook
rows wait while no webhook is configured; the daily DM's rows are never drained (their delivery
sends them, :mod:`bot.service.dm_delivery`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import ColumnElement, Engine, and_, or_, select, true

from bot.db.models import OutboxMessage
from bot.service.outbox import Claimed, Done, Kind, Poster, State, claim, in_flight
from bot.service.webhook import WebhookConfig, post_webhook
from bot.slack.delivery import Clock, Pacer, Pacing, paced_client, utc_now
from bot.slack.users import resolve_users

BATCH = 50


def _due(now: datetime, webhooks: bool) -> ColumnElement[bool]:
    due = or_(
        and_(OutboxMessage.status == State.PENDING.value, OutboxMessage.next_attempt_at <= now),
        in_flight(now),
    )
    skipped = [Kind.DAILY_DM.value] + ([] if webhooks else [Kind.WEBHOOK.value])
    return and_(due, OutboxMessage.kind.not_in(skipped))


@dataclass(slots=True)
class DrainReport:
    sent: list[str] = field(default_factory=list)
    retrying: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    parked: list[tuple[str, str]] = field(default_factory=list)
    unknown: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.sent)} sent, {len(self.retrying)} to retry, {len(self.failed)} failed, "
            f"{len(self.parked)} parked, {len(self.unknown)} unknown"
        )

    def lines(self) -> list[str]:
        out = []
        for what, rows in (
            ("to retry", self.retrying),
            ("failed", self.failed),
            ("parked", self.parked),
            ("unknown", self.unknown),
        ):
            out += [f"{key}: {what}: {error}" for key, error in rows]
        return out

    def add(self, key: str, done: Done) -> None:
        if not done.recorded:
            return
        if done.state is State.SENT:
            self.sent.append(key)
            return
        {
            State.PENDING: self.retrying,
            State.FAILED: self.failed,
            State.PARKED: self.parked,
            State.UNKNOWN: self.unknown,
        }[done.state].append((key, done.error or ""))


@dataclass(slots=True)
class _Drain:
    poster: Poster
    webhook: WebhookConfig | None

    def run(self, row: Claimed) -> Done:
        poster = self.poster
        if row.kind is Kind.WEBHOOK:
            assert self.webhook is not None  # webhook rows are only claimed with one
            outcome = post_webhook(
                row.target, self.webhook.secret, row.payload, row.key, poster.clock()
            )
            if outcome.ok:
                return poster.done(row, State.SENT)
            return poster.retry_or_park(row, outcome.error or "failed")
        if poster.client is None:
            return poster.retry_or_park(row, "no Slack client (SLACK_BOT_TOKEN is not set)")
        channel = self._channel(poster.client, row)
        if isinstance(channel, Done):
            return channel
        if row.resumed:
            settled = poster.settle(row, channel)
            if settled is not None:
                return settled
        return poster.post(row, channel)

    def _channel(self, client: WebClient, row: Claimed) -> str | Done:
        """Where the row posts (a Slack user id for a DM, a channel id), or the row failed."""
        if not row.target:
            return self.poster.done(row, State.FAILED, "no channel is set")
        if row.kind is Kind.POST:
            return row.target
        ident = resolve_users(self.poster.engine, client, [row.target]).get(row.target)
        if ident is None or ident.slack_user_id is None:
            why = ident.problem if ident is not None and ident.problem else "not in Slack"
            error = f"{row.target} has no Slack user ({why})"
            return self.poster.done(row, State.FAILED, error)
        return ident.slack_user_id


def drain(
    engine: Engine,
    client: WebClient | None,
    *,
    webhook: WebhookConfig | None = None,
    clock: Clock = utc_now,
    pacing: Pacing | None = None,
    only: Sequence[str] | None = None,
) -> DrainReport:
    """Send every due outbox row once, oldest first (``only``: just the rows of those keys, as
    a click that queued a DM sends it at once). Webhook rows wait while no webhook is
    configured; daily DM rows are left to their delivery."""
    report = DrainReport()
    slack = paced_client(client) if client is not None else None
    sender = _Drain(Poster(engine, slack, Pacer(pacing or Pacing()), clock), webhook)
    after = 0
    while True:
        with engine.connect() as conn:
            due = list(
                conn.execute(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.id > after, _due(clock(), webhook is not None))
                    .where(OutboxMessage.key.in_(list(only)) if only is not None else true())
                    .order_by(OutboxMessage.id)
                    .limit(BATCH)
                ).scalars()
            )
        if not due:
            return report
        for row_id in due:
            after = row_id
            now = clock()
            with engine.begin() as conn:
                row = claim(conn, row_id, now, _due(now, webhook is not None))
            if row is not None:
                report.add(row.key, sender.run(row))
