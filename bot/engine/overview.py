"""Read models for the account summary and the App Home: plain data, no Slack.

``account_overview`` gathers one account's facts, open obligations (open tasks, unreplied email
threads, open requests) and recent activity; ``snoozed_alerts`` lists a user's snoozed alerts
with their wake times. Both are a handful of SQLAlchemy Core selects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, and_, case, func, or_, select

from bot.db.models import (
    Account,
    Activity,
    Alert,
    Contact,
    EmailThread,
    HealthScore,
    Meeting,
    Org,
    Request,
    RequestAccount,
    Task,
    User,
)
from bot.engine.rules import Lane, Severity

RECENT_ACTIVITY = 8
SNIPPET_CHARS = 160
OPEN_ITEMS = 10
UPCOMING_MEETINGS = 3
UNREPLIED_LOOKBACK_DAYS = 30
UPCOMING_MEETING_DAYS = 30
CLOSED_REQUEST_STATUSES = ("shipped", "declined")
_PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
_IMPACT_RANK = {"high": 0, "medium": 1, "low": 2}


class UnknownAccount(LookupError):
    """No account with that id."""


@dataclass(slots=True, frozen=True)
class OpenTask:
    id: str
    title: str | None
    due_at: datetime | None
    priority: str
    overdue: bool


@dataclass(slots=True, frozen=True)
class UnrepliedThread:
    thread_key: str
    subject: str | None
    contact: str | None
    last_at: datetime
    messages: int
    waiting_since: datetime  # the first unreplied inbound message (else the latest)


@dataclass(slots=True, frozen=True)
class OpenRequest:
    id: str
    title: str | None
    impact: str | None
    status: str | None
    updated_at: datetime | None


@dataclass(slots=True, frozen=True)
class ActivityItem:
    id: str
    at: datetime
    kind: str
    direction: str
    subject: str | None
    outcome: str | None
    contact: str | None
    user: str | None
    snippet: str | None  # the start of the body (notes and calls rarely have a subject)


@dataclass(slots=True, frozen=True)
class UpcomingMeeting:
    id: str
    title: str | None
    starts_at: datetime


@dataclass(slots=True)
class AccountOverview:
    id: str
    name: str
    as_of: datetime
    crm_url: str | None
    csm_id: str | None
    csm_name: str | None
    mrr: float | None
    segment: str | None
    touch_policy: str
    status: str
    renewal_date: date | None
    health: float | None
    health_prev: float | None
    health_at: datetime | None
    csm_pulse: int | None
    csm_pulse_note: str | None
    ai_pulse: int | None
    ai_pulse_rationale: str | None
    open_tasks: list[OpenTask] = field(default_factory=list)
    open_tasks_total: int = 0
    unreplied_threads: list[UnrepliedThread] = field(default_factory=list)
    open_requests: list[OpenRequest] = field(default_factory=list)
    open_requests_total: int = 0
    recent_activity: list[ActivityItem] = field(default_factory=list)
    upcoming_meetings: list[UpcomingMeeting] = field(default_factory=list)

    @property
    def overdue_tasks(self) -> int:
        return sum(1 for t in self.open_tasks if t.overdue)

    @property
    def high_impact_requests(self) -> int:
        return sum(1 for r in self.open_requests if r.impact == "high")


def account_overview(conn: Connection, account_id: str, now: datetime) -> AccountOverview:
    """One account as of ``now``: facts, open obligations and the latest activities.

    Raises :class:`UnknownAccount` when there is no such account. Records dated after ``now``
    are left out (activities, health scores, emails), so an ``--as-of`` in the past reads as
    it was then, as far as the stored rows allow.
    """
    acc = conn.execute(
        select(
            Account.id,
            Account.name,
            Account.crm_url,
            Account.csm_id,
            User.name,
            Account.mrr,
            Account.segment,
            Account.touch_policy,
            Account.status,
            Account.renewal_date,
            Account.csm_pulse_score,
            Account.csm_pulse_note,
            Account.ai_pulse_score,
            Account.ai_pulse_rationale,
        )
        .outerjoin(User, User.id == Account.csm_id)
        .where(Account.id == account_id)
    ).first()
    if acc is None:
        raise UnknownAccount(account_id)

    health = conn.execute(
        select(HealthScore.score, HealthScore.at)
        .where(HealthScore.account_id == account_id, HealthScore.at <= now)
        .order_by(HealthScore.at.desc())
        .limit(2)
    ).all()

    overview = AccountOverview(
        id=acc[0],
        name=acc[1],
        as_of=now,
        crm_url=acc[2],
        csm_id=acc[3],
        csm_name=acc[4],
        mrr=acc[5],
        segment=acc[6],
        touch_policy=acc[7] or "standard",
        status=acc[8] or "active",
        renewal_date=acc[9],
        health=health[0][0] if health else None,
        health_prev=health[1][0] if len(health) > 1 else None,
        health_at=health[0][1] if health else None,
        csm_pulse=acc[10],
        csm_pulse_note=acc[11],
        ai_pulse=acc[12],
        ai_pulse_rationale=acc[13],
    )
    _open_tasks(conn, overview, now)
    _unreplied(conn, overview, now)
    _open_requests(conn, overview)
    _recent_activity(conn, overview, now)
    _upcoming(conn, overview, now)
    return overview


def _open_tasks(conn: Connection, ov: AccountOverview, now: datetime) -> None:
    rows = conn.execute(
        select(Task.id, Task.title, Task.due_at, Task.priority)
        .where(Task.account_id == ov.id, Task.status == "open")
        .order_by(
            case((Task.due_at.is_(None), 1), else_=0),
            Task.due_at,
            Task.id,
        )
    ).all()
    tasks = [
        OpenTask(
            id=tid,
            title=title,
            due_at=due,
            priority=priority or "normal",
            overdue=due is not None and due < now,
        )
        for tid, title, due, priority in rows
    ]
    # Overdue first (oldest due first), then by priority, then by due date.
    tasks.sort(
        key=lambda t: (
            not t.overdue,
            _PRIORITY_RANK.get(t.priority, 9) if not t.overdue else 0,
            t.due_at or datetime.max.replace(tzinfo=now.tzinfo),
        )
    )
    ov.open_tasks_total = len(tasks)
    ov.open_tasks = tasks[:OPEN_ITEMS]


def _unreplied(conn: Connection, ov: AccountOverview, now: datetime) -> None:
    rows = conn.execute(
        select(
            EmailThread.thread_key,
            EmailThread.subject,
            Contact.name,
            EmailThread.last_at,
            EmailThread.messages,
            EmailThread.first_unreplied_at,
        )
        .outerjoin(Contact, Contact.id == EmailThread.contact_id)
        .where(
            EmailThread.account_id == ov.id,
            EmailThread.last_direction == "inbound",
            EmailThread.last_at <= now,
            EmailThread.last_at > now - timedelta(days=UNREPLIED_LOOKBACK_DAYS),
        )
        .order_by(
            case(
                (EmailThread.first_unreplied_at.is_(None), EmailThread.last_at),
                else_=EmailThread.first_unreplied_at,
            ),
            EmailThread.thread_key,
        )
        .limit(OPEN_ITEMS)
    ).all()
    ov.unreplied_threads = [
        UnrepliedThread(
            thread_key=key,
            subject=subject,
            contact=contact,
            last_at=last_at,
            messages=messages or 0,
            waiting_since=first or last_at,
        )
        for key, subject, contact, last_at, messages, first in rows
    ]


def _open_requests(conn: Connection, ov: AccountOverview) -> None:
    rows = conn.execute(
        select(Request.id, Request.title, Request.impact, Request.status, Request.updated_at)
        .join(RequestAccount, RequestAccount.request_id == Request.id)
        .where(
            RequestAccount.account_id == ov.id,
            or_(Request.status.is_(None), Request.status.not_in(CLOSED_REQUEST_STATUSES)),
        )
        .order_by(Request.id)
    ).all()
    requests = [OpenRequest(*row) for row in rows]
    requests.sort(key=lambda r: (_IMPACT_RANK.get(r.impact or "", 9), r.title or "", r.id))
    ov.open_requests_total = len(requests)
    ov.open_requests = requests[:OPEN_ITEMS]


def _recent_activity(conn: Connection, ov: AccountOverview, now: datetime) -> None:
    rows = conn.execute(
        select(
            Activity.id,
            Activity.at,
            Activity.kind,
            Activity.direction,
            Activity.subject,
            Activity.outcome,
            Contact.name,
            User.name,
            func.substr(Activity.body, 1, SNIPPET_CHARS),
        )
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .outerjoin(User, User.id == Activity.user_id)
        .where(Activity.account_id == ov.id, Activity.at <= now)
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(RECENT_ACTIVITY)
    ).all()
    ov.recent_activity = [
        ActivityItem(
            id=aid,
            at=at,
            kind=kind,
            direction=direction,
            subject=subject,
            outcome=outcome,
            contact=contact,
            user=user,
            snippet=" ".join(body.split()) if body else None,
        )
        for aid, at, kind, direction, subject, outcome, contact, user, body in rows
    ]


def _upcoming(conn: Connection, ov: AccountOverview, now: datetime) -> None:
    rows = conn.execute(
        select(Meeting.id, Meeting.title, Meeting.starts_at)
        .where(
            Meeting.account_id == ov.id,
            Meeting.starts_at > now,
            Meeting.starts_at <= now + timedelta(days=UPCOMING_MEETING_DAYS),
            or_(Meeting.canceled.is_(None), Meeting.canceled.is_(False)),
        )
        .order_by(Meeting.starts_at)
        .limit(UPCOMING_MEETINGS)
    ).all()
    ov.upcoming_meetings = [UpcomingMeeting(*row) for row in rows]


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
