"""Events API dedupe: Slack retries an event (``X-Slack-Retry-Num``, up to 3 times) when it did
not see our 200 in time; each ``event_id`` is processed once.

A ``slack_events`` row per event_id is the claim, inserted with ON CONFLICT DO NOTHING and
leased while its listener runs. A retry is dropped when the event was processed, or is being
processed right now; it is *not* dropped when the first delivery failed (the lease is
released) or died half-way (the lease ran out): then the retry processes it. When a work
process dies while it holds the lease, ``serve`` sends the event to the next one, which takes
the lease over (``take_over``) rather than wait for it to run out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, delete, or_, true, update

from bot.db.models import SlackEvent
from bot.db.upsert import insert_ignore

log = logging.getLogger(__name__)

EVENT_LEASE = timedelta(seconds=60)
KEEP_EVENTS = timedelta(days=3)  # Slack retries within minutes; older rows are pruned


def claim_event(
    engine: Engine,
    event_id: str,
    event_type: str,
    now: datetime,
    *,
    retry_num: int = 0,
    lease: timedelta = EVENT_LEASE,
    take_over: bool = False,
) -> bool:
    """True when this delivery of ``event_id`` is the one to process it. ``take_over``: the
    process that holds the event's lease is known to be dead, so the lease is taken over."""
    with engine.begin() as conn:
        inserted = insert_ignore(
            conn,
            cast(Table, SlackEvent.__table__),
            {
                "event_id": event_id,
                "event_type": event_type,
                "received_at": now,
                "retry_num": retry_num,
                "lease_until": now + lease,
            },
            ("event_id",),
        )
        if inserted:
            conn.execute(delete(SlackEvent).where(SlackEvent.received_at < now - KEEP_EVENTS))
            return True
        free = or_(SlackEvent.lease_until.is_(None), SlackEvent.lease_until < now)
        taken = conn.execute(
            update(SlackEvent)
            .where(
                SlackEvent.event_id == event_id,
                SlackEvent.processed_at.is_(None),
                true() if take_over else free,
            )
            .values(lease_until=now + lease, retry_num=retry_num)
        )
        return taken.rowcount == 1


def finish_event(engine: Engine, event_id: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(SlackEvent)
            .where(SlackEvent.event_id == event_id)
            .values(processed_at=now, lease_until=None)
        )


def release_event(engine: Engine, event_id: str) -> None:
    """Processing failed: let a retry of the event try again."""
    with engine.begin() as conn:
        conn.execute(
            update(SlackEvent)
            .where(SlackEvent.event_id == event_id, SlackEvent.processed_at.is_(None))
            .values(lease_until=None)
        )


@contextmanager
def process_once(
    engine: Engine,
    event_id: str | None,
    event_type: str,
    clock: Callable[[], datetime],
    *,
    retry_num: int = 0,
    take_over: bool = False,
) -> Iterator[bool]:
    """``with process_once(...) as fresh: if fresh: ...`` — marks the event processed when the
    block ends, or releases it for a retry when the block raises. Without an ``event_id`` (not an
    Events API delivery) the block always runs."""
    if not event_id:
        yield True
        return
    claimed = claim_event(
        engine, event_id, event_type, clock(), retry_num=retry_num, take_over=take_over
    )
    if not claimed:
        log.info("event %s (%s, retry %s) already handled", event_id, event_type, retry_num)
        yield False
        return
    try:
        yield True
    except BaseException:
        release_event(engine, event_id)
        raise
    finish_event(engine, event_id, clock())
