"""Per-account and per-thread rollups of the activity history.

The sweep must not scan the activity table (its cost would grow with history), so the importer
keeps these rollups current for every account it touches. ``fold_account`` is the one definition
of what they hold: the importer folds the stored rows after writing them, and a sweep whose
``now`` lies before an account's newest data folds that account's rows up to ``now`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, select, update

from bot.db.bulk import (
    BackgroundInserts,
    BulkLoad,
    bulk_insert,
    chunks,
    is_big_load,
    is_bulk_load,
    run_later,
)
from bot.db.models import AccountRollup, Activity, EmailThread, HealthScore, Meeting, Request

CHUNK = 900  # ids per IN (...) list: below SQLite's default variable limit
ROLLUP_TABLE = cast(Table, AccountRollup.__table__)
THREAD_TABLE = cast(Table, EmailThread.__table__)


@dataclass(slots=True)
class ActivityRow:
    id: str
    at: datetime
    kind: str
    direction: str
    thread: str | None
    subject: str | None
    contact_id: str | None
    outcome: str | None


@dataclass(slots=True)
class ThreadState:
    account_id: str
    thread_key: str
    last_at: datetime
    last_direction: str
    last_activity_id: str
    subject: str | None
    contact_id: str | None
    first_unreplied_at: datetime | None
    messages: int


@dataclass(slots=True)
class Rollup:
    account_id: str
    data_until: datetime | None = None
    last_touch_at: datetime | None = None
    last_touch_activity_id: str | None = None
    last_meeting_activity_at: datetime | None = None
    last_meeting_activity_id: str | None = None
    last_outbound_call_at: datetime | None = None
    last_outbound_call_id: str | None = None
    last_outbound_call_outcome: str | None = None
    last_outbound_email_at: datetime | None = None
    last_note_at: datetime | None = None
    last_post_meeting_note_at: datetime | None = None
    health_at: datetime | None = None
    health_score: float | None = None
    health_prev_at: datetime | None = None
    health_prev_score: float | None = None
    threads: dict[str, ThreadState] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ROLLUP_COLUMNS}


ROLLUP_COLUMNS = tuple(c.key for c in AccountRollup.__table__.columns)
# Rollup(*row) relies on the dataclass and the table listing the columns in the same order.
assert tuple(f for f in Rollup.__dataclass_fields__ if f != "threads") == ROLLUP_COLUMNS


def is_touchpoint(kind: str, outcome: str | None, direction: str) -> bool:
    """Outbound email, connected call (either direction), or a meeting (any direction)."""
    return (
        (kind == "email" and direction == "outbound")
        or (kind == "call" and outcome == "connected")
        or kind == "meeting"
    )


def fold_account(
    account_id: str,
    activities: Iterable[ActivityRow],
    health: Sequence[tuple[datetime, float]],
) -> Rollup:
    """The rollup of one account from its activities sorted by ``(at, id)`` and its health
    scores (any order)."""
    r = Rollup(account_id)
    latest: datetime | None = None
    for a in activities:
        latest = a.at
        kind, direction = a.kind, a.direction
        if is_touchpoint(kind, a.outcome, direction):
            r.last_touch_at, r.last_touch_activity_id = a.at, a.id
        if kind == "meeting":
            r.last_meeting_activity_at, r.last_meeting_activity_id = a.at, a.id
        elif kind == "call" and direction == "outbound":
            r.last_outbound_call_at, r.last_outbound_call_id = a.at, a.id
            r.last_outbound_call_outcome = a.outcome
        elif kind in ("note", "post_meeting_note"):
            r.last_note_at = a.at
            if kind == "post_meeting_note":
                r.last_post_meeting_note_at = a.at
        if kind == "email" and direction in ("inbound", "outbound"):
            if direction == "outbound":
                r.last_outbound_email_at = a.at
            key = a.thread or f"activity:{a.id}"
            t = r.threads.get(key)
            if t is None:
                t = r.threads[key] = ThreadState(
                    account_id, key, a.at, direction, a.id, a.subject, a.contact_id, None, 0
                )
            t.messages += 1
            t.last_at, t.last_direction, t.last_activity_id = a.at, direction, a.id
            if direction == "inbound":
                t.contact_id = a.contact_id or t.contact_id
                t.subject = a.subject or t.subject
                if t.first_unreplied_at is None:
                    t.first_unreplied_at = a.at
            else:
                t.first_unreplied_at = None
    if health:
        ordered = sorted(health)
        r.health_at, r.health_score = ordered[-1]
        if len(ordered) > 1:
            r.health_prev_at, r.health_prev_score = ordered[-2]
        latest = max(latest, r.health_at) if latest else r.health_at
    r.data_until = latest
    return r


# ---------------------------------------------------------------------------- storage


_ACTIVITY_COLS = (
    Activity.account_id,
    Activity.id,
    Activity.at,
    Activity.kind,
    Activity.direction,
    Activity.thread,
    Activity.subject,
    Activity.contact_id,
    Activity.outcome,
)


def load_folds(
    conn: Connection, account_ids: Sequence[str], until: datetime | None = None
) -> dict[str, Rollup]:
    """Fold the stored rows of ``account_ids`` (only rows at or before ``until`` if given)."""
    out: dict[str, Rollup] = {}
    for part in chunks(sorted(set(account_ids))):
        act_q = select(*_ACTIVITY_COLS).where(Activity.account_id.in_(part))
        health_q = select(HealthScore.account_id, HealthScore.at, HealthScore.score).where(
            HealthScore.account_id.in_(part)
        )
        if until is not None:
            act_q = act_q.where(Activity.at <= until)
            health_q = health_q.where(HealthScore.at <= until)
        health: dict[str, list[tuple[datetime, float]]] = {}
        for acc, at, score in conn.execute(health_q):
            health.setdefault(acc, []).append((at, score))
        rows = conn.execute(act_q.order_by(Activity.account_id, Activity.at, Activity.id))
        seen: set[str] = set()
        for acc, group in groupby(rows, key=lambda row: row[0]):
            seen.add(acc)
            out[acc] = fold_account(
                acc, (ActivityRow(*row[1:]) for row in group), health.get(acc, ())
            )
        for acc in part:
            if acc not in seen:
                out[acc] = fold_account(acc, (), health.get(acc, ()))
    return out


def count_unowned_open_items(items: Any) -> int:
    """Meeting action items with no owner that are not done."""
    if not isinstance(items, list):
        return 0
    return sum(1 for i in items if isinstance(i, dict) and not i.get("owner") and not i.get("done"))


def refresh_meeting_items(conn: Connection, account_ids: Sequence[str]) -> None:
    """Recompute ``meetings.unowned_open_items`` for the meetings of ``account_ids``."""
    for part in chunks(sorted(set(account_ids))):
        rows = conn.execute(
            select(Meeting.id, Meeting.action_items, Meeting.unowned_open_items).where(
                Meeting.account_id.in_(part)
            )
        ).all()
        for meeting_id, items, stored in rows:
            count = count_unowned_open_items(items)
            if count != stored:
                conn.execute(
                    update(Meeting).where(Meeting.id == meeting_id).values(unowned_open_items=count)
                )


def refresh_rollups(
    conn: Connection, account_ids: Sequence[str], request_ids: Sequence[str] = ()
) -> None:
    """Recompute the stored rollups of ``account_ids`` (their activity rollup, email threads and
    meetings' open-item counts) and ``requests.last_activity_at`` of ``request_ids`` from the
    stored rows. The importer calls it inside its transaction for every account whose
    activities, health scores or meetings it wrote."""
    refresh_meeting_items(conn, account_ids)
    for part in chunks(sorted(set(account_ids)), 5000):
        store_folds(conn, list(load_folds(conn, part).values()))
    refresh_request_activity(conn, request_ids)


class FreshFolds:
    """Rollups of accounts that have no stored history, folded from rows held in memory (the
    importer's converted rows, keyed by column name): the same result as ``load_folds``
    without reading back what was just written. Rows may come in parts (as the importer
    writes them); rows of other accounts are left out."""

    def __init__(self, account_ids: Iterable[str]) -> None:
        self._activities: dict[str, list[ActivityRow]] = {acc: [] for acc in account_ids}
        self._scores: dict[str, list[tuple[datetime, float]]] = {
            acc: [] for acc in self._activities
        }

    def add_activities(self, activities: Iterable[Mapping[str, Any]]) -> None:
        buckets = self._activities
        for row in activities:
            bucket = buckets.get(row["account_id"])
            if bucket is not None:
                get = row.get
                bucket.append(
                    ActivityRow(
                        row["id"],
                        row["at"],
                        row["kind"],
                        row["direction"],
                        get("thread"),
                        get("subject"),
                        get("contact_id"),
                        get("outcome"),
                    )
                )

    def add_health(self, health: Iterable[Mapping[str, Any]]) -> None:
        buckets = self._scores
        for row in health:
            bucket = buckets.get(row["account_id"])
            if bucket is not None:
                bucket.append((row["at"], row["score"]))

    def forget(self, account_ids: Iterable[str]) -> None:
        """Leave these accounts out (a stored row moves to one of them: their rollups must be
        folded from what the database holds)."""
        for acc in account_ids:
            self._activities.pop(acc, None)
            self._scores.pop(acc, None)

    def folds(self) -> list[Rollup]:
        """One rollup per account, by account id."""
        folds = []
        for acc in sorted(self._activities):
            rows = self._activities[acc]
            rows.sort(key=_AT_AND_ID)
            folds.append(fold_account(acc, rows, self._scores[acc]))
        return folds


_AT_AND_ID = attrgetter("at", "id")  # the order activities are folded in, at C speed


def store_folds(
    conn: Connection,
    folds: Sequence[Rollup],
    inserts: BackgroundInserts | None = None,
    *,
    new: bool = False,
) -> None:
    """Replace the stored rollup rows and email threads of the folded accounts (``new``: they
    have none yet; when they are many, the two tables are bulk-loaded, see ``BulkLoad``).
    ``inserts``: see ``bulk_insert`` (the bulk load ends on its thread too)."""
    if not new:
        for sub in chunks([f.account_id for f in folds]):
            conn.execute(delete(EmailThread).where(EmailThread.account_id.in_(sub)))
            conn.execute(delete(AccountRollup).where(AccountRollup.account_id.in_(sub)))
        _insert_folds(conn, folds, inserts)
        return
    threads = sum(len(f.threads) for f in folds)
    sizes = ((ROLLUP_TABLE, len(folds)), (THREAD_TABLE, threads))
    bulk = [table for table, rows in sizes if is_bulk_load(conn, table, rows)]
    load = BulkLoad(conn)
    load.add(bulk, bulk)
    others = [table for table, _ in sizes if table not in bulk]
    if is_big_load(sum(rows for table, rows in sizes if table in others)):
        for table in others:
            load.collect_references(table)
        load.check_keys_at_once(others)
    _insert_folds(conn, folds, inserts, load)
    run_later(load.restore_all, inserts)


def _insert_folds(
    conn: Connection,
    folds: Sequence[Rollup],
    inserts: BackgroundInserts | None,
    load: BulkLoad | None = None,
) -> None:
    for start in range(0, len(folds), 5000):
        batch = folds[start : start + 5000]
        thread_rows = [
            {
                "account_id": t.account_id,
                "thread_key": t.thread_key,
                "last_at": t.last_at,
                "last_direction": t.last_direction,
                "last_activity_id": t.last_activity_id,
                "subject": t.subject,
                "contact_id": t.contact_id,
                "first_unreplied_at": t.first_unreplied_at,
                "messages": t.messages,
            }
            for f in batch
            for t in f.threads.values()
        ]
        rollup_rows = [f.row() for f in batch]
        if load is not None:
            load.note_references(ROLLUP_TABLE, rollup_rows)
            load.note_references(THREAD_TABLE, thread_rows)
        bulk_insert(conn, ROLLUP_TABLE, rollup_rows, inserts)
        bulk_insert(conn, THREAD_TABLE, thread_rows, inserts)


def refresh_request_activity(conn: Connection, request_ids: Sequence[str]) -> None:
    """``requests.last_activity_at`` from the stored activities linked to each request."""
    for part in chunks(sorted(set(request_ids))):
        latest = dict(
            conn.execute(
                select(Activity.request_id, func.max(Activity.at))
                .where(Activity.request_id.in_(part))
                .group_by(Activity.request_id)
            ).all()
        )
        for request_id in part:
            conn.execute(
                update(Request)
                .where(Request.id == request_id)
                .values(last_activity_at=latest.get(request_id))
            )


def request_activity_until(
    conn: Connection, request_ids: Sequence[str], until: datetime
) -> dict[str, datetime]:
    """Latest linked activity per request at or before ``until`` (the as-of fallback)."""
    out: dict[str, datetime] = {}
    for part in chunks(sorted(set(request_ids))):
        rows = conn.execute(
            select(Activity.request_id, func.max(Activity.at))
            .where(Activity.request_id.in_(part), Activity.at <= until)
            .group_by(Activity.request_id)
        )
        out.update((rid, at) for rid, at in rows if rid is not None)
    return out
