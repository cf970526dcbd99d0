"""A daily DM's slot: one ``deliveries`` row per user and local day, and the fencing lease that
lets one run at a time touch that day's DM.

The row is inserted with ON CONFLICT DO NOTHING on ``(user_id, local_date)``; a run takes its
lease (a token every later write must still hold, :meth:`Slot.renew`) when it is free or has run
out. The DM's messages are outbox rows (kind ``daily_dm``) naming the delivery and their
position (:func:`day_messages`); releasing the slot (:func:`release_slot`) sets the delivery's
status from them: ``unknown`` while one may be in Slack without our knowing, ``sent`` when one
is there, else ``failed``. :mod:`bot.service.dm_delivery` sends the DM within the slot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, or_, select, update

from bot.db.models import Delivery, OutboxMessage
from bot.db.upsert import insert_ignore
from bot.service.outbox import State
from bot.slack.delivery import Clock

LEASE = timedelta(minutes=10)
# A message that may be in Slack: posted, or its post's outcome not known yet.
MAYBE_POSTED = (State.SENT.value, State.CLAIMED.value, State.UNKNOWN.value)


class LostLease(Exception):
    """Another run took this delivery over (our lease expired): stop touching it."""


@dataclass(slots=True)
class Stored:
    """The outbox row of one position of the day's DM."""

    row_id: int
    key: str
    position: int
    status: str
    channel: str | None
    ts: str | None

    @property
    def in_slack(self) -> bool:
        return self.status == State.SENT.value and bool(self.channel and self.ts)


@dataclass(slots=True)
class Slot:
    """The lease this run holds on a delivery, and that day's messages as it knows them."""

    delivery_id: int
    token: str
    run: int  # the delivery's attempts, this run included
    messages: dict[int, Stored]
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


def day_messages(conn: Connection, delivery_id: int) -> dict[int, Stored]:
    """Position → outbox row of the messages the delivery's DM shows (or is to show)."""
    return {
        r.position: Stored(r.id, r.key, r.position, r.status, r.channel, r.ts)
        for r in conn.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.key,
                OutboxMessage.position,
                OutboxMessage.status,
                OutboxMessage.channel,
                OutboxMessage.ts,
            )
            .where(OutboxMessage.delivery_id == delivery_id, OutboxMessage.position.is_not(None))
            .order_by(OutboxMessage.position)
        )
    }


def claim_slot(
    engine: Engine,
    user_id: str,
    day: date,
    slack_user_id: str,
    as_of: datetime,
    clock: Clock,
) -> Slot | str:
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
            delivery_id = conn.execute(
                select(Delivery.id).where(Delivery.user_id == user_id, Delivery.local_date == day)
            ).scalar_one()
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
        run = conn.execute(select(Delivery.attempts).where(Delivery.id == delivery_id)).scalar()
        messages = day_messages(conn, int(delivery_id))
    return Slot(int(delivery_id), token, int(run or 1), messages, clock)


def release_slot(engine: Engine, slot: Slot, as_of: datetime, error: str | None) -> None:
    """Release the lease; the status follows from the messages' outbox rows."""
    now = slot.clock()
    with engine.begin() as conn:
        states = {m.status for m in day_messages(conn, slot.delivery_id).values()}
        if states & {State.CLAIMED.value, State.UNKNOWN.value}:
            status = "unknown"
        elif State.SENT.value in states:
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
            .where(Delivery.id == slot.delivery_id, Delivery.lease_token == slot.token)
            .values(**values)
        )


def delivered_today(engine: Engine, user_id: str, day: date) -> bool:
    """Whether ``user_id`` has a DM of ``day`` in Slack (that a rerun would update)."""
    with engine.connect() as conn:
        return (
            conn.execute(
                select(OutboxMessage.id)
                .join(Delivery, Delivery.id == OutboxMessage.delivery_id)
                .where(
                    Delivery.user_id == user_id,
                    Delivery.local_date == day,
                    OutboxMessage.position.is_not(None),
                    OutboxMessage.status == State.SENT.value,
                )
                .limit(1)
            ).first()
            is not None
        )
