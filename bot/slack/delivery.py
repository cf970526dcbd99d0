"""The daily DM: one per user and local day, posted once and afterwards updated in place.

Claim, then post (Grafana OnCall's pattern): a ``deliveries`` row unique on ``(user_id,
local_date)`` is inserted with ON CONFLICT DO NOTHING, and a fencing lease on it (a token that
every later write must still hold) gives one run at a time the right to touch that day's
messages. Each message's ``(channel, ts)`` is stored in ``delivery_messages`` right after its
post; a second run the same local day ``chat.update``s them instead of posting again, posts the
ones a longer digest needs and ``chat.delete``s the surplus of a shorter one. An update Slack
cannot do (``message_not_found`` …) becomes a fresh post.

A post is recorded as in flight (``ts`` NULL) before it is sent, and carries metadata naming its
delivery and position. If Slack refuses it (an error answer), nothing was posted and the row
goes. If the answer is a 5xx or is lost (timeout, dead process), the post may have gone through:
the DM's newest messages are searched for that metadata (``conversations.history``) and the post
is kept if found, sent again if not; a later run does the same for a row a dead process left in
flight. Only when Slack cannot tell is that user not posted to again that day (status
``unknown``).

The fan-out sends ``lanes`` DMs at once behind one :class:`Pacer` that spaces writes per DM
channel and overall; a 429 holds its channel for ``Retry-After`` and is retried through the
pacer. 500/503 of other calls and connection resets are retried inside the client
(:func:`bot.slack.client.make_client`).
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse
from sqlalchemy import Connection, Engine, Table, delete, func, insert, or_, select, update

from bot.db.models import Delivery, DeliveryMessage
from bot.slack.client import error_code
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

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
DEFAULT_LANES = 8  # DMs in flight at once during the fan-out
# chat.update errors after which the message is posted anew.
REPOST_ON = frozenset(
    {"message_not_found", "cant_update_message", "channel_not_found", "edit_window_closed"}
)
# chat.delete errors that mean the message is gone already.
GONE_ON = frozenset({"message_not_found", "channel_not_found"})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------- pacing


@dataclass(frozen=True, slots=True)
class Pacing:
    """Seconds between two chat writes to one DM channel (Slack: about 1 message per second
    per channel) and between any two chat writes (the workspace-wide limit)."""

    per_channel: float = 1.1
    per_call: float = 0.2


class Pacer:
    """Spaces chat writes per DM channel and overall, for any number of threads: a slot is
    reserved under a lock and slept for outside it, so a DM waiting for its own channel does not
    hold up the others. After a 429, :meth:`hold` keeps writes off that channel until Slack's
    ``Retry-After`` has passed."""

    def __init__(
        self,
        pacing: Pacing,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pacing = pacing
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_call = float("-inf")
        self._next: dict[str, float] = {}

    def wait(self, channel: str) -> float:
        """Sleep until a chat write to ``channel`` is allowed; returns the time slept."""
        with self._lock:
            now = self._monotonic()
            due = max(now, self._next_call, self._next.get(channel, float("-inf")))
            self._next_call = due + self.pacing.per_call
            self._next[channel] = due + self.pacing.per_channel
        slept = due - now
        if slept > 0:
            self._sleep(slept)
        return max(0.0, slept)

    def hold(self, channel: str, seconds: float) -> None:
        """Nothing more to ``channel`` for ``seconds`` (Slack answered 429 with Retry-After)."""
        with self._lock:
            until = self._monotonic() + seconds
            self._next[channel] = max(self._next.get(channel, float("-inf")), until)


def paced_client(client: WebClient) -> WebClient:
    """``client`` without its own 429 retries: the fan-out retries those through its
    :class:`Pacer`, so that every lane knows the channel is held."""
    paced = copy.copy(client)
    paced.retry_handlers = [
        h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)
    ]
    return paced


# ------------------------------------------------------------------------ results


class Status(StrEnum):
    POSTED = "posted"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(slots=True)
class Outcome:
    user_id: str
    name: str
    status: Status
    reason: str | None = None
    posted: int = 0
    updated: int = 0
    deleted: int = 0

    def describe(self) -> str:
        who = f"{self.name} ({self.user_id})"
        if self.status in (Status.SKIPPED, Status.FAILED):
            return f"{who}: {self.reason}"
        counts = [
            (n, verb)
            for n, verb in (
                (self.posted, "posted"),
                (self.updated, "updated"),
                (self.deleted, "deleted"),
            )
            if n
        ]
        if not counts:
            text = f"{who}: nothing to change"
        elif len(counts) == 1:
            n, verb = counts[0]
            text = f"{who}: {n} message{'s' if n > 1 else ''} {verb}"
        else:
            text = f"{who}: " + ", ".join(f"{n} {verb}" for n, verb in counts)
        return text + (f" ({self.reason})" if self.reason else "")


@dataclass(slots=True)
class DeliveryReport:
    as_of: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    cards: int = 0
    alerts_new: int = 0

    def by_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    def summary(self) -> str:
        return ", ".join(f"{len(self.by_status(s))} {s.value}" for s in Status)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "outcomes": [
                {
                    "user": o.user_id,
                    "status": o.status.value,
                    "reason": o.reason,
                    "posted": o.posted,
                    "updated": o.updated,
                    "deleted": o.deleted,
                }
                for o in self.outcomes
            ],
        }


# -------------------------------------------------------------------- the claim


class LostLease(Exception):
    """Another run took this delivery over (our lease expired): stop touching it."""


@dataclass(slots=True)
class _Stored:
    position: int
    channel: str | None
    ts: str | None


@dataclass(slots=True)
class _Lease:
    delivery_id: int
    token: str
    messages: dict[int, _Stored]
    clock: Clock

    def renew(self, conn: Connection) -> None:
        """Fencing: every write first proves the lease is still ours (and extends it)."""
        done = conn.execute(
            update(Delivery)
            .where(Delivery.id == self.delivery_id, Delivery.lease_token == self.token)
            .values(lease_until=self.clock() + LEASE)
        )
        if done.rowcount != 1:
            raise LostLease(f"delivery {self.delivery_id}")


def _claim(
    engine: Engine,
    user_id: str,
    day: date,
    slack_user_id: str,
    as_of: datetime,
    clock: Clock,
) -> _Lease | str:
    """The lease on ``user_id``'s delivery of ``day`` (created if need be), or why not."""
    token = uuid.uuid4().hex
    now = clock()
    with engine.begin() as conn:
        delivery_id = insert_ignore(
            conn,
            cast(Table, Delivery.__table__),
            {
                "user_id": user_id,
                "local_date": day,
                "status": "claimed",
                "slack_user_id": slack_user_id,
                "lease_token": token,
                "lease_until": now + LEASE,
                "attempts": 1,
                "as_of": as_of,
                "created_at": now,
            },
            ("user_id", "local_date"),
            returning=Delivery.__table__.c.id,
        )
        if delivery_id is None:
            row = conn.execute(
                select(Delivery.id).where(Delivery.user_id == user_id, Delivery.local_date == day)
            ).one()
            delivery_id = row.id
            taken = conn.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    or_(Delivery.lease_token.is_(None), Delivery.lease_until < now),
                )
                .values(
                    lease_token=token,
                    lease_until=now + LEASE,
                    attempts=Delivery.attempts + 1,
                    slack_user_id=slack_user_id,
                )
            )
            if taken.rowcount != 1:
                return "another run is delivering it right now"
        stored = {
            r.position: _Stored(r.position, r.channel, r.ts)
            for r in conn.execute(
                select(DeliveryMessage.position, DeliveryMessage.channel, DeliveryMessage.ts)
                .where(DeliveryMessage.delivery_id == delivery_id)
                .order_by(DeliveryMessage.position)
            )
        }
    return _Lease(int(delivery_id), token, stored, clock)


_UNKNOWN = "an earlier post may have gone through (its answer was lost): not posted again today"


def _finish(engine: Engine, lease: _Lease, as_of: datetime, error: str | None) -> None:
    """Release the lease; the status follows from the messages stored."""
    now = lease.clock()
    with engine.begin() as conn:
        rows = conn.execute(
            select(DeliveryMessage.ts).where(DeliveryMessage.delivery_id == lease.delivery_id)
        ).all()
        if any(ts is None for (ts,) in rows):
            status = "unknown"
        elif rows:
            status = "sent"
        else:
            status = "failed"
        values: dict[str, Any] = {
            "status": status,
            "lease_token": None,
            "lease_until": None,
            "error": error,
            "updated_at": now,
        }
        if status == "sent" and error is None:
            values["as_of"] = as_of
            values["sent_at"] = func.coalesce(Delivery.sent_at, now)
        conn.execute(
            update(Delivery)
            .where(Delivery.id == lease.delivery_id, Delivery.lease_token == lease.token)
            .values(**values)
        )


def delivered_today(engine: Engine, user_id: str, day: date) -> bool:
    """Whether ``user_id`` has a DM of ``day`` in Slack (that a rerun would update)."""
    with engine.connect() as conn:
        return (
            conn.execute(
                select(DeliveryMessage.position)
                .join(Delivery, Delivery.id == DeliveryMessage.delivery_id)
                .where(Delivery.user_id == user_id, Delivery.local_date == day)
                .limit(1)
            ).first()
            is not None
        )


# -------------------------------------------------------------------- one user

# Every DM message carries this metadata (with its delivery and position), so that a post whose
# answer was lost can be found in the DM afterwards instead of being posted twice.
MARK = "followup_daily_dm"


@dataclass(slots=True)
class _Sender:
    engine: Engine
    client: WebClient  # without 429 retries of its own (paced_client)
    lease: _Lease
    slack_user_id: str
    pacer: Pacer
    outcome: Outcome
    _dm: str | None = None  # the DM's channel id (D…), once known

    def send(self, payloads: Sequence[Mapping[str, Any]]) -> None:
        for position, payload in enumerate(payloads):
            stored = self.lease.messages.get(position)
            if stored is not None and stored.channel and stored.ts:
                self._update(stored, payload)
            else:
                self._post(position, payload)
        for position in sorted(p for p in self.lease.messages if p >= len(payloads)):
            self._delete(self.lease.messages[position])

    def resolve_in_flight(self) -> bool:
        """Posts of an earlier run whose answer was lost: each is looked up in the DM by its
        metadata and kept if it is there, or forgotten (to be posted now) if not. False when
        Slack cannot tell: then nothing is posted today."""
        for stored in [m for m in self.lease.messages.values() if m.ts is None]:
            found = self._find(stored.position)
            if found is NotFound.UNKNOWN:
                return False
            if isinstance(found, Posted):
                self._record(stored.position, found)
            else:
                self._forget(stored.position)
        return True

    # ------------------------------------------------------------------ Slack calls

    def _call(self, method: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
        """One chat write, paced; a 429 holds the channel for its Retry-After and is retried."""
        return paced_call(self.pacer, self.slack_user_id, method, **kwargs)

    def _marker(self, position: int) -> dict[str, Any]:
        return marker(MARK, {"delivery": self.lease.delivery_id, "position": position})

    def _find(self, position: int) -> Posted | NotFound:
        """The DM message of ``position`` if Slack shows it, by the metadata it was posted with."""
        if self._dm is None:
            try:
                self._dm = dm_channel(self.client, self.slack_user_id)
            except Exception as exc:
                log.warning(
                    "delivery %s: cannot open the DM (%s)", self.lease.delivery_id, error_code(exc)
                )
                return NotFound.UNKNOWN
        return find_posted(self.client, self._dm, self._marker(position))

    # ------------------------------------------------------------------ the rows

    def _record(self, position: int, posted: Posted) -> None:
        with self.engine.begin() as conn:
            self.lease.renew(conn)
            conn.execute(
                update(DeliveryMessage)
                .where(
                    DeliveryMessage.delivery_id == self.lease.delivery_id,
                    DeliveryMessage.position == position,
                )
                .values(channel=posted.channel, ts=posted.ts)
            )
        self.lease.messages[position] = _Stored(position, posted.channel, posted.ts)

    def _forget(self, position: int) -> None:
        """The in-flight row of a post that surely did not go through."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(DeliveryMessage).where(
                    DeliveryMessage.delivery_id == self.lease.delivery_id,
                    DeliveryMessage.position == position,
                    DeliveryMessage.ts.is_(None),
                )
            )
        self.lease.messages.pop(position, None)

    # ------------------------------------------------------------------ post, update, delete

    def _post(self, position: int, payload: Mapping[str, Any]) -> None:
        now = self.lease.clock()
        with self.engine.begin() as conn:
            self.lease.renew(conn)
            conn.execute(
                delete(DeliveryMessage).where(
                    DeliveryMessage.delivery_id == self.lease.delivery_id,
                    DeliveryMessage.position == position,
                )
            )
            conn.execute(
                insert(DeliveryMessage).values(
                    delivery_id=self.lease.delivery_id, position=position, posted_at=now
                )
            )
        self.lease.messages[position] = _Stored(position, None, None)
        for attempt in (1, 2):
            try:
                response = self._call(
                    self.client.chat_postMessage,
                    channel=self.slack_user_id,
                    text=payload["text"],
                    blocks=payload["blocks"],
                    metadata=self._marker(position),
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as exc:
                if surely_not_posted(exc):
                    self._forget(position)
                    raise
                # A 5xx or a lost answer: the post may have gone through. Look.
                found = self._find(position)
                if isinstance(found, Posted):
                    log.info(
                        "delivery %s message %s: no answer (%s), but it is in the DM",
                        self.lease.delivery_id,
                        position,
                        error_code(exc),
                    )
                    self._record(position, found)
                    self.outcome.posted += 1
                    return
                if found is NotFound.ABSENT and attempt == 1:
                    log.warning(
                        "delivery %s message %s: no answer (%s) and not in the DM; posting again",
                        self.lease.delivery_id,
                        position,
                        error_code(exc),
                    )
                    continue
                raise
            self._record(position, Posted(str(response["channel"]), str(response["ts"])))
            self.outcome.posted += 1
            return

    def _update(self, stored: _Stored, payload: Mapping[str, Any]) -> None:
        assert stored.channel is not None and stored.ts is not None
        try:
            self._call(
                self.client.chat_update,
                channel=stored.channel,
                ts=stored.ts,
                text=payload["text"],
                blocks=payload["blocks"],
                metadata=self._marker(stored.position),
            )
        except SlackApiError as exc:
            code = error_code(exc)
            if code not in REPOST_ON:
                raise
            log.info(
                "delivery %s message %s: chat.update answered %s; posting it anew",
                self.lease.delivery_id,
                stored.position,
                code,
            )
            self._post(stored.position, payload)
            return
        with self.engine.begin() as conn:
            self.lease.renew(conn)
            conn.execute(
                update(DeliveryMessage)
                .where(
                    DeliveryMessage.delivery_id == self.lease.delivery_id,
                    DeliveryMessage.position == stored.position,
                )
                .values(updated_at=self.lease.clock())
            )
        self.outcome.updated += 1

    def _delete(self, stored: _Stored) -> None:
        if stored.channel and stored.ts:
            try:
                self._call(self.client.chat_delete, channel=stored.channel, ts=stored.ts)
            except SlackApiError as exc:
                code = error_code(exc)
                if code not in GONE_ON:
                    log.warning(
                        "delivery %s: chat.delete of message %s failed (%s); kept for next time",
                        self.lease.delivery_id,
                        stored.position,
                        code,
                    )
                    return
        with self.engine.begin() as conn:
            self.lease.renew(conn)
            conn.execute(
                delete(DeliveryMessage).where(
                    DeliveryMessage.delivery_id == self.lease.delivery_id,
                    DeliveryMessage.position == stored.position,
                )
            )
        self.lease.messages.pop(stored.position, None)
        self.outcome.deleted += 1


Payload = Mapping[str, Any]
# Called once the day's slot is ours, in a transaction that holds its lease: the delivery's id and
# whether messages of it are in the DM already; returns the messages to post or update.
Compose = Callable[[Connection, int, bool], Sequence[Payload]]


def send_daily_dm(
    engine: Engine,
    client: WebClient,
    *,
    user_id: str,
    name: str,
    day: date,
    slack_user_id: str,
    as_of: datetime,
    compose: Compose,
    pacer: Pacer | None = None,
    clock: Clock = utc_now,
) -> Outcome:
    """Post (or update in place) ``user_id``'s DM of local ``day``: claim the day's slot, find
    what an earlier run left in flight, ``compose`` the messages, send them; never two DMs for
    one day."""
    claim = _claim(engine, user_id, day, slack_user_id, as_of, clock)
    if isinstance(claim, str):
        return Outcome(user_id, name, Status.SKIPPED, claim)
    outcome = Outcome(
        user_id, name, Status.UPDATED if claim.messages else Status.POSTED, reason=None
    )
    sender = _Sender(engine, client, claim, slack_user_id, pacer or Pacer(Pacing()), outcome)
    try:
        if not sender.resolve_in_flight():
            _finish(engine, claim, as_of, "an earlier post's outcome is unknown")
            return Outcome(user_id, name, Status.SKIPPED, _UNKNOWN)
        with engine.begin() as conn:
            claim.renew(conn)
            payloads = compose(conn, claim.delivery_id, bool(claim.messages))
        sender.send(payloads)
    except LostLease:
        outcome.status, outcome.reason = Status.SKIPPED, "another run took this delivery over"
        return outcome
    except SlackApiError as exc:
        code = error_code(exc)
        log.error("daily DM of %s: Slack answered %s", user_id, code)
        _finish(engine, claim, as_of, f"slack: {code}")
        outcome.status, outcome.reason = Status.FAILED, f"Slack answered {code}"
        return outcome
    except Exception as exc:
        # The answer is lost: a post in flight may have gone through.
        log.exception("daily DM of %s: %s", user_id, type(exc).__name__)
        _finish(engine, claim, as_of, f"{type(exc).__name__}: {exc}")
        outcome.status = Status.FAILED
        outcome.reason = f"{type(exc).__name__}: {exc}" + (
            "; " + _UNKNOWN if _in_flight(engine, claim.delivery_id) else ""
        )
        return outcome
    _finish(engine, claim, as_of, None)
    return outcome


def _in_flight(engine: Engine, delivery_id: int) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(DeliveryMessage.position).where(
                    DeliveryMessage.delivery_id == delivery_id, DeliveryMessage.ts.is_(None)
                )
            ).first()
            is not None
        )
