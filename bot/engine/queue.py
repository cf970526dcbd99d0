"""The stored queue (followup-rules.md "Surfaces"): what the last recording sweep found.

A recording sweep replaces the stored card of every account it looked at (:func:`store_queue`):
the flagged ones get their card, the others lose theirs. Every surface then renders from these
cards plus the alerts' current states (:func:`load_queue`, :func:`with_states`) — a click never
sweeps. A reason whose alert was done, dismissed or snoozed since is left out of its card, and a
card with no reason left is out of the queue (the daily DM shows it collapsed instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, or_, select

from bot.db.bulk import chunks, many_chunks, member_of_many
from bot.db.models import Account, Alert, Exclusion, QueueCard, SweepRun
from bot.db.upsert import dialect_insert
from bot.engine.alerts import AlertState, shows
from bot.engine.facts import NEVER_FLAGGED_STATUSES, OrgFacts
from bot.engine.results import Card

QUEUE_TABLE = cast(Table, QueueCard.__table__)


def card_rank(card: Card) -> tuple[int, float, str, str]:
    """The order of every card list: lane, then action score (highest first), then name."""
    return (card.lane.order, -card.action_score, card.account_name.lower(), card.account)


def card_owner_id(csm_id: str | None, fallback_csm_id: str | None) -> str | None:
    """Whose queue an account's card is in: its CSM, else the org's fallback CSM."""
    return csm_id if csm_id is not None else fallback_csm_id


# ----------------------------------------------------------------------- writing


def store_queue(
    conn: Connection,
    cards: Sequence[Card],
    *,
    as_of: datetime,
    scope_ids: Iterable[str] | None,
    fallback_csm_id: str | None,
) -> None:
    """Replace the stored cards of the accounts a recording sweep looked at (``scope_ids``; None:
    every account) with ``cards``, the flagged ones among them.

    A sweep of some accounts (an incremental sweep, a Refresh) upserts its cards — one that
    stays is rewritten in place: deleted and inserted again it would move to the end of the
    table and change both its indexes, twice the pages written — and deletes the others'."""
    rows = [
        {
            "account_id": card.account,
            "owner_id": card_owner_id(card.csm, fallback_csm_id),
            "lane": card.lane.value,
            "severity": card.severity.value,
            "action_score": card.action_score,
            "as_of": as_of,
            "card": card.to_stored(),
        }
        for card in cards
    ]
    if scope_ids is None:
        conn.execute(delete(QueueCard))
        for start in range(0, len(rows), 2_000):
            conn.execute(QUEUE_TABLE.insert(), rows[start : start + 2_000])
        return
    flagged = {card.account for card in cards}
    gone = sorted(set(scope_ids) - flagged)
    for part in many_chunks(conn, gone):
        where = member_of_many(conn, QueueCard.account_id, part, any_length=True)
        conn.execute(delete(QueueCard).where(where))
    if rows:
        conn.execute(_upsert(conn), rows)


def _upsert(conn: Connection) -> Any:
    stmt = dialect_insert(conn, QUEUE_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={c: stmt.excluded[c] for c in _REWRITTEN},
    )


_REWRITTEN = ("owner_id", "lane", "severity", "action_score", "as_of", "card")


# ----------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as a surface needs it: its state, and who moved it there when."""

    id: int
    state: AlertState
    snooze_until: datetime | None
    changed_by: str | None
    changed_at: datetime | None

    def shows(self, now: datetime) -> bool:
        return shows(self.state, self.snooze_until, now)


def alert_views(conn: Connection, alert_ids: Iterable[int]) -> dict[int, AlertView]:
    wanted = sorted(set(alert_ids))
    found: dict[int, AlertView] = {}
    for part in chunks(wanted):
        for row in conn.execute(
            select(
                Alert.id,
                Alert.state,
                Alert.snooze_until,
                Alert.state_changed_by,
                Alert.state_changed_at,
            ).where(Alert.id.in_(part))
        ):
            found[row.id] = AlertView(
                row.id,
                AlertState(row.state),
                row.snooze_until,
                row.state_changed_by,
                row.state_changed_at,
            )
    return found


def card_alert_ids(cards: Iterable[Card]) -> list[int]:
    return [i for card in cards for i in card.alert_ids.values()]


def with_states(card: Card, alerts: Mapping[int, AlertView], now: datetime) -> Card | None:
    """``card`` with only the reasons whose alert is on it at ``now`` (open, or snoozed past its
    wake time); None when none is left. A reason whose alert is gone (never stored) stays."""
    kept = []
    for reason in card.reasons:
        alert_id = card.alert_ids.get(reason.key_part)
        alert = alerts.get(alert_id) if alert_id is not None else None
        if alert is None or alert.shows(now):
            kept.append(reason)
    if not kept:
        return None
    if len(kept) == len(card.reasons):
        return card
    return replace(
        card,
        reasons=kept,
        severity=max((r.severity for r in kept), key=lambda s: s.rank),
        alert_ids={
            r.key_part: card.alert_ids[r.key_part] for r in kept if r.key_part in card.alert_ids
        },
    )


@dataclass(frozen=True, slots=True)
class QueueView:
    """A reader's queue now: their stored cards (ranked, each with the reasons still on it) and
    the time of the sweep they come from (None: never swept)."""

    as_of: datetime | None
    cards: list[Card]


def _excluded(conn: Connection, today: date) -> set[str]:
    return {
        account
        for account, until in conn.execute(select(Exclusion.account_id, Exclusion.until))
        if until is None or until >= today
    }


def load_queue(
    conn: Connection, org: OrgFacts, owner_id: str | None, now: datetime, today: date
) -> QueueView:
    """The stored queue of ``owner_id`` (None: everyone's) at ``now``, as of the latest of its
    cards' sweeps and the last whole sweep (:func:`queue_as_of`): the cards of the accounts
    they own now (an account moved to another CSM since the sweep moves with its card), less
    excluded, churned and inactive accounts, each with the reasons still on it."""
    q = (
        select(QueueCard.card, QueueCard.as_of)
        .join(Account, Account.id == QueueCard.account_id)
        .where(or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)))
    )
    if owner_id is not None:
        if org.fallback_csm_id == owner_id:
            q = q.where(or_(Account.csm_id == owner_id, Account.csm_id.is_(None)))
        else:
            q = q.where(Account.csm_id == owner_id)
    excluded = _excluded(conn, today)
    stored: list[Card] = []
    as_of: datetime | None = None
    for data, card_as_of in conn.execute(q):
        card = Card.from_stored(cast(dict[str, Any], data))
        if card.account in excluded:
            continue
        stored.append(card)
        as_of = card_as_of if as_of is None else max(as_of, card_as_of)
    as_of = _latest(as_of, queue_as_of(conn))
    alerts = alert_views(conn, card_alert_ids(stored))
    cards = [c for c in (with_states(card, alerts, now) for card in stored) if c is not None]
    cards.sort(key=card_rank)
    return QueueView(as_of, cards)


def queue_as_of(conn: Connection) -> datetime | None:
    """When the latest sweep that vouches for the whole stored queue (a full or an incremental
    one) ran; before any, the latest recording sweep of any scope."""
    whole = conn.execute(select(func.max(SweepRun.as_of)).where(SweepRun.whole.is_(True))).scalar()
    if whole is not None:
        return whole
    return conn.execute(select(func.max(SweepRun.as_of))).scalar()


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def stored_card(conn: Connection, account_id: str) -> Card | None:
    """The stored card of one account (its reasons as the sweep found them), if it has one."""
    data = conn.execute(select(QueueCard.card).where(QueueCard.account_id == account_id)).scalar()
    return Card.from_stored(cast(dict[str, Any], data)) if data is not None else None
