"""One outbox for every outgoing message: a DM, a channel post, a webhook call, each message of
a daily DM — each sent exactly once, across processes.

A message is **enqueued** as an ``outbox`` row under a unique idempotency key (INSERT … ON
CONFLICT DO NOTHING), in the same transaction as whatever made it due (an executed action): a
second enqueue of the same key is a no-op. A row is sent only by whoever **claims** it with a
fencing lease (an UPDATE that succeeds only while the row is free to take) and its outcome is
recorded only while that lease still holds. Two senders at once therefore never send one row
twice, and one killed mid-way leaves its row to the next once the lease has run out.

Slack posts go through one code path, :class:`Poster`: each carries metadata naming its key
(:mod:`bot.slack.posted`). When a post's answer is lost, or a dead sender left a row claimed,
the channel's newest messages (a reply: its thread's) are searched for it before posting again:
found → recorded as sent; absent → posted; Slack cannot tell → ``unknown`` (never posted again,
and the audit log says so). Slack refusals that will not change by waiting (``not_in_channel``,
``channel_not_found``, a user with no Slack account …) mark the row ``failed``; others are
retried with exponential backoff and ``parked`` after :data:`MAX_ATTEMPTS`. Every failed,
parked or unknown row gets an audit-log entry.

Who claims a row, and when, depends on its kind. A **drain** (:mod:`bot.service.drain`, every
scheduler round, and at once after a click that queued a DM) takes the due rows oldest first. The
messages of a **daily DM** (kind ``daily_dm``, key ``daily:USER:LOCAL_DATE:POSITION``, with their
delivery and position) are never drained: their delivery (:mod:`bot.service.dm_delivery`)
claims each one under its day's lease, in the fan-out's pace, and re-arms one that failed at its
next run. Only two things differ for them: a post whose answer was lost and that is not in the
DM is posted again at once (the DM is due now), and an ``unknown`` row is looked up again at the
next run (found → sent; absent → posted then).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import ColumnElement, Connection, Engine, Table, and_, insert, select, update

from bot.db.models import AuditLog, OutboxMessage
from bot.db.upsert import insert_ignore
from bot.slack.client import error_code
from bot.slack.delivery import Clock, Pacer
from bot.slack.posted import (
    NotFound,
    Posted,
    dm_channel,
    find_posted,
    marker,
    paced_call,
    surely_not_posted,
)

log = logging.getLogger(__name__)

MARK = "followup_outbox"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
BACKOFF = timedelta(seconds=30)  # after the 1st failure; doubles each time
BACKOFF_CAP = timedelta(hours=1)
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
    DAILY_DM = "daily_dm"  # target: our user id; sent by its delivery, never by a drain


class State(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    PARKED = "parked"
    UNKNOWN = "unknown"


# A row whose post surely did not go out: its daily DM's next run may claim it again.
NOT_SENT = (State.PENDING.value, State.FAILED.value, State.PARKED.value)


@dataclass(frozen=True, slots=True)
class Message:
    key: str
    kind: Kind
    target: str
    # chat.postMessage text/blocks (and thread_ts for a reply), or the webhook's JSON body
    payload: Mapping[str, Any]
    subject: str | None = None  # what it is about, e.g. "action_run:12"


def add(conn: Connection, message: Message, now: datetime, **columns: Any) -> int | None:
    """Insert ``message`` (pending) unless its key exists: the new row's id, or None."""
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
            **columns,
        },
        ("key",),
        returning=OutboxMessage.__table__.c.id,
    )
    return int(added) if added is not None else None


def enqueue(conn: Connection, message: Message, now: datetime) -> bool:
    """Queue ``message`` unless its key is queued already; True when it was added."""
    return add(conn, message, now) is not None


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min … at most 1 h."""
    wait: timedelta = BACKOFF * (2 ** max(0, attempts - 1))
    return min(wait, BACKOFF_CAP)


# ---------------------------------------------------------------------- the claim


@dataclass(slots=True)
class Claimed:
    """A row whose lease this process holds."""

    id: int
    key: str
    kind: Kind
    target: str
    payload: dict[str, Any]
    subject: str | None
    attempts: int  # including this one
    token: str
    was: str  # its status before this claim

    @property
    def resumed(self) -> bool:
        """An earlier holder died or lost its answer: its post may have gone through."""
        return self.was in (State.CLAIMED.value, State.UNKNOWN.value)


def claim(
    conn: Connection,
    row_id: int,
    now: datetime,
    when: ColumnElement[bool],
    *,
    payload: Mapping[str, Any] | None = None,
) -> Claimed | None:
    """The lease of row ``row_id`` if ``when`` holds for it (None: someone else has it), in
    ``conn``'s transaction; ``payload`` replaces what it will post."""
    token = uuid.uuid4().hex
    before = conn.execute(select(OutboxMessage.status).where(OutboxMessage.id == row_id)).scalar()
    values: dict[str, Any] = {
        "status": State.CLAIMED.value,
        "lease_token": token,
        "lease_until": now + LEASE,
        "attempts": OutboxMessage.attempts + 1,
    }
    if payload is not None:
        values["payload"] = dict(payload)
    taken = conn.execute(
        update(OutboxMessage).where(OutboxMessage.id == row_id, when).values(**values)
    )
    if taken.rowcount != 1:
        return None
    row = conn.execute(select(OutboxMessage.__table__).where(OutboxMessage.id == row_id)).one()
    return Claimed(
        row.id,
        row.key,
        Kind(row.kind),
        row.target,
        dict(row.payload),
        row.subject,
        row.attempts,
        token,
        was=str(before),
    )


def in_flight(now: datetime) -> ColumnElement[bool]:
    """A row a dead sender left claimed (its lease ran out)."""
    return and_(OutboxMessage.status == State.CLAIMED.value, OutboxMessage.lease_until < now)


def _finish(
    engine: Engine,
    row: Claimed,
    state: State,
    now: datetime,
    *,
    error: str | None = None,
    posted: Posted | None = None,
    retry_at: datetime | None = None,
) -> bool:
    """Record the outcome while the lease is ours (False: another sender took the row over)."""
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
        values["next_attempt_at"] = retry_at or now + backoff(row.attempts)
    with engine.begin() as conn:
        done = conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.lease_token == row.token)
            .values(**values)
        )
        if done.rowcount != 1:
            log.warning("outbox %s: another sender took it over", row.key)
            return False
        told = state is State.UNKNOWN and row.was == State.UNKNOWN.value  # still cannot tell
        if state in (State.FAILED, State.PARKED, State.UNKNOWN) and not told:
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


# ---------------------------------------------------------------------- posting


@dataclass(frozen=True, slots=True)
class Done:
    """What became of a claimed row: its new ``state`` (``recorded`` unless another sender took
    the row over meanwhile), the message when sent, the exception behind a failure."""

    state: State
    error: str | None = None
    posted: Posted | None = None
    exc: Exception | None = None
    recorded: bool = True


@dataclass(slots=True)
class Poster:
    """The one code path that posts a claimed row to Slack: paced, found again when its answer
    is lost, its outcome recorded (failed, parked and unknown audited)."""

    engine: Engine
    # Without 429 retries of its own (paced_client): the pacer retries them. None: no Slack
    # (SLACK_BOT_TOKEN is not set), only outcomes are recorded.
    client: WebClient | None
    pacer: Pacer
    clock: Clock

    def done(
        self,
        row: Claimed,
        state: State,
        error: str | None = None,
        *,
        posted: Posted | None = None,
        exc: Exception | None = None,
        retry_at: datetime | None = None,
    ) -> Done:
        recorded = _finish(
            self.engine, row, state, self.clock(), error=error, posted=posted, retry_at=retry_at
        )
        return Done(state, error, posted, exc, recorded)

    def retry_or_park(self, row: Claimed, error: str, exc: Exception | None = None) -> Done:
        if row.attempts >= MAX_ATTEMPTS:
            error = f"{error} (gave up after {row.attempts} attempts)"
            return self.done(row, State.PARKED, error, exc=exc)
        return self.done(row, State.PENDING, error, exc=exc)

    def find(self, row: Claimed, channel: str) -> Posted | NotFound:
        """``row``'s message in ``channel`` (a Slack user id for a DM), by its metadata."""
        assert self.client is not None
        if row.kind in (Kind.DM, Kind.DAILY_DM):
            try:
                channel = dm_channel(self.client, channel)
            except Exception as exc:
                log.warning("outbox %s: cannot open the DM (%s)", row.key, error_code(exc))
                return NotFound.UNKNOWN
        # A reply in a thread is not in the channel's history: its thread is searched.
        thread = row.payload.get("thread_ts")
        return find_posted(
            self.client, channel, _meta(row), thread_ts=str(thread) if thread else None
        )

    def settle(self, row: Claimed, channel: str) -> Done | None:
        """A resumed row, looked up before anything is posted: sent when found, unknown when
        Slack cannot tell; None when it is not there (still claimed: to be posted)."""
        found = self.find(row, channel)
        if isinstance(found, Posted):
            log.info("outbox %s: an earlier sender had posted it; recorded", row.key)
            return self.done(row, State.SENT, posted=found)
        if found is NotFound.UNKNOWN:
            return self.done(row, State.UNKNOWN, "an earlier post may have gone through")
        return None

    def post(self, row: Claimed, channel: str, *, again_at_once: bool = False) -> Done:
        """Post ``row`` to ``channel`` once. A lost answer is looked up; when the message is not
        there it is posted again at once (``again_at_once``, once) or retried later."""
        assert self.client is not None
        for attempt in (1, 2):
            try:
                response = paced_call(
                    self.pacer,
                    channel,
                    self.client.chat_postMessage,
                    channel=channel,
                    text=row.payload.get("text") or "",
                    blocks=row.payload.get("blocks"),
                    thread_ts=row.payload.get("thread_ts"),
                    metadata=_meta(row),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as exc:
                code = error_code(exc)
                if surely_not_posted(exc):
                    if isinstance(exc, SlackApiError) and code not in TRANSIENT:
                        detail = EXPLAIN.get(code)
                        error = f"Slack answered {code}" + (f": {detail}" if detail else "")
                        return self.done(row, State.FAILED, error, exc=exc)
                    return self.retry_or_park(row, f"Slack answered {code}", exc)
                found = self.find(row, channel)  # the answer is lost: it may have gone through
                if isinstance(found, Posted):
                    log.info("outbox %s: no answer (%s), but it is posted", row.key, code)
                    return self.done(row, State.SENT, posted=found)
                if found is NotFound.ABSENT and again_at_once and attempt == 1:
                    log.warning(
                        "outbox %s: no answer (%s), not posted; posting again", row.key, code
                    )
                    continue
                if found is NotFound.ABSENT:
                    return self.retry_or_park(
                        row, f"no answer from Slack ({code}); not posted", exc
                    )
                error = f"no answer from Slack ({code}); it may have posted"
                return self.done(row, State.UNKNOWN, error, exc=exc)
            posted = Posted(str(response["channel"]), str(response["ts"]))
            return self.done(row, State.SENT, posted=posted)
        raise AssertionError("unreachable")


def _meta(row: Claimed) -> dict[str, Any]:
    """The metadata ``row``'s message carries (a row migrated from the daily DM's own store
    names the metadata its message was posted with)."""
    legacy = row.payload.get("metadata")
    return dict(legacy) if isinstance(legacy, Mapping) else marker(MARK, {"key": row.key})
