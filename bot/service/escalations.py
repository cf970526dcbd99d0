"""Escalations and snooze wake-ups (followup-rules.md "Escalation", "Alert lifecycle"), three
round jobs (:mod:`bot.service.rounds`) and the use cases behind an escalation's buttons.

* :func:`escalate_due` — a ``critical`` alert neither done, dismissed nor snoozed for
  ``escalate_after_business_hours`` (business time in the CSM's zone, from ``first_critical_at``,
  which a snooze moves on by the time it paused), or a health tier drop at once, is escalated
  once: one :class:`~bot.db.models.Escalation` row (unique per alert), one outbox message per
  recipient (key ``escalation:ALERT_ID[:USER]``) and ``alerts.escalated_at``, in one
  transaction. Recipients: the org's ``escalation_channel`` if set, else the DM of the CSM's
  manager (the user's ``manager``, else their team's); an account with no CSM goes to the org's
  ``fallback_csm``; with nobody of those, to every admin. Only alerts on a stored card (the
  queue of the round's sweep) are escalated: excluded, churned and inactive accounts never are.
  Which alerts are due is one query (:mod:`bot.service.escalation_scan`).
* :func:`remind_due` — an escalation nobody acknowledged gets one reminder in the thread of each
  of its posts ``escalation_reminder_business_hours`` after the post went out (not while its
  alert is done, dismissed, snoozed or no longer firing).
* :func:`tell_wakeups` — alerts whose snooze ended (the round's sweep reopened them and their
  card is back in the queue) are told to their card's owner: one DM per owner per round, keyed
  by the owner and the woken alert ids.

Everything sent goes through the outbox (exactly once); a recipient with no Slack user or a
channel the bot is not in fails there, with the error in the round's report and the audit log.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, insert, or_, select, update

from bot.blocks.messages import (
    EscalationStatus,
    account_moved_message,
    escalation_message,
    escalation_reminder_message,
    nudge_message,
    wakeup_message,
)
from bot.blocks.values import EscalationRef
from bot.db.models import Account, Alert, AuditLog, Escalation, OutboxMessage, QueueCard
from bot.db.upsert import insert_ignore
from bot.engine.alerts import AlertState
from bot.engine.business_time import business_hours_between
from bot.engine.facts import UserFacts
from bot.engine.results import Card
from bot.service.escalation_scan import Due, due_escalations, rules_for, zone_for
from bot.service.outbox import Kind, Message, enqueue
from bot.service.people import People, load_people

ESCALATIONS_TABLE = cast(Table, Escalation.__table__)
ADMIN = "admin"


# ------------------------------------------------------------------ who gets it


@dataclass(frozen=True, slots=True)
class Route:
    """Where an escalation goes: a channel, or users' DMs (never both)."""

    channel: str | None
    users: tuple[str, ...]

    @property
    def recipients(self) -> list[str]:
        return [self.channel] if self.channel else list(self.users)


def route(people: People, csm_id: str | None) -> Route:
    """The org's escalation channel; else the CSM's manager; else (no CSM, or a CSM nobody
    manages) the fallback CSM; else every admin."""
    if people.org.escalation_channel:
        return Route(people.org.escalation_channel, ())
    csm = people.get(csm_id)
    if csm is not None and csm.manager_id and csm.manager_id != csm.id:
        return Route(None, (csm.manager_id,))
    fallback = people.org.fallback_csm_id
    if csm is None and fallback and fallback in people.users:
        return Route(None, (fallback,))
    admins = sorted(u.id for u in people.users.values() if u.role == ADMIN and u.active)
    return Route(None, tuple(admins))


def responsible(people: People, csm_id: str | None) -> UserFacts | None:
    """Whom a channel escalation mentions: the CSM's manager (None when nobody manages them)."""
    csm = people.get(csm_id)
    return people.get(csm.manager_id) if csm is not None else None


def may_handle(people: People, caller: UserFacts, csm_id: str | None) -> bool:
    """Who may Acknowledge, Reassign or Nudge: an admin, the manager of the account's CSM, or
    (an account with no CSM) the fallback CSM who received it."""
    if caller.role == ADMIN:
        return True
    csm = people.get(csm_id)
    if csm is not None:
        return csm.manager_id == caller.id and csm.id != caller.id
    return people.org.fallback_csm_id == caller.id


# ------------------------------------------------------------------ escalating


@dataclass(slots=True)
class EscalationReport:
    escalated: list[str] = field(default_factory=list)  # "Globex (alert 12) → #esc"
    reminded: list[str] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)  # "u-ana: 3 back"

    def lines(self) -> list[str]:
        out = [f"Escalations: {len(self.escalated)} sent, {len(self.reminded)} reminders"]
        out += [f"  escalated {line}" for line in self.escalated]
        out += [f"  reminded {line}" for line in self.reminded]
        out.append(f"Wake-ups: {len(self.woken)} DMs")
        out += [f"  {line}" for line in self.woken]
        return out


def _stored_cards(conn: Connection, account_ids: Sequence[str]) -> dict[str, Card]:
    found: dict[str, Card] = {}
    for start in range(0, len(account_ids), 500):
        part = list(account_ids[start : start + 500])
        for account_id, data in conn.execute(
            select(QueueCard.account_id, QueueCard.card).where(QueueCard.account_id.in_(part))
        ):
            found[account_id] = Card.from_stored(cast(dict[str, Any], data))
    return found


def _only_alert(card: Card, alert_id: int) -> Card:
    """``card`` as the escalation shows it: every reason, the escalated one first."""
    first = [r for r in card.reasons if card.alert_ids.get(r.key_part) == alert_id]
    rest = [r for r in card.reasons if card.alert_ids.get(r.key_part) != alert_id]
    return replace(card, reasons=first + rest)


def render(
    people: People,
    esc: Any,
    now: datetime,
    *,
    recipient: str | None,
) -> Any:
    """The escalation message for ``recipient`` (a user id; None: the channel post)."""
    card = Card.from_stored(cast(dict[str, Any], esc.card))
    csm = people.get(esc.csm_id)
    to = people.get(recipient) if recipient else responsible(people, esc.csm_id)
    names = people.names()
    status = EscalationStatus(
        acknowledged_by=names.get(esc.acknowledged_by, esc.acknowledged_by)
        if esc.acknowledged_by
        else None,
        acknowledged_at=esc.acknowledged_at,
        reassigned_to=names.get(esc.reassigned_to, esc.reassigned_to)
        if esc.reassigned_to
        else None,
        reassigned_by=names.get(esc.reassigned_by, esc.reassigned_by)
        if esc.reassigned_by
        else None,
    )
    return escalation_message(
        card,
        csm.name if csm is not None else "No CSM",
        to,
        channel=None if recipient else (esc.recipients[0] if esc.recipients else None),
        now=now,
        ref=EscalationRef(escalation=esc.id),
        status=status,
        has_csm=csm is not None,
    )


def escalation_keys(alert_id: int, r: Route) -> list[tuple[str, str | None]]:
    """(outbox key, recipient user id or None for the channel) of each message."""
    if r.channel:
        return [(f"escalation:{alert_id}", None)]
    return [(f"escalation:{alert_id}:{user}", user) for user in r.users]


def escalate_due(engine: Engine, now: datetime, report: EscalationReport) -> None:
    """Escalate every alert due at ``now``, once (see the module docstring)."""
    with engine.begin() as conn:
        people = load_people(conn)
        due = due_escalations(conn, people, now)
        cards = _stored_cards(conn, sorted({d.account_id for d in due}))
        for d in due:
            card = cards.get(d.account_id)
            if card is None or d.alert_id not in card.alert_ids.values():
                continue  # not in the queue (excluded, churned…): never escalated
            _escalate_one(conn, people, d, _only_alert(card, d.alert_id), now, report)


def _escalate_one(
    conn: Connection, people: People, d: Due, card: Card, now: datetime, report: EscalationReport
) -> None:
    r = route(people, d.csm_id)
    keys = escalation_keys(d.alert_id, r)
    esc_id = insert_ignore(
        conn,
        ESCALATIONS_TABLE,
        {
            "alert_id": d.alert_id,
            "account_id": d.account_id,
            "csm_id": d.csm_id,
            "reason": d.reason,
            "recipients": r.recipients,
            "messages": [k for k, _ in keys],
            "card": card.to_stored(),
            "created_at": now,
        },
        ("alert_id",),
        returning=ESCALATIONS_TABLE.c.id,
    )
    taken = conn.execute(
        update(Alert)
        .where(Alert.id == d.alert_id, Alert.escalated_at.is_(None))
        .values(escalated_at=now)
    )
    if esc_id is None or taken.rowcount == 0:
        return  # another round escalated it
    esc = conn.execute(select(Escalation.__table__).where(Escalation.id == esc_id)).one()
    where = r.channel or ", ".join(r.users) or "nobody"
    if not keys:
        conn.execute(
            insert(AuditLog).values(
                at=now,
                actor="bot",
                action="escalation.undeliverable",
                subject=f"alert:{d.alert_id}",
                details={"error": "no escalation channel, manager, fallback CSM or admin"},
            )
        )
    for key, user in keys:
        message = render(people, esc, now, recipient=user)
        enqueue(
            conn,
            Message(
                key,
                Kind.DM if user else Kind.POST,
                user or (r.channel or ""),
                message.to_dict(),
                subject=f"escalation:{esc_id}",
            ),
            now,
        )
    conn.execute(
        insert(AuditLog).values(
            at=now,
            actor="bot",
            action="escalation.sent",
            subject=f"alert:{d.alert_id}",
            details={"escalation": esc_id, "reason": d.reason, "to": r.recipients},
        )
    )
    report.escalated.append(f"{card.account_name} (alert {d.alert_id}) → {where}")


# ------------------------------------------------------------------ the reminder


def remind_due(engine: Engine, now: datetime, report: EscalationReport) -> None:
    """Queue the one reminder of each escalation nobody acknowledged in time."""
    with engine.begin() as conn:
        people = load_people(conn)
        # Only while the alert is still open: a follow-up the CSM handled (done, dismissed,
        # snoozed, or no longer firing) needs no reminder.
        waiting = list(
            conn.execute(
                select(Escalation.__table__)
                .join(Alert, Alert.id == Escalation.alert_id)
                .where(
                    Escalation.acknowledged_at.is_(None),
                    Escalation.reminded_at.is_(None),
                    Alert.state == AlertState.OPEN.value,
                    Alert.cleared_at.is_(None),
                )
            )
        )
        for esc in waiting:
            keys = list(esc.messages or [])
            posts = list(
                conn.execute(
                    select(
                        OutboxMessage.key,
                        OutboxMessage.target,
                        OutboxMessage.kind,
                        OutboxMessage.channel,
                        OutboxMessage.ts,
                        OutboxMessage.sent_at,
                    ).where(
                        OutboxMessage.key.in_(keys),
                        OutboxMessage.status == "sent",
                        OutboxMessage.ts.is_not(None),
                    )
                )
            )
            if not posts:
                continue
            hours = rules_for(people, esc.csm_id).escalation_reminder_business_hours
            sent_at = min(p.sent_at for p in posts)
            waited = business_hours_between(
                sent_at, now, zone_for(people, esc.csm_id), people.org.business_hours, cap=hours + 1
            )
            if waited < hours:
                continue
            claimed = conn.execute(
                update(Escalation)
                .where(Escalation.id == esc.id, Escalation.reminded_at.is_(None))
                .where(Escalation.acknowledged_at.is_(None))
                .values(reminded_at=now)
            )
            if claimed.rowcount != 1:
                continue
            card = Card.from_stored(cast(dict[str, Any], esc.card))
            csm = people.get(esc.csm_id)
            for post in posts:
                to = people.get(post.target) if post.kind == Kind.DM.value else None
                if to is None and post.kind == Kind.POST.value:
                    to = responsible(people, esc.csm_id)
                message = escalation_reminder_message(
                    card.account_name, csm.name if csm is not None else "no CSM", to, hours
                )
                enqueue(
                    conn,
                    Message(
                        f"escalation-reminder:{esc.id}:{post.key}",
                        Kind.POST,
                        post.channel,
                        {**message.to_dict(), "thread_ts": post.ts},
                        subject=f"escalation:{esc.id}",
                    ),
                    now,
                )
            report.reminded.append(f"{card.account_name} (escalation {esc.id})")


# ------------------------------------------------------------------ snooze wake-ups


def tell_wakeups(engine: Engine, now: datetime, report: EscalationReport) -> None:
    """One DM per card owner for the alerts whose snooze ended and that are back on a card."""
    with engine.begin() as conn:
        people = load_people(conn)
        rows = list(
            conn.execute(
                select(Alert.id, Alert.account_id, Account.name, Account.csm_id)
                .join(Account, Account.id == Alert.account_id)
                .where(
                    Alert.state == AlertState.OPEN.value,
                    Alert.snooze_until.is_not(None),
                    Alert.snooze_until <= now,
                    Alert.cleared_at.is_(None),
                    or_(Alert.wake_told_at.is_(None), Alert.wake_told_at < Alert.snooze_until),
                )
                .order_by(Alert.id)
            )
        )
        by_owner: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            owner = people.owner_id(row.csm_id)
            if owner is not None:
                by_owner[owner].append(row)
        for owner, woken in sorted(by_owner.items()):
            ids = [w.id for w in woken]
            digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:24]
            names = list(dict.fromkeys(w.name for w in woken))
            message = wakeup_message(names, len(ids))
            enqueue(
                conn,
                Message(
                    f"wakeup:{owner}:{digest}",
                    Kind.DM,
                    owner,
                    message.to_dict(),
                    subject=f"wakeup:{owner}",
                ),
                now,
            )
            conn.execute(update(Alert).where(Alert.id.in_(ids)).values(wake_told_at=now))
            report.woken.append(f"{owner}: {len(ids)} back")


# ------------------------------------------------------------------ the buttons


class EscalationGone(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Handled:
    """A click's outcome: what to tell the clicker, and the outbox keys to send now."""

    text: str
    keys: tuple[str, ...] = ()


def escalation_row(conn: Connection, escalation_id: int) -> Any:
    row = conn.execute(select(Escalation.__table__).where(Escalation.id == escalation_id)).first()
    if row is None:
        raise EscalationGone(f"no escalation {escalation_id}")
    return row


def escalation_account(conn: Connection, escalation_id: int) -> str:
    return str(escalation_row(conn, escalation_id).account_id)


def acknowledge(engine: Engine, escalation_id: int, actor: str, now: datetime) -> Handled:
    """Record who acknowledged it (once); its reminder will not be sent."""
    with engine.begin() as conn:
        esc = escalation_row(conn, escalation_id)
        done = conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id, Escalation.acknowledged_at.is_(None))
            .values(acknowledged_by=actor, acknowledged_at=now)
        )
        if done.rowcount != 1:
            people = load_people(conn)
            who = people.names().get(esc.acknowledged_by, esc.acknowledged_by)
            return Handled(f"{who} already acknowledged this escalation.")
        conn.execute(
            insert(AuditLog).values(
                at=now,
                actor=actor,
                action="escalation.acknowledged",
                subject=f"escalation:{escalation_id}",
                details={"alert": esc.alert_id, "account": esc.account_id},
            )
        )
    return Handled("Acknowledged — no reminder will follow.")


def team_csms(people: People, csm_id: str | None) -> list[tuple[str, str]]:
    """The CSMs a Reassign may pick: the current CSM's team's (everyone's when they have no
    team), active, by name."""
    csm = people.get(csm_id)
    team = csm.team_id if csm is not None else None
    found = [
        (u.id, u.name)
        for u in people.users.values()
        if u.active and u.role == "csm" and (team is None or u.team_id == team)
    ]
    return sorted(found, key=lambda p: (p[1].lower(), p[0]))


def reassign(
    engine: Engine, escalation_id: int, new_csm: str, actor: str, now: datetime
) -> Handled:
    """Move the escalated account to ``new_csm`` (one of the team's CSMs); both CSMs are told
    through the outbox; audited."""
    with engine.begin() as conn:
        people = load_people(conn)
        esc = escalation_row(conn, escalation_id)
        current = conn.execute(
            select(Account.csm_id, Account.name).where(Account.id == esc.account_id)
        ).one()
        allowed = {u for u, _ in team_csms(people, esc.csm_id)}
        if new_csm not in allowed:
            return Handled("Pick one of the team's CSMs — nothing was changed.")
        if current.csm_id == new_csm:
            return Handled(f"{people.names()[new_csm]} already owns {current.name}.")
        conn.execute(update(Account).where(Account.id == esc.account_id).values(csm_id=new_csm))
        conn.execute(
            update(Escalation)
            .where(Escalation.id == escalation_id)
            .values(reassigned_to=new_csm, reassigned_by=actor)
        )
        conn.execute(
            insert(AuditLog).values(
                at=now,
                actor=actor,
                action="account.reassigned",
                subject=f"account:{esc.account_id}",
                details={"from": current.csm_id, "to": new_csm, "escalation": escalation_id},
            )
        )
        names = people.names()
        by = names.get(actor, actor)
        keys = []
        for user, to_you in ((new_csm, True), (current.csm_id, False)):
            if user is None:
                continue
            message = account_moved_message(
                current.name,
                to_name=names[new_csm],
                from_name=names.get(current.csm_id) if current.csm_id else None,
                by=by,
                to_you=to_you,
            )
            key = f"reassigned:{escalation_id}:{new_csm}:{user}"
            enqueue(
                conn,
                Message(key, Kind.DM, user, message.to_dict(), subject=f"escalation:{esc.id}"),
                now,
            )
            keys.append(key)
    return Handled(f"{current.name} now belongs to {names[new_csm]}; both were told.", tuple(keys))


def nudge(engine: Engine, escalation_id: int, actor: str, click_key: str, now: datetime) -> Handled:
    """A DM to the account's CSM (now), once per click."""
    with engine.begin() as conn:
        people = load_people(conn)
        esc = escalation_row(conn, escalation_id)
        csm_id = conn.execute(select(Account.csm_id).where(Account.id == esc.account_id)).scalar()
        csm = people.get(csm_id)
        if csm is None:
            return Handled("This account has no CSM to nudge — reassign it instead.")
        card = Card.from_stored(cast(dict[str, Any], esc.card))
        detail = card.reasons[0].detail if card.reasons else None
        message = nudge_message(card.account_name, people.names().get(actor, actor), detail)
        key = f"nudge:{escalation_id}:{click_key}"[:300]
        added = enqueue(
            conn,
            Message(key, Kind.DM, csm.id, message.to_dict(), subject=f"escalation:{esc.id}"),
            now,
        )
        if added:
            conn.execute(
                insert(AuditLog).values(
                    at=now,
                    actor=actor,
                    action="escalation.nudged",
                    subject=f"escalation:{escalation_id}",
                    details={"csm": csm.id},
                )
            )
    return Handled(f"Nudged {csm.name}.", (key,))


def posted_messages(engine: Engine, escalation_id: int) -> list[tuple[str | None, str, str]]:
    """(recipient user id or None for the channel, channel, ts) of the escalation's posts."""
    with engine.connect() as conn:
        esc = escalation_row(conn, escalation_id)
        rows = conn.execute(
            select(
                OutboxMessage.kind, OutboxMessage.target, OutboxMessage.channel, OutboxMessage.ts
            )
            .where(OutboxMessage.key.in_(list(esc.messages or [])), OutboxMessage.ts.is_not(None))
            .order_by(OutboxMessage.id)
        )
        return [
            (r.target if r.kind == Kind.DM.value else None, str(r.channel), str(r.ts)) for r in rows
        ]


def rendered(engine: Engine, escalation_id: int, recipient: str | None, now: datetime) -> Any:
    with engine.connect() as conn:
        people = load_people(conn)
        esc = escalation_row(conn, escalation_id)
        return render(people, esc, now, recipient=recipient)
