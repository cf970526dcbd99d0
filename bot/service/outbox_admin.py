"""The outbox for operators: the messages that were not sent, and sending them again.

:func:`list_rows` lists outbox rows (by default the ones not sent: ``failed``, ``parked``,
``unknown``), :func:`count_not_sent` counts those (the admins' App Home says so), and
:func:`retry` puts rows back to ``pending`` with their attempts reset, so that the next drain
(a scheduler round, ``followup-bot tick``) sends them. An ``unknown`` row may have been posted
(Slack could not tell): it is put back only when forced. Each retry is in the audit log
(``outbox.retry``). The sending itself is :mod:`bot.service.outbox`'s.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, true, update

from bot.db.models import AuditLog, OutboxMessage
from bot.service.outbox import Kind, State

NOT_SENT = (State.FAILED, State.PARKED, State.UNKNOWN)
RETRYABLE = (State.FAILED, State.PARKED)  # and UNKNOWN when forced
RETRY_ACTION = "outbox.retry"
_OUTBOX_ACTIONS = (*(f"outbox.{s.value}" for s in NOT_SENT), RETRY_ACTION)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    kind: str
    target: str  # our user id (a DM), a Slack channel id (a post) or the webhook's URL
    thread_ts: str | None  # a reply in this thread
    key: str
    subject: str | None
    status: str
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime  # the last change known: sent, failed/parked/unknown, retried
    next_attempt_at: datetime | None  # when a pending row is due
    channel: str | None  # where a sent post went
    ts: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "thread_ts": self.thread_ts,
            "key": self.key,
            "subject": self.subject,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "next_attempt_at": _iso(self.next_attempt_at),
            "channel": self.channel,
            "ts": self.ts,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[OutboxRow]
    total: int  # rows of those statuses, shown or not


def _statuses(statuses: Collection[str] | None) -> Any:
    return true() if statuses is None else OutboxMessage.status.in_(list(statuses))


def count_not_sent(conn: Connection) -> int:
    """How many messages were not sent: failed, parked or unknown."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([s.value for s in NOT_SENT]))
        ).scalar_one()
    )


def list_rows(
    conn: Connection, statuses: Collection[str] | None = None, *, limit: int | None = None
) -> Listing:
    """The rows of ``statuses`` (None: every row), newest first, at most ``limit``."""
    total = int(
        conn.execute(
            select(func.count()).select_from(OutboxMessage).where(_statuses(statuses))
        ).scalar_one()
    )
    query = (
        select(OutboxMessage.__table__).where(_statuses(statuses)).order_by(OutboxMessage.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    found = list(conn.execute(query))
    changed = _last_changes(conn, found)
    rows = [_row(r, changed.get(r.key)) for r in found]
    return Listing(rows, total)


def _row(r: Any, changed: datetime | None = None) -> OutboxRow:
    return OutboxRow(
        id=r.id,
        kind=r.kind,
        target=r.target,
        thread_ts=(r.payload or {}).get("thread_ts") if r.kind != "webhook" else None,
        key=r.key,
        subject=r.subject,
        status=r.status,
        attempts=r.attempts,
        error=r.error,
        created_at=r.created_at,
        updated_at=max(m for m in (r.created_at, r.sent_at, changed) if m is not None),
        next_attempt_at=r.next_attempt_at if r.status == State.PENDING.value else None,
        channel=r.channel,
        ts=r.ts,
    )


def _last_changes(conn: Connection, rows: Sequence[Any]) -> dict[str, datetime]:
    """When each row last failed, was parked, became unknown or was retried (audit log)."""
    rows = [r for r in rows if r.status != State.SENT.value]  # those: their sent_at
    if not rows:
        return {}
    keys = {r.key for r in rows}
    subjects = {r.subject or f"outbox:{r.key}" for r in rows}
    since = min(r.created_at for r in rows)
    last: dict[str, datetime] = {}
    for entry in conn.execute(
        select(AuditLog.at, AuditLog.details).where(
            AuditLog.action.in_(_OUTBOX_ACTIONS),
            AuditLog.subject.in_(subjects),
            AuditLog.at >= since,
        )
    ):
        key = str((entry.details or {}).get("key"))
        if key in keys and (key not in last or entry.at > last[key]):
            last[key] = entry.at
    return last


# ------------------------------------------------------------------------------ retry


@dataclass(slots=True)
class RetryReport:
    retried: list[OutboxRow] = field(default_factory=list)
    already_pending: list[OutboxRow] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why a row was not put back, one a line

    @property
    def ok(self) -> bool:
        return not self.refused


def parked_ids(conn: Connection) -> list[int]:
    return list(
        conn.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == State.PARKED.value)
            .order_by(OutboxMessage.id)
        ).scalars()
    )


def _refusal(row: OutboxRow, force: bool) -> str | None:
    if row.kind == Kind.DAILY_DM.value and row.status != State.PENDING.value:
        return (
            f"{row.id} ({row.key}) is a daily DM message: its day's delivery sends it (a "
            f"refused one again at that day's next delivery); `followup-bot deliver --user "
            f"{row.target}` reruns today's"
        )
    if row.status in {s.value for s in RETRYABLE}:
        return None
    if row.status == State.UNKNOWN.value:
        if force:
            return None
        return (
            f"{row.id} ({row.key}) is unknown: it may have been posted already (Slack could "
            "not tell); check its channel, then retry it with --force to post it again"
        )
    if row.status == State.SENT.value:
        return f"{row.id} ({row.key}) was sent already"
    if row.status == State.CLAIMED.value:
        return f"{row.id} ({row.key}) is being sent right now"
    return None  # pending: nothing to do


class _Changed(Exception):
    pass


def retry(
    engine: Engine,
    ids: Iterable[int],
    *,
    now: datetime,
    actor: str,
    force: bool = False,
) -> RetryReport:
    """Put the rows ``ids`` back to ``pending`` (due now, attempts reset), in one transaction:
    all of them or, when any is unknown to the outbox or cannot be retried, none (``refused``
    says why). ``force``: ``unknown`` rows too (they may then be posted twice). Rows already
    pending are left as they are."""
    wanted = list(dict.fromkeys(ids))
    report = RetryReport()
    try:
        with engine.begin() as conn:
            found = {r.id: r for r in _rows_by_id(conn, wanted)}
            for row_id in wanted:
                row = found.get(row_id)
                if row is None:
                    report.refused.append(f"{row_id}: no outbox message has this id")
                    continue
                why = _refusal(row, force)
                if why is not None:
                    report.refused.append(why)
                elif row.status == State.PENDING.value:
                    report.already_pending.append(row)
                else:
                    report.retried.append(row)
            if report.refused:
                report.retried = []
                return report
            for row in report.retried:
                _put_back(conn, row, now, actor)
    except _Changed as exc:
        report.retried = []
        report.refused.append(f"{exc}: it changed meanwhile (sent or retried); nothing was done")
    return report


def _put_back(conn: Connection, row: OutboxRow, now: datetime, actor: str) -> None:
    done = conn.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status)
        .values(
            status=State.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            error=None,
            lease_token=None,
            lease_until=None,
        )
    )
    if done.rowcount != 1:  # a drain or another retry got there first: roll everything back
        raise _Changed(f"{row.id} ({row.key})")
    conn.execute(
        insert(AuditLog).values(
            at=now,
            actor=actor,
            action=RETRY_ACTION,
            subject=row.subject or f"outbox:{row.key}",
            details={
                "key": row.key,
                "kind": row.kind,
                "target": row.target,
                "was": row.status,
                "attempts": row.attempts,
                "error": row.error,
                "forced": row.status == State.UNKNOWN.value,
            },
        )
    )


def _rows_by_id(conn: Connection, ids: Sequence[int]) -> list[OutboxRow]:
    if not ids:
        return []
    query = select(OutboxMessage.__table__).where(OutboxMessage.id.in_(list(ids)))
    return [_row(r) for r in conn.execute(query)]
