"""Load what the sweep needs, for every account in scope, with a fixed number of set-based
queries (never a query per account).

Activity history is read only through the rollups (``account_rollups``, ``email_threads``,
``requests.last_activity_at``). An account whose newest data lies after ``now`` (a sweep
``--as-of`` in the past) is folded from its raw rows up to ``now`` instead, so results never
depend on data from the future.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on

from bot.db.bulk import id_chunks, many_chunks, member_of, member_of_many
from bot.db.models import (
    Account,
    AccountRollup,
    Activity,
    Contact,
    EmailThread,
    Exclusion,
    Meeting,
    Org,
    Request,
    RequestAccount,
    Task,
    Team,
    User,
)
from bot.engine.business_time import BusinessHours, local_date
from bot.engine.rollups import (
    ROLLUP_COLUMNS,
    Rollup,
    ThreadState,
    load_folds,
    request_activity_until,
)
from bot.engine.rules import Rules, RulesBook

NEVER_FLAGGED_STATUSES = ("churned", "inactive")


@dataclass(slots=True)
class OrgFacts:
    name: str
    timezone: str
    business_hours: BusinessHours
    rules: RulesBook
    fallback_csm_id: str | None
    digest: dict[str, Any]
    automation_level: str
    escalation_channel: str | None
    approvals_channel: str | None
    specialists_channel: str | None = None


@dataclass(slots=True)
class UserFacts:
    id: str
    name: str
    email: str | None
    slack_user_id: str | None
    role: str
    team_id: str | None
    manager_id: str | None
    timezone: str
    active: bool
    digest: dict[str, Any]


@dataclass(slots=True)
class TaskFact:
    id: str
    title: str | None
    due_at: datetime | None
    priority: str
    status: str
    completed_at: datetime | None
    request_id: str | None
    auto_created: bool


@dataclass(slots=True)
class MeetingFact:
    id: str
    title: str | None
    starts_at: datetime
    ends_at: datetime
    next_step: str | None
    action_items: list[dict[str, Any]]
    has_linked_note: bool = False


@dataclass(slots=True)
class RequestFact:
    id: str
    title: str | None
    impact: str | None
    status: str | None
    created_at: datetime | None
    updated_at: datetime | None
    shipped_at: datetime | None
    discussed_at: datetime | None
    last_activity_at: datetime | None
    activity_ahead: bool = False  # a linked activity after ``now`` (not in last_activity_at)


@dataclass(slots=True)
class AccountFacts:
    id: str
    name: str
    mrr: float | None
    segment: str | None
    touch_policy: str
    status: str
    csm_id: str | None
    team_id: str | None
    timezone: str
    created_at: datetime | None
    renewal_date: date | None
    crm_url: str | None
    csm_pulse: tuple[int, datetime] | None
    ai_pulse: tuple[int, datetime] | None
    blocker: str | None
    rollup: Rollup
    last_meeting: tuple[datetime, str] | None = None  # latest meeting record that took place
    threads: list[ThreadState] = field(default_factory=list)  # last message inbound
    tasks: list[TaskFact] = field(default_factory=list)  # overdue + done auto-created ones
    meetings: list[MeetingFact] = field(default_factory=list)  # recent held, open items
    requests: list[RequestFact] = field(default_factory=list)
    contact_names: dict[str, str] = field(default_factory=dict)
    next_meeting_at: datetime | None = None  # the next meeting ahead (not canceled)
    has_task_ahead: bool = False  # an open task due after now
    next_task_due_at: datetime | None = None  # the earliest of those


@dataclass(slots=True)
class Portfolio:
    now: datetime
    org: OrgFacts
    users: dict[str, UserFacts]
    accounts: list[AccountFacts]

    def rules_for(self, account: AccountFacts) -> Rules:
        return self.org.rules.for_team(account.team_id)


DEFAULT_ORG_DIGEST: dict[str, Any] = {
    "enabled": True,
    "sensitivity": "standard",
    "max_per_lane": 5,
    "send_at": "08:30",
}


def load_org(conn: Connection) -> OrgFacts:
    org = conn.execute(
        select(
            Org.name,
            Org.timezone,
            Org.business_hours,
            Org.rules,
            Org.fallback_csm_id,
            Org.digest,
            Org.automation_level,
            Org.escalation_channel,
            Org.approvals_channel,
            Org.specialists_channel,
        )
        .order_by(Org.id)
        .limit(1)
    ).first()
    team_rules = {tid: rules or {} for tid, rules in conn.execute(select(Team.id, Team.rules))}
    if org is None:
        return OrgFacts(
            name="",
            timezone="UTC",
            business_hours=BusinessHours(),
            rules=RulesBook(None, team_rules),
            fallback_csm_id=None,
            digest=dict(DEFAULT_ORG_DIGEST),
            automation_level="assisted",
            escalation_channel=None,
            approvals_channel=None,
        )
    return OrgFacts(
        name=org.name,
        timezone=org.timezone or "UTC",
        business_hours=BusinessHours.from_config(org.business_hours),
        rules=RulesBook(org.rules, team_rules),
        fallback_csm_id=org.fallback_csm_id,
        digest={**DEFAULT_ORG_DIGEST, **(org.digest or {})},
        automation_level=org.automation_level or "assisted",
        escalation_channel=org.escalation_channel,
        approvals_channel=org.approvals_channel,
        specialists_channel=org.specialists_channel,
    )


def load_users(conn: Connection, org_tz: str) -> dict[str, UserFacts]:
    rows = conn.execute(
        select(
            User.id,
            User.name,
            User.email,
            User.slack_user_id,
            User.role,
            User.team_id,
            User.manager_id,
            User.timezone,
            User.slack_timezone,
            User.active,
            User.digest,
        )
    )
    team_manager = dict(conn.execute(select(Team.id, Team.manager_id)).all())
    out = {}
    for uid, name, email, slack_id, role, team, manager, tz, slack_tz, active, digest in rows:
        out[uid] = UserFacts(
            id=uid,
            name=name,
            email=email,
            slack_user_id=slack_id,
            role=role or "csm",
            team_id=team,
            manager_id=manager or (team_manager.get(team) if team else None),
            timezone=tz or slack_tz or org_tz,
            active=active is not False,
            digest=digest or {},
        )
    return out


def _max_window_days(book: RulesBook, teams: Sequence[str | None], pick: Any) -> float:
    return max(float(pick(book.for_team(t))) for t in [None, *teams])


def _excluded(conn: Connection, today: date) -> set[str]:
    return {
        acc
        for acc, until in conn.execute(select(Exclusion.account_id, Exclusion.until))
        if until is None or until >= today
    }


def _in_scope(q: Any, org: OrgFacts, csm_id: str | None) -> Any:
    """``q`` (over accounts) narrowed to the accounts a sweep looks at: not churned or inactive,
    and only ``csm_id``'s if given (the fallback CSM also gets the accounts without a CSM)."""
    q = q.where(or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)))
    if csm_id is not None:
        if org.fallback_csm_id == csm_id:
            q = q.where(or_(Account.csm_id == csm_id, Account.csm_id.is_(None)))
        else:
            q = q.where(Account.csm_id == csm_id)
    return q


def scope_ranges(conn: Connection, parts: int) -> tuple[int, list[tuple[str, str]]]:
    """The number of accounts a whole sweep looks at, and their ids cut into ``parts`` ranges
    ``(first, last)`` of about as many accounts each, in id order — without fetching every id:
    a count, then the ids at the cuts (``OFFSET`` along the primary key; cheaper than numbering
    every row with NTILE).

    Exclusions are not taken out here: an excluded account inside a range is skipped by the
    sweep of that range (and its alerts clear there), so the ranges stay valid.
    """
    org = load_org(conn)
    total = int(conn.execute(_in_scope(select(func.count(Account.id)), org, None)).scalar_one())
    if total == 0:
        return 0, []
    ids = _in_scope(select(Account.id), org, None).order_by(Account.id)
    first = conn.execute(ids.limit(1)).scalar()
    last = conn.execute(ids.order_by(None).order_by(Account.id.desc()).limit(1)).scalar()
    if first is None or last is None:
        return 0, []
    parts = max(1, min(parts, total))
    edges: list[str] = [first]
    for k in range(1, parts):
        pair = conn.execute(ids.offset(total * k // parts - 1).limit(2)).scalars().all()
        if len(pair) < 2:  # the scope changed since the count (an import committed): one range
            return total, [(first, last)]
        edges += pair  # the last id of one range, the first of the next
    edges.append(last)
    return total, list(zip(edges[::2], edges[1::2], strict=True))


def load_portfolio(
    conn: Connection,
    now: datetime,
    *,
    csm_id: str | None = None,
    account_ids: Sequence[str] | None = None,
    id_range: tuple[str, str] | None = None,
) -> Portfolio:
    """Everything the sweep needs at ``now``, for the accounts in scope.

    Scope: accounts that are not churned or inactive and not excluded, optionally only those
    of ``csm_id`` (the fallback CSM also gets the accounts that have no CSM), or only
    ``account_ids``, or only ids from ``id_range[0]`` to ``id_range[1]``.
    """
    scope = Scope(list(account_ids) if account_ids is not None else None, id_range)
    org = load_org(conn)
    users = load_users(conn, org.timezone)
    excluded = _excluded(conn, local_date(now, org.timezone))
    acc_cols = (
        Account.id,
        Account.name,
        Account.mrr,
        Account.segment,
        Account.touch_policy,
        Account.status,
        Account.csm_id,
        Account.created_at,
        Account.renewal_date,
        Account.crm_url,
        Account.csm_pulse_score,
        Account.csm_pulse_set_at,
        Account.ai_pulse_score,
        Account.ai_pulse_at,
        Account.blocker,
    )
    roll_cols = tuple(getattr(AccountRollup, c) for c in ROLLUP_COLUMNS)

    def accounts_with_rollups(on_account: Any, on_rollup: Any) -> Any:
        joined = AccountRollup.account_id == Account.id
        if on_rollup is not None:
            joined = and_(joined, on_rollup)
        q = _in_scope(select(*acc_cols, *roll_cols).outerjoin(AccountRollup, joined), org, csm_id)
        return q if on_account is None else q.where(on_account)

    on_accounts = scope.conditions(conn, Account.id)
    # A list of ids is named on the rollups' side of the join too: PostgreSQL otherwise hashes
    # every rollup to join a few accounts' (a scan of them all in each process of a sweep).
    on_rollups = (
        scope.conditions(conn, AccountRollup.account_id)
        if scope.ids is not None
        else [None] * len(on_accounts)
    )
    statements = [accounts_with_rollups(a, r) for a, r in zip(on_accounts, on_rollups, strict=True)]

    n_acc = len(acc_cols)
    accounts: list[AccountFacts] = []
    by_id: dict[str, AccountFacts] = {}
    stale: list[str] = []  # accounts whose rollup includes data after `now`
    rows = (
        r
        for statement in statements
        for part in conn.execute(statement).partitions(10_000)
        for r in part
    )
    for row in rows:
        if row[0] in excluded:
            continue
        values: Any = row[n_acc:]
        rollup = Rollup(row[0]) if values[0] is None else Rollup(*values)
        if rollup.data_until is not None and rollup.data_until > now:
            stale.append(row[0])
        csm = users.get(row[6]) if row[6] else None
        tz = csm.timezone if csm else org.timezone
        facts = AccountFacts(
            id=row[0],
            name=row[1],
            mrr=row[2],
            segment=row[3],
            touch_policy=row[4] or "standard",
            status=row[5] or "active",
            csm_id=row[6],
            team_id=csm.team_id if csm else None,
            timezone=tz,
            created_at=row[7],
            renewal_date=row[8],
            crm_url=row[9],
            csm_pulse=(row[10], row[11]) if row[10] is not None and row[11] is not None else None,
            ai_pulse=(row[12], row[13]) if row[12] is not None and row[13] is not None else None,
            blocker=row[14],
            rollup=rollup,
        )
        accounts.append(facts)
        by_id[facts.id] = facts
    if not accounts:
        return Portfolio(now, org, users, [])

    restrict = csm_id is not None or account_ids is not None
    # A CSM's accounts are named by id; otherwise the scope (everything, or a range) holds.
    sub = Scope(list(by_id)) if restrict else scope
    teams = sorted({a.team_id for a in accounts if a.team_id})

    # As-of fallback: fold the raw rows up to `now` for accounts with newer data.
    if stale:
        for acc, rollup in load_folds(conn, stale, until=now).items():
            by_id[acc].rollup = rollup
    stale_set = set(stale)
    for acc in stale:
        facts = by_id[acc]
        facts.threads = [t for t in facts.rollup.threads.values() if t.last_direction == "inbound"]

    _load_threads(conn, now, by_id, stale_set, org, teams, sub)
    _load_tasks(conn, now, by_id, sub)
    _load_meetings(conn, now, by_id, org, teams, sub)
    _load_requests(conn, now, by_id, sub)
    _load_contact_names(conn, accounts)
    return Portfolio(now, org, users, accounts)


@dataclass(frozen=True, slots=True)
class Scope:
    """Which accounts a sweep loads besides its filters: all, a list of ids, or an id range
    (one process's share of a sweep split between processes)."""

    ids: Sequence[str] | None = None
    id_range: tuple[str, str] | None = None  # first and last id, both included

    def conditions(self, conn: Connection, column: Any) -> list[Any]:
        """The condition on ``column`` (an account id) for each chunk of the scope (one unless
        it lists many ids); ``[None]`` for every account."""
        if self.ids is not None:
            return [
                member_of_many(conn, column, part, any_length=True)
                for part in many_chunks(conn, self.ids)
            ]
        if self.id_range is not None:
            return [column.between(*self.id_range)]
        return [None]

    def narrow(self, conn: Connection, q: Any, column: Any) -> list[Any]:
        """``q`` for each chunk of the scope."""
        return [q if c is None else q.where(c) for c in self.conditions(conn, column)]

    def run(self, conn: Connection, q: Any, column: Any) -> Sequence[Any]:
        out: list[Any] = []
        for part in self.narrow(conn, q, column):
            out.extend(conn.execute(part).all())
        return out


def _load_threads(
    conn: Connection,
    now: datetime,
    by_id: dict[str, AccountFacts],
    stale: set[str],
    org: OrgFacts,
    teams: Sequence[str],
    scope: Scope,
) -> None:
    lookback = _max_window_days(org.rules, teams, lambda r: r.unreplied_lookback_days)
    q = select(
        EmailThread.account_id,
        EmailThread.thread_key,
        EmailThread.last_at,
        EmailThread.last_direction,
        EmailThread.last_activity_id,
        EmailThread.subject,
        EmailThread.contact_id,
        EmailThread.first_unreplied_at,
        EmailThread.messages,
    ).where(
        EmailThread.last_direction == "inbound",
        EmailThread.last_at > now - timedelta(days=lookback),
        EmailThread.last_at <= now,
    )
    for row in scope.run(conn, q, EmailThread.account_id):
        facts = by_id.get(row[0])
        if facts is not None and row[0] not in stale:
            facts.threads.append(ThreadState(*row))


def _load_tasks(
    conn: Connection, now: datetime, by_id: dict[str, AccountFacts], scope: Scope
) -> None:
    """Overdue open tasks, whether an open task is due ahead, and done auto-created tasks."""
    cols = (
        Task.account_id,
        Task.id,
        Task.title,
        Task.due_at,
        Task.priority,
        Task.status,
        Task.completed_at,
        Task.request_id,
        Task.auto_created,
    )
    # Two statements, not one OR: each is read from its own index (ix_tasks_status_account_due,
    # ix_tasks_auto_done), where the OR made PostgreSQL scan the whole table.
    overdue = select(*cols).where(Task.status == "open", Task.due_at <= now)
    auto_done = select(*cols).where(Task.status == "done", Task.auto_created.is_(True))
    rows = [
        *scope.run(conn, overdue, Task.account_id),
        *scope.run(conn, auto_done, Task.account_id),
    ]
    for acc, tid, title, due_at, priority, status, completed_at, request_id, auto in rows:
        facts = by_id.get(acc)
        if facts is not None:
            facts.tasks.append(
                TaskFact(
                    tid,
                    title,
                    due_at,
                    priority or "normal",
                    status or "open",
                    completed_at,
                    request_id,
                    bool(auto),
                )
            )
    ahead = (
        select(Task.account_id, func.min(Task.due_at))
        .where(Task.status == "open", Task.due_at > now)
        .group_by(Task.account_id)
    )
    for acc, due_at in scope.run(conn, ahead, Task.account_id):
        facts = by_id.get(acc)
        if facts is not None:
            facts.has_task_ahead = True
            facts.next_task_due_at = due_at


def _load_meetings(
    conn: Connection,
    now: datetime,
    by_id: dict[str, AccountFacts],
    org: OrgFacts,
    teams: Sequence[str],
    scope: Scope,
) -> None:
    # 1. The latest meeting that took place, per account (the highest id among meetings at the
    #    same time), from the covering index (account, start, canceled, id): PostgreSQL keeps
    #    one row per account with DISTINCT ON, reading that index backwards (accounts in
    #    descending order too, so no sort); elsewhere each account's latest start is found by
    #    GROUP BY and joined back for its id — never every meeting in Python.
    held_rows: Sequence[Any]
    if conn.dialect.name == "postgresql":
        held = (
            select(Meeting.account_id, Meeting.starts_at, Meeting.id)
            .where(Meeting.canceled.is_(False), Meeting.starts_at <= now)
            .ext(distinct_on(Meeting.account_id))
            .order_by(Meeting.account_id.desc(), Meeting.starts_at.desc(), Meeting.id.desc())
        )
        held_rows = scope.run(conn, held, Meeting.account_id)
    else:
        held_rows = []
        latest_of_all = select(
            Meeting.account_id.label("acc"), func.max(Meeting.starts_at).label("at")
        ).where(Meeting.canceled.is_(False), Meeting.starts_at <= now)
        for latest in scope.narrow(conn, latest_of_all, Meeting.account_id):
            found = latest.group_by(Meeting.account_id).subquery()
            held = (
                select(Meeting.account_id, found.c.at, func.max(Meeting.id))
                .join(
                    found, and_(Meeting.account_id == found.c.acc, Meeting.starts_at == found.c.at)
                )
                .where(Meeting.canceled.is_(False))
                .group_by(Meeting.account_id, found.c.at)
            )
            held_rows.extend(conn.execute(held).all())
    for acc, starts_at, mid in held_rows:
        facts = by_id.get(acc)
        if facts is not None:
            facts.last_meeting = (starts_at, mid)

    # 2. The next meeting ahead, per account.
    ahead = (
        select(Meeting.account_id, func.min(Meeting.starts_at))
        .where(Meeting.canceled.is_(False), Meeting.starts_at > now)
        .group_by(Meeting.account_id)
    )
    for acc, starts_at in scope.run(conn, ahead, Meeting.account_id):
        facts = by_id.get(acc)
        if facts is not None:
            facts.next_meeting_at = starts_at

    # 3. Recent meetings without a next step, and held ones with unowned open action items.
    window = _max_window_days(
        org.rules, teams, lambda r: r.next_step_window_days + r.next_step_grace_hours / 24
    )
    cols = (
        Meeting.account_id,
        Meeting.id,
        Meeting.title,
        Meeting.starts_at,
        Meeting.ends_at,
        Meeting.next_step,
        Meeting.unowned_open_items,
    )
    recent_start = now - timedelta(days=window + 1)
    q = select(*cols).where(
        Meeting.canceled.is_(False),
        Meeting.starts_at <= now,
        or_(
            and_(
                Meeting.starts_at > recent_start,
                or_(Meeting.next_step.is_(None), Meeting.next_step == ""),
            ),
            Meeting.unowned_open_items > 0,
        ),
    )
    recent: dict[str, MeetingFact] = {}
    with_items: dict[str, MeetingFact] = {}
    for acc, mid, title, starts_at, ends_at, next_step, unowned in scope.run(
        conn, q, Meeting.account_id
    ):
        facts = by_id.get(acc)
        if facts is None:
            continue
        m = MeetingFact(
            mid, title, starts_at, ends_at or starts_at + timedelta(hours=1), next_step, []
        )
        facts.meetings.append(m)
        if starts_at > recent_start and not next_step:
            recent[mid] = m
        if unowned:
            with_items[mid] = m
    for part in id_chunks(conn, list(with_items)):
        for mid, items in conn.execute(
            select(Meeting.id, Meeting.action_items).where(member_of(conn, Meeting.id, part))
        ):
            with_items[mid].action_items = list(items or [])
    # Post-meeting notes linked to the recent meetings without a next step.
    for part in id_chunks(conn, list(recent)):
        linked = conn.execute(
            select(Activity.meeting_id)
            .where(
                member_of(conn, Activity.meeting_id, part),
                Activity.kind == "post_meeting_note",
                Activity.at <= now,
            )
            .distinct()
        ).scalars()
        for linked_id in linked:
            if linked_id is not None:
                recent[linked_id].has_linked_note = True


def _load_requests(
    conn: Connection, now: datetime, by_id: dict[str, AccountFacts], scope: Scope
) -> None:
    links: dict[str, list[str]] = defaultdict(list)
    q = select(RequestAccount.request_id, RequestAccount.account_id)
    for req, acc in scope.run(conn, q, RequestAccount.account_id):
        if acc in by_id:
            links[req].append(acc)
    if not links:
        return
    requests: dict[str, RequestFact] = {}
    for part in id_chunks(conn, list(links)):
        for row in conn.execute(
            select(
                Request.id,
                Request.title,
                Request.impact,
                Request.status,
                Request.created_at,
                Request.updated_at,
                Request.shipped_at,
                Request.discussed_at,
                Request.last_activity_at,
            ).where(member_of(conn, Request.id, part))
        ):
            requests[row[0]] = RequestFact(*row)
    # As-of fallback for requests whose latest linked activity is after `now`.
    future = [r.id for r in requests.values() if r.last_activity_at and r.last_activity_at > now]
    if future:
        until = request_activity_until(conn, future, now)
        for rid in future:
            requests[rid].last_activity_at = until.get(rid)
            requests[rid].activity_ahead = True
    for rid, accs in links.items():
        fact = requests.get(rid)
        if fact is not None:
            for acc in accs:
                by_id[acc].requests.append(fact)


def _load_contact_names(conn: Connection, accounts: Sequence[AccountFacts]) -> None:
    wanted: dict[str, list[AccountFacts]] = defaultdict(list)
    for facts in accounts:
        for t in facts.threads:
            if t.contact_id:
                wanted[t.contact_id].append(facts)
    for part in id_chunks(conn, list(wanted)):
        where = member_of(conn, Contact.id, part)
        for cid, name in conn.execute(select(Contact.id, Contact.name).where(where)):
            for facts in wanted[cid]:
                if name:
                    facts.contact_names[cid] = name
