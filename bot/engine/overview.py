"""Read models for the App Home: plain data, no Slack.

``snoozed_alerts`` lists a user's snoozed alerts with their wake times. The account summary's
read model is :mod:`bot.engine.summary`; :class:`UnknownAccount` is shared by both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, or_, select

from bot.db.models import Account, Alert, Org
from bot.engine.rules import Lane, Severity


class UnknownAccount(LookupError):
    """No account with that id."""


# ------------------------------------------------------------------------ snoozed


@dataclass(slots=True, frozen=True)
class SnoozedAlert:
    alert_id: int
    account_id: str
    account_name: str
    signal: str
    lane: Lane
    severity: Severity
    detail: str | None
    snooze_until: datetime


def snoozed_alerts(conn: Connection, user_id: str, now: datetime) -> list[SnoozedAlert]:
    """The alerts on ``user_id``'s accounts that are snoozed past ``now``, soonest wake first.

    The org's fallback CSM also gets those of accounts with no CSM.
    """
    fallback = conn.execute(select(Org.fallback_csm_id).order_by(Org.id).limit(1)).scalar()
    owner = Account.csm_id == user_id
    if fallback == user_id:
        owner = or_(owner, Account.csm_id.is_(None))
    rows = conn.execute(
        select(
            Alert.id,
            Alert.account_id,
            Account.name,
            Alert.signal,
            Alert.lane,
            Alert.severity,
            Alert.detail,
            Alert.snooze_until,
        )
        .join(Account, Account.id == Alert.account_id)
        .where(
            and_(
                owner,
                Alert.state == "snoozed",
                Alert.snooze_until.is_not(None),
                Alert.snooze_until > now,
                Alert.cleared_at.is_(None),
            )
        )
        .order_by(Alert.snooze_until, Account.name, Alert.id)
    ).all()
    out = []
    for alert_id, account_id, name, signal, lane, severity, detail, until in rows:
        if until is None:
            continue
        try:
            lane_v, sev_v = Lane(lane), Severity(severity)
        except ValueError:
            continue
        out.append(SnoozedAlert(alert_id, account_id, name, signal, lane_v, sev_v, detail, until))
    return out
