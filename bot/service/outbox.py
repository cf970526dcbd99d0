"""One outbox for every outgoing message: a DM, a channel post, a webhook call — each sent
exactly once, across processes.

A message is **enqueued** as an ``outbox`` row under a unique idempotency key (INSERT … ON
CONFLICT DO NOTHING), in the same transaction as whatever made it due (an executed action): a
second enqueue of the same key is a no-op. A **drain** claims due rows one at a time with a
fencing lease (an UPDATE that succeeds only on a row that is pending and due, or claimed by a
lease that has run out), sends it, and records the outcome only while it still holds the lease.
Two drains at once therefore never send one row twice, and a drain killed mid-way leaves its row
to the next drain once the lease has run out.

Slack posts carry metadata naming their key (:mod:`bot.slack.posted`). When a post's answer is
lost, or a dead drain left a row claimed, the channel's newest messages are searched for it
(or, for a reply, its thread's) before posting again: found → recorded as sent; absent →
posted; Slack cannot tell → ``unknown``
(never posted again, and the audit log says so). Slack refusals that will not change by waiting
(``not_in_channel``, ``channel_not_found``, a user with no Slack account …) mark the row
``failed``; others are retried with exponential backoff and ``parked`` after
:data:`MAX_ATTEMPTS`. Every failed, parked or unknown row gets an audit-log entry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Connection, Engine, Table, and_, insert, or_, select, true, update

from bot.db.models import AuditLog, OutboxMessage
from bot.service.webhook import WebhookConfig, post_webhook
from bot.slack.client import error_code
from bot.slack.delivery import Clock, Pacer, Pacing, paced_client, utc_now
from bot.slack.posted import (
    NotFound,
    Posted,
    dm_channel,
    find_posted,
    marker,
    paced_call,
    surely_not_posted,
)
from bot.slack.sql import insert_ignore
from bot.slack.users import resolve_users

log = logging.getLogger(__name__)

MARK = "followup_outbox"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)  # after the 1st failure; doubles each time
BACKOFF_CAP = timedelta(hours=1)
BATCH = 50
# Slack errors worth trying again later; any other refusal is final.
TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
EXPLAIN = {
    "not_in_channel": "the bot is not a member of the channel (invite it)",
    "channel_not_found": "no such channel, or the bot cannot see it",
    "is_archived": "the channel is archived",
}


class Kind(StrEnum):
    DM = "dm"  # target: our user id (its Slack id is looked up when sending)
    POST = "post"  # target: a Slack channel id
    WEBHOOK = "webhook"  # target: the URL


class State(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    PARKED = "parked"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Message:
    key: str
    kind: Kind
    target: str
    # chat.postMessage text/blocks (and thread_ts for a reply), or the webhook's JSON body
    payload: Mapping[str, Any]
    subject: str | None = None  # what it is about, e.g. "action_run:12"


def enqueue(conn: Connection, message: Message, now: datetime) -> bool:
    """Queue ``message`` unless its key is queued already; True when it was added."""
    added = insert_ignore(
        conn,
        cast(Table, OutboxMessage.__table__),
        {
            "key": message.key,
            "kind": message.kind.value,
            "target": message.target,
            "payload": dict(message.payload),
            "subject": message.subject,
            "status": State.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        ("key",),
    )
    return added is not None


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min … at most 1 h."""
    wait: timedelta = BACKOFF * (2 ** max(0, attempts - 1))
    return min(wait, BACKOFF_CAP)


# ---------------------------------------------------------------------- the report


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


# ---------------------------------------------------------------------- the claim


@dataclass(slots=True)
class _Claimed:
    id: int
    key: str
    kind: Kind
    target: str
    payload: dict[str, Any]
    subject: str | None
    attempts: int  # including this one
    token: str
    resumed: bool  # an earlier drain held it and died: its post may have gone through


def _due(now: datetime, webhooks: bool) -> Any:
    due = or_(
        and_(OutboxMessage.status == State.PENDING.value, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == State.CLAIMED.value, OutboxMessage.lease_until < now),
    )
    return due if webhooks else and_(due, OutboxMessage.kind != Kind.WEBHOOK.value)


def _claim(engine: Engine, row_id: int, now: datetime, webhooks: bool) -> _Claimed | None:
    token = uuid.uuid4().hex
    with engine.begin() as conn:
        before = conn.execute(
            select(OutboxMessage.status).where(OutboxMessage.id == row_id)
        ).scalar()
        taken = conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, _due(now, webhooks))
            .values(
                status=State.CLAIMED.value,
                lease_token=token,
                lease_until=now + LEASE,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        if taken.rowcount != 1:
            return None
        row = conn.execute(select(OutboxMessage.__table__).where(OutboxMessage.id == row_id)).one()
        return _Claimed(
            row.id,
            row.key,
            Kind(row.kind),
            row.target,
            dict(row.payload),
            row.subject,
            row.attempts,
            token,
            resumed=before == State.CLAIMED.value,
        )


def _finish(
    engine: Engine,
    row: _Claimed,
    state: State,
    now: datetime,
    *,
    error: str | None = None,
    posted: Posted | None = None,
) -> bool:
    """Record the outcome while the lease is ours (False: another drain took the row over)."""
    values: dict[str, Any] = {
        "status": state.value,
        "lease_token": None,
        "lease_until": None,
        "error": error,
    }
    if state is State.SENT:
        values["sent_at"] = now
        if posted is not None:
            values["channel"], values["ts"] = posted.channel, posted.ts
    if state is State.PENDING:
        values["next_attempt_at"] = now + backoff(row.attempts)
    with engine.begin() as conn:
        done = conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.lease_token == row.token)
            .values(**values)
        )
        if done.rowcount != 1:
            log.warning("outbox %s: another drain took it over", row.key)
            return False
        if state in (State.FAILED, State.PARKED, State.UNKNOWN):
            conn.execute(
                insert(AuditLog).values(
                    at=now,
                    actor="bot",
                    action=f"outbox.{state.value}",
                    subject=row.subject or f"outbox:{row.key}",
                    details={
                        "key": row.key,
                        "kind": row.kind.value,
                        "target": row.target,
                        "attempts": row.attempts,
                        "error": error,
                    },
                )
            )
    return True


# ---------------------------------------------------------------------- sending


@dataclass(slots=True)
class _Drain:
    engine: Engine
    client: WebClient | None
    webhook: WebhookConfig | None
    pacer: Pacer
    clock: Clock
    report: DrainReport

    def run(self, row: _Claimed) -> None:
        if row.kind is Kind.WEBHOOK:
            self._webhook(row)
        else:
            self._slack(row)

    def _retry_or_park(self, row: _Claimed, error: str) -> None:
        now = self.clock()
        if row.attempts >= MAX_ATTEMPTS:
            error = f"{error} (gave up after {row.attempts} attempts)"
            if _finish(self.engine, row, State.PARKED, now, error=error):
                self.report.parked.append((row.key, error))
        elif _finish(self.engine, row, State.PENDING, now, error=error):
            self.report.retrying.append((row.key, error))

    def _end(self, row: _Claimed, state: State, error: str) -> None:
        if _finish(self.engine, row, state, self.clock(), error=error):
            {State.FAILED: self.report.failed, State.UNKNOWN: self.report.unknown}[state].append(
                (row.key, error)
            )

    def _sent(self, row: _Claimed, posted: Posted | None = None) -> None:
        if _finish(self.engine, row, State.SENT, self.clock(), posted=posted):
            self.report.sent.append(row.key)

    # ------------------------------------------------------------------ webhook

    def _webhook(self, row: _Claimed) -> None:
        assert self.webhook is not None  # webhook rows are only claimed with one
        outcome = post_webhook(row.target, self.webhook.secret, row.payload, row.key, self.clock())
        if outcome.ok:
            self._sent(row)
        else:
            self._retry_or_park(row, outcome.error or "failed")

    # ------------------------------------------------------------------ Slack

    def _channel(self, row: _Claimed) -> str | None:
        """Where the row posts (a Slack user id for a DM, a channel id), or None after marking
        the row failed."""
        if not row.target:
            self._end(row, State.FAILED, "no channel is set")
            return None
        if row.kind is Kind.POST:
            return row.target
        assert self.client is not None
        ident = resolve_users(self.engine, self.client, [row.target]).get(row.target)
        if ident is None or ident.slack_user_id is None:
            why = ident.problem if ident is not None and ident.problem else "not in Slack"
            self._end(row, State.FAILED, f"{row.target} has no Slack user ({why})")
            return None
        return ident.slack_user_id

    def _find(self, row: _Claimed, channel: str) -> Posted | NotFound:
        assert self.client is not None
        meta = marker(MARK, {"key": row.key})
        if row.kind is Kind.DM:
            try:
                channel = dm_channel(self.client, channel)
            except Exception as exc:
                log.warning("outbox %s: cannot open the DM (%s)", row.key, error_code(exc))
                return NotFound.UNKNOWN
        # A reply in a thread is not in the channel's history: its thread is searched.
        thread = row.payload.get("thread_ts")
        return find_posted(self.client, channel, meta, thread_ts=str(thread) if thread else None)

    def _slack(self, row: _Claimed) -> None:
        if self.client is None:
            self._retry_or_park(row, "no Slack client (SLACK_BOT_TOKEN is not set)")
            return
        channel = self._channel(row)
        if channel is None:
            return
        if row.resumed:
            found = self._find(row, channel)
            if isinstance(found, Posted):
                log.info("outbox %s: a dead drain had posted it; recorded", row.key)
                self._sent(row, found)
                return
            if found is NotFound.UNKNOWN:
                self._end(row, State.UNKNOWN, "an earlier post may have gone through")
                return
        try:
            response = paced_call(
                self.pacer,
                channel,
                self.client.chat_postMessage,
                channel=channel,
                text=row.payload.get("text") or "",
                blocks=row.payload.get("blocks"),
                thread_ts=row.payload.get("thread_ts"),
                metadata=marker(MARK, {"key": row.key}),
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            self._post_failed(row, channel, exc)
            return
        self._sent(row, Posted(str(response["channel"]), str(response["ts"])))

    def _post_failed(self, row: _Claimed, channel: str, exc: Exception) -> None:
        code = error_code(exc)
        if surely_not_posted(exc):
            if isinstance(exc, SlackApiError) and code not in TRANSIENT:
                detail = EXPLAIN.get(code)
                error = f"Slack answered {code}" + (f": {detail}" if detail else "")
                self._end(row, State.FAILED, error)
            else:
                self._retry_or_park(row, f"Slack answered {code}")
            return
        found = self._find(row, channel)  # the answer is lost: the post may have gone through
        if isinstance(found, Posted):
            self._sent(row, found)
        elif found is NotFound.ABSENT:
            self._retry_or_park(row, f"no answer from Slack ({code}); not posted")
        else:
            self._end(row, State.UNKNOWN, f"no answer from Slack ({code}); it may have posted")


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
    configured."""
    report = DrainReport()
    sender = _Drain(
        engine,
        paced_client(client) if client is not None else None,
        webhook,
        Pacer(pacing or Pacing()),
        clock,
        report,
    )
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
            row = _claim(engine, row_id, clock(), webhook is not None)
            if row is not None:
                sender.run(row)
