"""The alert lifecycle (followup-rules.md "Alert lifecycle").

Each (account, signal, evidence) is one alert keyed ``account|signal|evidence``. A sweep records
what fires; the CSM's clicks move an alert between ``open``, ``snoozed``, ``dismissed`` and
``done``. Dismissed and done alerts stay hidden for the same evidence; a snoozed one comes back
when its time is up (and its escalation clock is paused meanwhile).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update

from bot.db.bulk import bulk_insert, chunks, id_chunks, member_of
from bot.db.models import Alert, AuditLog
from bot.engine.facts import Scope
from bot.engine.results import Reason
from bot.engine.rules import Severity

ALERT_TABLE = cast(Table, Alert.__table__)


class AlertState(StrEnum):
    OPEN = "open"
    SNOOZED = "snoozed"
    DISMISSED = "dismissed"
    DONE = "done"


def alert_key(account_id: str, reason: Reason) -> str:
    return f"{account_id}|{reason.signal}|{reason.evidence}"


def shows(state: AlertState, snooze_until: datetime | None, now: datetime) -> bool:
    """Whether an alert in ``state`` is on its card at ``now``: open, or snoozed with its wake
    time passed."""
    if state is AlertState.OPEN:
        return True
    return state is AlertState.SNOOZED and snooze_until is not None and snooze_until <= now


@dataclass(slots=True)
class StoredAlert:
    id: int | None
    key: str
    state: AlertState
    severity: str
    first_critical_at: datetime | None
    snooze_until: datetime | None
    escalated_at: datetime | None
    state_changed_at: datetime | None
    cleared_at: datetime | None

    def visible(self, now: datetime) -> bool:
        return shows(self.state, self.snooze_until, now)


_COLS = (
    Alert.id,
    Alert.key,
    Alert.state,
    Alert.severity,
    Alert.first_critical_at,
    Alert.snooze_until,
    Alert.escalated_at,
    Alert.state_changed_at,
    Alert.cleared_at,
)


def _stored(row: Sequence[Any]) -> StoredAlert:
    return StoredAlert(row[0], row[1], AlertState(row[2]), *row[3:])


def load_alerts(conn: Connection, keys: Iterable[str], scope: Scope) -> dict[str, StoredAlert]:
    """Stored alerts for ``keys``, plus every uncleared alert of ``scope``'s accounts (to clear
    the ones that no longer fire)."""
    uncleared = select(*_COLS).where(Alert.cleared_at.is_(None))
    found = {row[1]: _stored(row) for row in scope.run(conn, uncleared, Alert.account_id)}
    missing = [k for k in keys if k not in found]
    for part in chunks(missing):
        for row in conn.execute(select(*_COLS).where(Alert.key.in_(part))):
            found[row[1]] = _stored(row)
    return found


@dataclass(slots=True)
class AlertChanges:
    inserts: list[dict[str, Any]]
    updates: list[dict[str, Any]]
    cleared: list[int]

    def extend(self, other: AlertChanges) -> None:
        self.inserts.extend(other.inserts)
        self.updates.extend(other.updates)
        self.cleared.extend(other.cleared)


def uncleared_outside(conn: Connection, first: str, last: str) -> list[int]:
    """Ids of the uncleared alerts of accounts before ``first`` or after ``last``."""
    return list(
        conn.execute(
            select(Alert.id).where(
                Alert.cleared_at.is_(None),
                (Alert.account_id < first) | (Alert.account_id > last),
            )
        ).scalars()
    )


def reconcile(
    fired: dict[str, tuple[str, Reason]],
    stored: dict[str, StoredAlert],
    now: datetime,
) -> tuple[dict[str, StoredAlert], AlertChanges]:
    """The alerts as they stand after this sweep, and the writes that would make it so.

    ``fired`` maps alert key → (account id, reason). Pure: the caller decides whether to write.
    """
    result: dict[str, StoredAlert] = {}
    changes = AlertChanges([], [], [])
    for key, (account_id, reason) in fired.items():
        critical = reason.severity is Severity.CRITICAL
        old = stored.get(key)
        if old is None:
            new = StoredAlert(
                None,
                key,
                AlertState.OPEN,
                reason.severity.value,
                now if critical else None,
                None,
                None,
                None,
                None,
            )
            result[key] = new
            changes.inserts.append(
                {
                    "key": key,
                    "account_id": account_id,
                    "signal": reason.signal,
                    "evidence": reason.evidence,
                    "lane": reason.lane.value,
                    "severity": reason.severity.value,
                    "detail": reason.detail,
                    "state": AlertState.OPEN.value,
                    "first_fired_at": now,
                    "first_critical_at": new.first_critical_at,
                }
            )
            continue
        values: dict[str, Any] = {}
        if old.severity != reason.severity.value:
            values["severity"] = reason.severity.value
            values["detail"] = reason.detail
        if critical and old.first_critical_at is None:
            values["first_critical_at"] = now
        if old.cleared_at is not None:
            values["cleared_at"] = None
        if (
            old.state is AlertState.SNOOZED
            and old.snooze_until is not None
            and old.snooze_until <= now
        ):
            values["state"] = AlertState.OPEN.value
            values["state_changed_at"] = old.snooze_until
            if old.first_critical_at is not None and old.state_changed_at is not None:
                # Snoozing paused the escalation clock: move its start by the snoozed time.
                values["first_critical_at"] = old.first_critical_at + (
                    old.snooze_until - old.state_changed_at
                )
        new = StoredAlert(
            old.id,
            key,
            AlertState(values.get("state", old.state)),
            values.get("severity", old.severity),
            values.get("first_critical_at", old.first_critical_at),
            old.snooze_until,
            old.escalated_at,
            values.get("state_changed_at", old.state_changed_at),
            None,
        )
        result[key] = new
        if values:
            changes.updates.append({"alert_id": old.id, **values})
    for key, old in stored.items():
        if key not in fired and old.cleared_at is None and old.id is not None:
            changes.cleared.append(old.id)
    return result, changes


def apply_changes(conn: Connection, changes: AlertChanges, now: datetime) -> dict[str, int]:
    """Write ``changes``; returns the ids of the inserted alerts by key."""
    ids: dict[str, int] = {}
    if changes.inserts:
        keys = {row["key"] for row in changes.inserts}
        # The new rows' ids come from the sequence (or rowid) after the highest id stored now:
        # read them back as one range along the primary key, not by looking up every key.
        before = conn.execute(select(func.max(Alert.id))).scalar() or 0
        bulk_insert(conn, ALERT_TABLE, [dict(row) for row in changes.inserts])  # COPY on PG
        found = conn.execute(select(Alert.key, Alert.id).where(Alert.id > before))
        ids.update((key, alert_id) for key, alert_id in found if key in keys)
        # Rows given explicit high ids by hand could push ours below `before`: look those up.
        missing = sorted(keys - ids.keys())
        for part in id_chunks(conn, missing):
            where = member_of(conn, ALERT_TABLE.c.key, part)
            found = conn.execute(select(Alert.key, Alert.id).where(where))
            ids.update((key, alert_id) for key, alert_id in found)
    # The updates in one batch per set of columns (a sweep's are of a few kinds: a severity
    # change, a snooze woken up, a clearing undone): one round trip each on PostgreSQL.
    batches: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for values in changes.updates:
        columns = tuple(sorted(k for k in values if k != "alert_id"))
        batches[columns].append({"target": values["alert_id"]} | {k: values[k] for k in columns})
    for columns, rows in batches.items():
        stmt = (
            ALERT_TABLE.update()
            .where(ALERT_TABLE.c.id == bindparam("target"))
            .values({c: bindparam(c) for c in columns})
        )
        conn.execute(stmt, rows)
    for part in chunks([str(i) for i in changes.cleared]):
        conn.execute(
            update(Alert).where(Alert.id.in_([int(i) for i in part])).values(cleared_at=now)
        )
    return ids


# ------------------------------------------------------------------ state transitions


class AlertNotFound(LookupError):
    pass


class AlertStateConflict(Exception):
    """The alert changed since the card was rendered (someone else acted first)."""

    def __init__(self, alert_id: int, state: str):
        self.alert_id, self.state = alert_id, state
        super().__init__(f"alert {alert_id} is already {state}")


def set_state(
    conn: Connection,
    alert_id: int,
    state: AlertState,
    *,
    actor: str | None,
    now: datetime,
    snooze_until: datetime | None = None,
    reason: str | None = None,
    expect: Sequence[AlertState] | None = None,
) -> None:
    """Move an alert to ``state`` (conditionally on its current state being in ``expect``)."""
    if state is AlertState.SNOOZED and (snooze_until is None or snooze_until <= now):
        raise ValueError("a snooze needs a time in the future")
    stmt = update(Alert).where(Alert.id == alert_id)
    if expect is not None:
        stmt = stmt.where(Alert.state.in_([s.value for s in expect]))
    values: dict[str, Any] = {
        "state": state.value,
        "state_changed_at": now,
        "state_changed_by": actor,
        "snooze_until": snooze_until if state is AlertState.SNOOZED else None,
    }
    if state is AlertState.DISMISSED:
        values["dismiss_reason"] = reason
    result = conn.execute(stmt.values(**values))
    if result.rowcount == 0:
        current = conn.execute(select(Alert.state).where(Alert.id == alert_id)).scalar()
        if current is None:
            raise AlertNotFound(f"no alert {alert_id}")
        raise AlertStateConflict(alert_id, current)
    conn.execute(
        insert(AuditLog).values(
            at=now,
            actor=actor,
            action=f"alert.{state.value}",
            subject=f"alert:{alert_id}",
            details={
                "snooze_until": snooze_until.isoformat() if snooze_until else None,
                "reason": reason,
            },
        )
    )
