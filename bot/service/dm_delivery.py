"""The daily DM: one per user and local day, each message posted once through the outbox and
afterwards updated in place.

The day's slot (:mod:`bot.service.dm_slot`: a ``deliveries`` row unique on ``(user_id,
local_date)`` and a fencing lease on it) gives one run at a time the right to touch that day's
DM: compose it, post its new messages, ``chat.update`` the ones in Slack, ``chat.delete`` the
surplus of a shorter one.

Each message is an outbox row (:mod:`bot.service.outbox`, kind ``daily_dm``, key
``daily:USER:LOCAL_DATE:POSITION``) holding its delivery and position, and it is posted by the
outbox's one code path (:class:`~bot.service.outbox.Poster`): claimed with the row's own lease,
paced, carrying metadata naming its key, looked up in the DM when the answer is lost (found →
sent; absent → posted again at once; Slack cannot tell → ``unknown``), refused ones marked
``failed`` (or retried, then ``parked``), every failed, parked or unknown row in the audit log.
The outbox row's ``(channel, ts)`` is where the message is, to update it.

A second run the same local day first looks up the messages an earlier run left in flight (a
row claimed by a dead process, or ``unknown``): found → sent; absent → posted now; Slack still
cannot tell → nothing is posted that day (the delivery stays ``unknown``). It then updates the
messages in Slack, posts the ones a longer digest needs (a failed row is claimed again) and
deletes the surplus. A message Slack cannot update (``message_not_found`` …) is posted anew as a
new outbox row (its key gets ``~RUN``); the old row keeps its delivery but loses its position.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import Connection, Engine, or_, update

from bot.db.models import OutboxMessage
from bot.service.dm_slot import (
    MAYBE_POSTED,
    LostLease,
    Slot,
    Stored,
    claim_slot,
    release_slot,
)
from bot.service.outbox import (
    MARK,
    NOT_SENT,
    Claimed,
    Done,
    Kind,
    Message,
    Poster,
    State,
    add,
    claim,
    in_flight,
)
from bot.slack.client import error_code
from bot.slack.delivery import Clock, Outcome, Pacer, Pacing, Status, utc_now
from bot.slack.posted import marker, paced_call

log = logging.getLogger(__name__)

# chat.update errors after which the message is posted anew.
REPOST_ON = frozenset(
    {"message_not_found", "cant_update_message", "channel_not_found", "edit_window_closed"}
)
# chat.delete errors that mean the message is gone already.
GONE_ON = frozenset({"message_not_found", "channel_not_found"})


class NotPosted(Exception):
    """Slack did not take a message (or cannot tell whether it did): the run stops there."""

    def __init__(self, done: Done) -> None:
        super().__init__(done.error)
        self.done = done


_UNKNOWN = "an earlier post may have gone through (its answer was lost): not posted again today"


# -------------------------------------------------------------------- one user


@dataclass(slots=True)
class _Sender:
    engine: Engine
    poster: Poster
    slot: Slot
    user_id: str
    day: date
    slack_user_id: str
    outcome: Outcome

    def send(self, payloads: Sequence[Mapping[str, Any]]) -> None:
        for position, payload in enumerate(payloads):
            stored = self.slot.messages.get(position)
            if stored is not None and stored.in_slack:
                self._update(stored, payload)
            else:
                self._post(position, payload)
        for position in sorted(p for p in self.slot.messages if p >= len(payloads)):
            self._delete(self.slot.messages[position])

    def resolve_in_flight(self) -> bool:
        """Posts of an earlier run whose outcome is not known: each is looked up in the DM by
        its metadata and recorded as sent if it is there, or released (to be posted now) if
        not. False when Slack cannot tell: then nothing is posted today."""
        for stored in list(self.slot.messages.values()):
            if stored.status not in (State.CLAIMED.value, State.UNKNOWN.value):
                continue
            now = self.slot.clock()
            with self.engine.begin() as conn:
                self.slot.renew(conn)
                row = claim(
                    conn,
                    stored.row_id,
                    now,
                    or_(OutboxMessage.status == State.UNKNOWN.value, in_flight(now)),
                )
            if row is None:  # a run that lost this delivery's lease is posting it right now
                return False
            settled = self.poster.settle(row, self.slack_user_id)
            if settled is None:
                settled = self.poster.done(row, State.PENDING, "not in the DM", retry_at=now)
            if not settled.recorded:
                raise LostLease(f"outbox row {row.key}")
            if settled.state is State.UNKNOWN:
                return False
            self._record(stored, settled)
        return True

    def _record(self, stored: Stored, done: Done) -> None:
        stored.status = done.state.value
        if done.posted is not None:
            stored.channel, stored.ts = done.posted.channel, done.posted.ts

    # ------------------------------------------------------------------ Slack calls

    def _call(self, method: Callable[..., SlackResponse], **kwargs: Any) -> SlackResponse:
        """One chat write, paced; a 429 holds the channel for its Retry-After and is retried."""
        return paced_call(self.poster.pacer, self.slack_user_id, method, **kwargs)

    @property
    def _client(self) -> WebClient:
        assert self.poster.client is not None
        return self.poster.client

    # ------------------------------------------------------------------ post, update, delete

    def _row(self, conn: Connection, position: int, payload: Mapping[str, Any]) -> Claimed:
        """The claimed outbox row that posts ``position``: its row claimed again when its post
        surely did not go out, else a new row (one the DM showed before loses its position)."""
        now = self.slot.clock()
        stored = self.slot.messages.get(position)
        if stored is not None and stored.status in NOT_SENT:
            row = claim(
                conn, stored.row_id, now, OutboxMessage.status.in_(NOT_SENT), payload=payload
            )
            if row is None:
                raise LostLease(f"outbox row {stored.key}")
            return row
        if stored is not None:
            conn.execute(
                update(OutboxMessage).where(OutboxMessage.id == stored.row_id).values(position=None)
            )
        base = f"daily:{self.user_id}:{self.day.isoformat()}:{position}"
        for key in (base, f"{base}~{self.slot.run}"):
            message = Message(
                key,
                Kind.DAILY_DM,
                self.user_id,
                payload,
                subject=f"delivery:{self.slot.delivery_id}",
            )
            row_id = add(conn, message, now, delivery_id=self.slot.delivery_id, position=position)
            if row_id is not None:
                row = claim(conn, row_id, now, OutboxMessage.status == State.PENDING.value)
                assert row is not None
                return row
        raise LostLease(f"outbox key {base}~{self.slot.run} is taken")

    def _post(self, position: int, payload: Mapping[str, Any]) -> None:
        with self.engine.begin() as conn:
            self.slot.renew(conn)
            row = self._row(conn, position, payload)
        self.slot.messages[position] = Stored(
            row.id, row.key, position, State.CLAIMED.value, None, None
        )
        done = self.poster.post(row, self.slack_user_id, again_at_once=True)
        if not done.recorded:
            raise LostLease(f"outbox row {row.key}")
        self._record(self.slot.messages[position], done)
        if done.state is not State.SENT:
            raise NotPosted(done)
        self.outcome.posted += 1

    def _update(self, stored: Stored, payload: Mapping[str, Any]) -> None:
        assert stored.channel is not None and stored.ts is not None
        try:
            self._call(
                self._client.chat_update,
                channel=stored.channel,
                ts=stored.ts,
                text=payload["text"],
                blocks=payload["blocks"],
                metadata=marker(MARK, {"key": stored.key}),
            )
        except SlackApiError as exc:
            code = error_code(exc)
            if code not in REPOST_ON:
                raise
            log.info(
                "delivery %s message %s: chat.update answered %s; posting it anew",
                self.slot.delivery_id,
                stored.position,
                code,
            )
            self._post(stored.position, payload)
            return
        with self.engine.begin() as conn:
            self.slot.renew(conn)
            conn.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == stored.row_id)
                .values(payload=dict(payload))
            )
        self.outcome.updated += 1

    def _delete(self, stored: Stored) -> None:
        if stored.in_slack:
            assert stored.channel is not None and stored.ts is not None
            try:
                self._call(self._client.chat_delete, channel=stored.channel, ts=stored.ts)
            except SlackApiError as exc:
                code = error_code(exc)
                if code not in GONE_ON:
                    log.warning(
                        "delivery %s: chat.delete of message %s failed (%s); kept for next time",
                        self.slot.delivery_id,
                        stored.position,
                        code,
                    )
                    return
        with self.engine.begin() as conn:
            self.slot.renew(conn)
            conn.execute(
                update(OutboxMessage).where(OutboxMessage.id == stored.row_id).values(position=None)
            )
        self.slot.messages.pop(stored.position, None)
        if stored.in_slack:
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
    one day. ``client`` should have no 429 retries of its own
    (:func:`~bot.slack.delivery.paced_client`): they go through ``pacer``."""
    claimed = claim_slot(engine, user_id, day, slack_user_id, as_of, clock)
    if isinstance(claimed, str):
        return Outcome(user_id, name, Status.SKIPPED, claimed)
    seen = any(m.status in MAYBE_POSTED for m in claimed.messages.values())
    outcome = Outcome(user_id, name, Status.UPDATED if seen else Status.POSTED, reason=None)
    poster = Poster(engine, client, pacer or Pacer(Pacing()), clock)
    sender = _Sender(engine, poster, claimed, user_id, day, slack_user_id, outcome)
    try:
        if not sender.resolve_in_flight():
            release_slot(engine, claimed, as_of, "an earlier post's outcome is unknown")
            return Outcome(user_id, name, Status.SKIPPED, _UNKNOWN)
        with engine.begin() as conn:
            claimed.renew(conn)
            in_slack = any(m.in_slack for m in claimed.messages.values())
            payloads = compose(conn, claimed.delivery_id, in_slack)
        sender.send(payloads)
    except LostLease:
        outcome.status, outcome.reason = Status.SKIPPED, "another run took this delivery over"
        return outcome
    except NotPosted as refused:
        error, reason = _why(refused.done)
        log.error("daily DM of %s: %s", user_id, reason)
        release_slot(engine, claimed, as_of, error)
        outcome.status, outcome.reason = Status.FAILED, reason
        return outcome
    except SlackApiError as exc:  # a chat.update or chat.delete refused
        code = error_code(exc)
        log.error("daily DM of %s: Slack answered %s", user_id, code)
        release_slot(engine, claimed, as_of, f"slack: {code}")
        outcome.status, outcome.reason = Status.FAILED, f"Slack answered {code}"
        return outcome
    except Exception as exc:
        log.exception("daily DM of %s: %s", user_id, type(exc).__name__)
        release_slot(engine, claimed, as_of, f"{type(exc).__name__}: {exc}")
        outcome.status, outcome.reason = Status.FAILED, f"{type(exc).__name__}: {exc}"
        return outcome
    release_slot(engine, claimed, as_of, None)
    return outcome


def _why(done: Done) -> tuple[str, str]:
    """The delivery's error and the run's reason for a message Slack did not take."""
    exc = done.exc
    if isinstance(exc, SlackApiError):
        code = error_code(exc)
        error, reason = f"slack: {code}", f"Slack answered {code}"
    elif exc is not None:
        error = reason = f"{type(exc).__name__}: {exc}"
    else:
        error = reason = done.error or done.state.value
    if done.state is State.UNKNOWN:
        reason += "; " + _UNKNOWN
    return error, reason
