"""What a CSM or admin does to the queue: snooze, dismiss, mark done, exclude an account.

Slack buttons and the CLI call these; each runs in the caller's transaction and writes the
audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import Connection, delete, insert, select, update

from bot.db.models import Account, Activity, Alert, AuditLog, Exclusion, Task
from bot.engine.alerts import AlertNotFound, AlertState, set_state
from bot.engine.business_time import BusinessHours, add_business_days, local_date, local_time_on
from bot.engine.rollups import refresh_rollups
from bot.engine.sweep_state import mark_changed

# Marking these done means "I reached out": the bot records a touch so the signal resolves.
TOUCH_SIGNALS = frozenset(
    {"no_recent_touch", "never_touched", "no_first_response", "call_retry_due", "no_next_action"}
)


class SnoozeChoice(StrEnum):
    TOMORROW = "tomorrow"  # tomorrow 09:00 local
    THREE_BUSINESS_DAYS = "3_business_days"
    NEXT_MONDAY = "next_monday"


def snooze_until(
    choice: SnoozeChoice, now: datetime, tz_name: str, hours: BusinessHours
) -> datetime:
    today = local_date(now, tz_name)
    if choice is SnoozeChoice.TOMORROW:
        return local_time_on(today + timedelta(days=1), time(9, 0), tz_name)
    if choice is SnoozeChoice.THREE_BUSINESS_DAYS:
        return add_business_days(now, 3, tz_name, hours)
    days_ahead = 7 - today.weekday()  # Monday is 0: always a future Monday
    return local_time_on(today + timedelta(days=days_ahead), time(9, 0), tz_name)


def snooze_to_date(day: date, now: datetime, tz_name: str) -> datetime:
    """A picked date means its 09:00 local; it must lie in the future."""
    until = local_time_on(day, time(9, 0), tz_name)
    if until <= now:
        raise ValueError(f"{day.isoformat()} is not in the future")
    return until


# Each transition takes ``expect``: the states the alert must still be in (the state the card
# showed); otherwise :class:`bot.engine.alerts.AlertStateConflict` and nothing changes.
Expect = Sequence[AlertState] | None


def snooze(
    conn: Connection,
    alert_id: int,
    until: datetime,
    *,
    actor: str | None,
    now: datetime,
    expect: Expect = None,
) -> None:
    set_state(
        conn, alert_id, AlertState.SNOOZED, actor=actor, now=now, snooze_until=until, expect=expect
    )
    _mark_account_of(conn, alert_id)


def dismiss(
    conn: Connection,
    alert_id: int,
    *,
    actor: str | None,
    now: datetime,
    reason: str | None = None,
    expect: Expect = None,
) -> None:
    set_state(
        conn, alert_id, AlertState.DISMISSED, actor=actor, now=now, reason=reason, expect=expect
    )
    _mark_account_of(conn, alert_id)


def reopen(
    conn: Connection, alert_id: int, *, actor: str | None, now: datetime, expect: Expect = None
) -> None:
    """Undo: the alert is open again. Undoing *done* also takes back what :func:`mark_done`
    recorded then (the touch it logged, the task it completed), so the card comes back."""
    row = conn.execute(
        select(
            Alert.account_id, Alert.signal, Alert.evidence, Alert.state, Alert.state_changed_at
        ).where(Alert.id == alert_id)
    ).first()
    set_state(conn, alert_id, AlertState.OPEN, actor=actor, now=now, expect=expect)
    _mark_account_of(conn, alert_id)
    if row is not None and row.state == AlertState.DONE.value and row.state_changed_at:
        _revert_done(conn, row.account_id, row.signal, row.evidence, row.state_changed_at)


def _revert_done(
    conn: Connection, account_id: str, signal: str, evidence: str, done_at: datetime
) -> None:
    if signal in TOUCH_SIGNALS:
        removed = conn.execute(
            delete(Activity).where(
                Activity.account_id == account_id,
                Activity.source == "bot",
                Activity.at == done_at,
            )
        ).rowcount
        if removed:
            refresh_rollups(conn, [account_id])
    elif signal == "overdue_task" and evidence.startswith("task:"):
        task_id = evidence.removeprefix("task:").split("@", 1)[0]
        conn.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == "done", Task.completed_at == done_at)
            .values(status="open", completed_at=None)
        )


def mark_done(
    conn: Connection, alert_id: int, *, actor: str | None, now: datetime, expect: Expect = None
) -> None:
    """The CSM says it is handled; record a touch or complete the task where that fits."""
    row = conn.execute(
        select(Alert.account_id, Alert.signal, Alert.evidence).where(Alert.id == alert_id)
    ).first()
    if row is None:
        raise AlertNotFound(f"no alert {alert_id}")
    account_id, signal, evidence = row
    set_state(conn, alert_id, AlertState.DONE, actor=actor, now=now, expect=expect)
    mark_changed(conn, [account_id])
    if signal in TOUCH_SIGNALS:
        conn.execute(
            insert(Activity).values(
                id=f"bot-{uuid.uuid4().hex[:16]}",
                account_id=account_id,
                at=now,
                kind="call",
                direction="outbound",
                outcome="connected",
                subject="Touch logged from Followup Bot",
                user_id=actor,
                source="bot",
            )
        )
        refresh_rollups(conn, [account_id])
    elif signal == "overdue_task" and evidence.startswith("task:"):
        task_id = evidence.removeprefix("task:").split("@", 1)[0]
        conn.execute(
            update(Task)
            .where(Task.id == task_id, Task.status == "open")
            .values(status="done", completed_at=now)
        )


# ------------------------------------------------------------------------- exclusions


def exclude_account(
    conn: Connection,
    account_id: str,
    *,
    reason: str | None,
    until: date | None,
    actor: str | None,
    now: datetime,
) -> None:
    conn.execute(delete(Exclusion).where(Exclusion.account_id == account_id))
    mark_changed(conn, [account_id])
    conn.execute(
        insert(Exclusion).values(
            account_id=account_id, reason=reason, until=until, created_at=now, created_by=actor
        )
    )
    _audit(
        conn,
        now,
        actor,
        "account.exclude",
        account_id,
        {"reason": reason, "until": str(until) if until else None},
    )


def include_account(conn: Connection, account_id: str, *, actor: str | None, now: datetime) -> bool:
    """Let an excluded account back in; False when it was not excluded."""
    removed = conn.execute(delete(Exclusion).where(Exclusion.account_id == account_id)).rowcount
    if removed:
        mark_changed(conn, [account_id])
        _audit(conn, now, actor, "account.include", account_id, None)
    return bool(removed)


def _mark_account_of(conn: Connection, alert_id: int) -> None:
    """An alert's state changed: its account's card changes (the incremental sweep)."""
    account = conn.execute(select(Alert.account_id).where(Alert.id == alert_id)).scalar()
    if account is not None:
        mark_changed(conn, [account])


def account_exists(conn: Connection, account_id: str) -> bool:
    return conn.execute(select(Account.id).where(Account.id == account_id)).first() is not None


def _audit(
    conn: Connection,
    now: datetime,
    actor: str | None,
    action: str,
    subject: str,
    details: dict[str, object] | None,
) -> None:
    conn.execute(
        insert(AuditLog).values(
            at=now, actor=actor, action=action, subject=subject, details=details
        )
    )
