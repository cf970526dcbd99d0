"""Meeting prep: a brief for the account's next (or a given) meeting — who attends and their
roles, the open obligations (the stored queue, :func:`open_obligations`), recent activity,
health and pulses, and talking points derived from all of them.

Everything is read for the one account; the talking points are deterministic (the same data
always gives the same points). Pulse validity and health tiers follow the default rules
(followup-rules.md): an expired pulse is shown as expired, never used for divergence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, select

from bot.db import models as db
from bot.engine.overview import UnknownAccount
from bot.engine.results import iso_z
from bot.engine.rules import Rules
from bot.engine.summary.obligations import open_obligations
from bot.engine.summary.records import Obligation
from bot.engine.textfmt import plural

RECENT_DAYS = 30
RECENT_LIMIT = 10
MAX_TALKING_POINTS = 6
RENEWAL_SOON_DAYS = 90


_MEETING_COLUMNS = (
    db.Meeting.id,
    db.Meeting.account_id,
    db.Meeting.title,
    db.Meeting.starts_at,
    db.Meeting.ends_at,
    db.Meeting.attendees,
    db.Meeting.next_step,
    db.Meeting.action_items,
)


class UnknownMeeting(LookupError):
    """The meeting does not exist, or is not this account's."""


@dataclass(frozen=True, slots=True)
class Attendee:
    id: str
    name: str
    side: str  # "theirs" | "ours" | "unknown"
    title: str | None = None
    role: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "side": self.side,
            "title": self.title,
            "role": self.role,
        }

    def describe(self) -> str:
        what = ", ".join(p for p in (self.title, self.role) if p)
        side = {"theirs": "customer", "ours": "our team"}.get(self.side, "unknown")
        return f"{self.name} ({what + '; ' if what else ''}{side})"


@dataclass(frozen=True, slots=True)
class MeetingInfo:
    id: str
    title: str | None
    starts_at: datetime
    ends_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "starts_at": iso_z(self.starts_at),
            # data-format.md: a meeting with no end lasts an hour.
            "ends_at": iso_z(self.ends_at or self.starts_at + timedelta(hours=1)),
        }


@dataclass(frozen=True, slots=True)
class RecentActivity:
    id: str
    at: datetime
    kind: str
    direction: str
    subject: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso_z(self.at),
            "kind": self.kind,
            "direction": self.direction,
            "subject": self.subject,
        }


@dataclass(frozen=True, slots=True)
class PulseInfo:
    score: int | None
    at: datetime | None
    valid: bool
    note: str | None  # the CSM's note, or the AI's rationale

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "at": iso_z(self.at) if self.at else None,
            "valid": self.valid,
            "note": self.note,
        }


@dataclass(slots=True)
class Brief:
    account_id: str
    account_name: str
    csm_id: str | None
    csm_name: str | None
    generated_at: datetime
    meeting: MeetingInfo | None
    attendees: list[Attendee] = field(default_factory=list)
    obligations: list[Obligation] = field(default_factory=list)
    recent: list[RecentActivity] = field(default_factory=list)
    health: float | None = None
    health_prev: float | None = None
    health_tier: str | None = None
    csm_pulse: PulseInfo = field(default_factory=lambda: PulseInfo(None, None, False, None))
    ai_pulse: PulseInfo = field(default_factory=lambda: PulseInfo(None, None, False, None))
    divergent: bool | None = None
    renewal_date: str | None = None
    talking_points: list[str] = field(default_factory=list)

    @property
    def health_delta(self) -> float | None:
        if self.health is None or self.health_prev is None:
            return None
        return self.health - self.health_prev

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account_id,
            "account_name": self.account_name,
            "csm": self.csm_id,
            "generated_at": iso_z(self.generated_at),
            "meeting": self.meeting.to_json() if self.meeting else None,
            "attendees": [a.to_json() for a in self.attendees],
            "open_obligations": [
                {"text": o.text, "severity": o.severity, "lane": o.lane, "refs": list(o.refs)}
                for o in self.obligations
            ],
            "recent_activity": [a.to_json() for a in self.recent],
            "health": {
                "score": _num(self.health),
                "tier": self.health_tier,
                "delta": _num(self.health_delta),
            },
            "pulses": {
                "csm": self.csm_pulse.to_json(),
                "ai": self.ai_pulse.to_json(),
                "divergent": self.divergent,
            },
            "renewal_date": self.renewal_date,
            "talking_points": list(self.talking_points),
        }

    def to_text(self) -> str:
        out = [f"Meeting prep: {self.account_name} ({self.account_id})"]
        if self.meeting is not None:
            when = self.meeting.starts_at.strftime("%Y-%m-%d %H:%M UTC")
            out.append(f"Meeting: {self.meeting.title or 'untitled'} — {when} ({self.meeting.id})")
        else:
            out.append("Meeting: none scheduled")
        out.append("")
        out.append("Attendees:")
        out += [f"  - {a.describe()}" for a in self.attendees] or ["  (none listed)"]
        out.append("Open obligations:")
        out += [f"  - [{o.severity}] {o.text}" for o in self.obligations] or ["  (none)"]
        out.append(f"Recent activity (last {RECENT_DAYS} days):")
        out += [
            f"  - {a.at.date().isoformat()} {a.kind} {a.direction}"
            + (f": {a.subject}" if a.subject else "")
            for a in self.recent
        ] or ["  (none)"]
        out.append("Health and pulses:")
        out.append(f"  {self.health_line()}")
        out.append(f"  {self.pulse_line()}")
        out.append("Talking points:")
        out += [f"  - {t}" for t in self.talking_points] or ["  (none)"]
        return "\n".join(out)

    def health_line(self) -> str:
        if self.health is None:
            return "Health: no score yet"
        delta = self.health_delta
        change = f", {'+' if delta >= 0 else ''}{_num(delta)} since the previous" if delta else ""
        tier = (self.health_tier or "").replace("_", " ")
        return f"Health: {_num(self.health)} ({tier}{change})"

    def pulse_line(self) -> str:
        def one(name: str, p: PulseInfo) -> str:
            if p.score is None:
                return f"{name} Pulse: none"
            return f"{name} Pulse: {p.score}/10" + ("" if p.valid else " (expired)")

        text = f"{one('CSM', self.csm_pulse)} · {one('AI', self.ai_pulse)}"
        return text + (" · they disagree sharply" if self.divergent else "")


def _num(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 2)


def next_meeting(engine: Engine, account_id: str, now: datetime) -> str | None:
    m = db.Meeting
    with engine.connect() as conn:
        return conn.execute(
            select(m.id)
            .where(m.account_id == account_id, m.starts_at >= now, m.canceled.is_not(True))
            .order_by(m.starts_at, m.id)
            .limit(1)
        ).scalar()


def build_brief(
    engine: Engine,
    account_id: str,
    now: datetime,
    *,
    meeting_id: str | None = None,
    rules: Rules | None = None,
) -> Brief:
    """The brief for ``meeting_id`` (default: the account's next meeting, if any). Raises
    :class:`UnknownAccount` and :class:`UnknownMeeting`."""
    rules = rules or Rules()
    a = db.Account
    with engine.connect() as conn:
        acc = conn.execute(
            select(
                a.id,
                a.name,
                a.csm_id,
                db.User.name.label("csm_name"),
                a.renewal_date,
                a.csm_pulse_score,
                a.csm_pulse_set_at,
                a.csm_pulse_note,
                a.ai_pulse_score,
                a.ai_pulse_at,
                a.ai_pulse_rationale,
            )
            .outerjoin(db.User, db.User.id == a.csm_id)
            .where(a.id == account_id)
        ).first()
        if acc is None:
            raise UnknownAccount(account_id)
        if meeting_id is None:
            meeting_id = next_meeting(engine, account_id, now)
        meeting_row = None
        if meeting_id is not None:
            meeting_row = conn.execute(
                select(*_MEETING_COLUMNS).where(db.Meeting.id == meeting_id)
            ).first()
            if meeting_row is None or meeting_row.account_id != account_id:
                raise UnknownMeeting(
                    f"meeting '{meeting_id}' is not one of {acc.name}'s ({account_id}) meetings"
                )
        brief = Brief(
            account_id=acc.id,
            account_name=acc.name,
            csm_id=acc.csm_id,
            csm_name=acc.csm_name,
            generated_at=now,
            meeting=(
                MeetingInfo(
                    meeting_row.id, meeting_row.title, meeting_row.starts_at, meeting_row.ends_at
                )
                if meeting_row is not None
                else None
            ),
            renewal_date=acc.renewal_date.isoformat() if acc.renewal_date else None,
        )
        ct = db.Contact
        contacts = {
            c.id: c
            for c in conn.execute(
                select(ct.id, ct.name, ct.title, ct.role)
                .where(ct.account_id == account_id)
                .order_by(ct.id)
            )
        }
        wanted = [str(x) for x in (meeting_row.attendees or [])] if meeting_row else []
        users = {
            u.id: u
            for u in conn.execute(
                select(db.User.id, db.User.name, db.User.role).where(db.User.id.in_(wanted))
            )
        }
        if meeting_row is None:
            wanted = list(contacts)
        for pid in wanted:
            if pid in contacts:
                c = contacts[pid]
                brief.attendees.append(Attendee(c.id, c.name or c.id, "theirs", c.title, c.role))
            elif pid in users:
                u = users[pid]
                brief.attendees.append(Attendee(u.id, u.name, "ours", None, u.role))
            else:
                brief.attendees.append(Attendee(pid, pid, "unknown"))
        health = conn.execute(
            select(db.HealthScore.score)
            .where(db.HealthScore.account_id == account_id, db.HealthScore.at <= now)
            .order_by(db.HealthScore.at.desc())
            .limit(2)
        ).all()
        act = db.Activity
        brief.recent = [
            RecentActivity(r.id, r.at, r.kind, r.direction, r.subject)
            for r in conn.execute(
                select(act.id, act.at, act.kind, act.direction, act.subject)
                .where(
                    act.account_id == account_id,
                    act.at <= now,
                    act.at >= now - timedelta(days=RECENT_DAYS),
                )
                .order_by(act.at.desc(), act.id.desc())
                .limit(RECENT_LIMIT)
            )
        ]
        last_held = conn.execute(
            select(*_MEETING_COLUMNS)
            .where(
                db.Meeting.account_id == account_id,
                db.Meeting.starts_at < now,
                db.Meeting.canceled.is_not(True),
            )
            .order_by(db.Meeting.starts_at.desc())
            .limit(1)
        ).first()
    if health:
        brief.health = health[0][0]
        brief.health_tier = rules.health_tiers.tier(health[0][0])
        brief.health_prev = health[1][0] if len(health) > 1 else None
    csm_days = (
        rules.csm_pulse_extreme_valid_days
        if acc.csm_pulse_score in (1, 10)
        else rules.csm_pulse_valid_days
    )
    brief.csm_pulse = _pulse(
        acc.csm_pulse_score, acc.csm_pulse_set_at, acc.csm_pulse_note, csm_days, now
    )
    brief.ai_pulse = _pulse(
        acc.ai_pulse_score, acc.ai_pulse_at, acc.ai_pulse_rationale, rules.ai_pulse_valid_days, now
    )
    if brief.csm_pulse.valid and brief.ai_pulse.valid:
        assert brief.csm_pulse.score is not None and brief.ai_pulse.score is not None
        gap = abs(brief.csm_pulse.score - brief.ai_pulse.score)
        brief.divergent = gap >= rules.pulse_divergence_gap
    brief.obligations = open_obligations(engine, account_id, now)
    brief.talking_points = talking_points(brief, last_held, now)
    return brief


def _pulse(
    score: int | None, at: datetime | None, note: str | None, days: float, now: datetime
) -> PulseInfo:
    valid = score is not None and at is not None and at <= now and now - at <= timedelta(days=days)
    return PulseInfo(score, at, valid, note)


def talking_points(brief: Brief, last_held: Row[Any] | None, now: datetime) -> list[str]:
    """What to raise, most pressing first: what we owe them, last meeting's loose ends, news,
    risk, the renewal."""
    points: list[str] = []
    owe = [o for o in brief.obligations if o.lane == "owe_them_something"]
    news = [o for o in brief.obligations if o.lane == "bring_them_news"]
    for o in owe[:3]:
        points.append(f"Address first: {o.text.rstrip('.')}.")
    for o in news[:2]:
        points.append(f"Share the news: {o.text.rstrip('.')}.")
    if last_held is not None:
        when = last_held.starts_at.date().isoformat()
        if last_held.next_step:
            points.append(
                f"Follow up on the next step from {last_held.title or 'the last meeting'} "
                f"({when}): {last_held.next_step.rstrip('.')}."
            )
        open_items = [
            str(i.get("text"))
            for i in (last_held.action_items or [])
            if isinstance(i, dict) and i.get("text") and not i.get("done")
        ]
        if open_items:
            points.append(
                f"Review {plural(len(open_items), 'open action item')} from {when}: "
                + "; ".join(open_items[:3])
                + "."
            )
    delta = brief.health_delta
    health_owed = any(o.text.lower().startswith("health") for o in owe)
    if delta is not None and delta < 0 and not health_owed:
        points.append(
            f"Ask what changed: health fell {_num(-delta)} points to {_num(brief.health)}."
        )
    if brief.divergent:
        points.append(
            f"Gut-check the relationship: CSM Pulse {brief.csm_pulse.score} vs AI Pulse "
            f"{brief.ai_pulse.score}."
        )
    if brief.renewal_date is not None:
        days = (datetime.fromisoformat(brief.renewal_date).date() - now.date()).days
        if 0 <= days <= RENEWAL_SOON_DAYS:
            points.append(
                f"Renewal in {plural(days, 'day')} ({brief.renewal_date}): confirm plans."
            )
    if not points:
        points.append("Nothing is owed: use the time to learn their next goals.")
    return points[:MAX_TALKING_POINTS]
