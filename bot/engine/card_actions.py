"""A click on a card, as one transaction: Done, Snooze or Dismiss every alert the card showed,
or Undo exactly the alerts a click changed. No Slack here.

A card is acted on as a whole. If any of its alerts is no longer in the state the card showed
(someone marked it done, dismissed or snoozed it since), nothing changes and
:class:`CardChanged` says who handled what; the caller re-renders and tells the user. The
transitions themselves are conditional (``expect``), so two clicks racing on one alert cannot
both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, select

from bot.db.models import Account, Alert
from bot.engine import triage
from bot.engine.alerts import AlertNotFound, AlertState, AlertStateConflict, shows
from bot.engine.overview import UnknownAccount


class CardOp(StrEnum):
    DONE = "done"
    SNOOZE = "snooze"
    DISMISS = "dismiss"

    @property
    def state(self) -> AlertState:
        """The state this operation leaves an alert in."""
        return {
            CardOp.DONE: AlertState.DONE,
            CardOp.SNOOZE: AlertState.SNOOZED,
            CardOp.DISMISS: AlertState.DISMISSED,
        }[self]


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    id: int
    account_id: str
    signal: str
    state: AlertState
    snooze_until: datetime | None
    changed_by: str | None
    changed_at: datetime | None

    def actionable(self, now: datetime) -> bool:
        """On the card now: open, or snoozed with its wake time passed."""
        return shows(self.state, self.snooze_until, now)


class CardChanged(Exception):
    """The card changed since it was rendered; ``handled`` are the alerts someone else (or the
    same user, earlier) moved. Empty when the card has nothing left to act on."""

    def __init__(self, account_id: str, handled: Sequence[AlertSnapshot]) -> None:
        self.account_id = account_id
        self.handled = list(handled)
        super().__init__(f"card {account_id} changed: {[a.id for a in handled]}")


def account_name(conn: Connection, account_id: str) -> str:
    name = conn.execute(select(Account.name).where(Account.id == account_id)).scalar()
    if name is None:
        raise UnknownAccount(account_id)
    return str(name)


def alert_details(conn: Connection, account_id: str, alert_ids: Sequence[int]) -> list[str]:
    """The details of an account's alerts (what the Dismiss modal lists), oldest first."""
    q = (
        select(Alert.detail)
        .where(Alert.id.in_(list(alert_ids)), Alert.account_id == account_id)
        .order_by(Alert.id)
    )
    return [d for d in conn.execute(q).scalars() if d]


def load_card_alerts(
    conn: Connection, account_id: str, alert_ids: Sequence[int]
) -> list[AlertSnapshot]:
    """The alerts ``alert_ids`` as they stand; AlertNotFound if one is unknown or belongs to
    another account (a value that is not ours)."""
    wanted = list(dict.fromkeys(alert_ids))
    if not wanted:
        return []
    rows = conn.execute(
        select(
            Alert.id,
            Alert.account_id,
            Alert.signal,
            Alert.state,
            Alert.snooze_until,
            Alert.state_changed_by,
            Alert.state_changed_at,
        ).where(Alert.id.in_(wanted))
    ).all()
    found = {
        r.id: AlertSnapshot(
            r.id,
            r.account_id,
            r.signal,
            AlertState(r.state),
            r.snooze_until,
            r.state_changed_by,
            r.state_changed_at,
        )
        for r in rows
    }
    missing = [i for i in wanted if i not in found or found[i].account_id != account_id]
    if missing:
        raise AlertNotFound(f"no alert {missing[0]} on account {account_id}")
    return [found[i] for i in wanted]


def apply(
    conn: Connection,
    op: CardOp,
    account_id: str,
    alert_ids: Sequence[int],
    *,
    actor: str | None,
    now: datetime,
    until: datetime | None = None,
    reason: str | None = None,
) -> list[int]:
    """Done / snooze (until ``until``) / dismiss (with ``reason``) every alert of a card, all or
    nothing; returns the alert ids changed. CardChanged when the card is not as it was shown."""
    if op is CardOp.SNOOZE and (until is None or until <= now):
        raise ValueError("a snooze needs a time in the future")
    alerts = load_card_alerts(conn, account_id, alert_ids)
    stale = [a for a in alerts if not a.actionable(now)]
    if stale or not alerts:
        raise CardChanged(account_id, stale)
    try:
        for a in alerts:
            expect = (a.state,)
            if op is CardOp.DONE:
                triage.mark_done(conn, a.id, actor=actor, now=now, expect=expect)
            elif op is CardOp.SNOOZE:
                assert until is not None
                triage.snooze(conn, a.id, until, actor=actor, now=now, expect=expect)
            else:
                triage.dismiss(conn, a.id, actor=actor, now=now, reason=reason, expect=expect)
    except AlertStateConflict:
        # Someone acted between our read and our write: report the card as it stands now.
        raise CardChanged(
            account_id,
            [a for a in load_card_alerts(conn, account_id, alert_ids) if not a.actionable(now)],
        ) from None
    return [a.id for a in alerts]


def undo(
    conn: Connection,
    op: CardOp,
    account_id: str,
    alert_ids: Sequence[int],
    *,
    actor: str | None,
    now: datetime,
) -> list[int]:
    """Reopen exactly ``alert_ids``, which ``op`` moved (a snooze: "wake now"); all or nothing.
    CardChanged when one of them has moved on since."""
    target = op.state
    alerts = load_card_alerts(conn, account_id, alert_ids)
    stale = [a for a in alerts if a.state is not target]
    if stale or not alerts:
        raise CardChanged(account_id, stale)
    try:
        for a in alerts:
            triage.reopen(conn, a.id, actor=actor, now=now, expect=(target,))
    except AlertStateConflict:
        raise CardChanged(
            account_id,
            [a for a in load_card_alerts(conn, account_id, alert_ids) if a.state is not target],
        ) from None
    return [a.id for a in alerts]
