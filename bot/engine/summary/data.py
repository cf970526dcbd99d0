"""Gathering one account's summary data: its facts, the account-summary hierarchy, its people,
its most recent activities in the period and its open obligations.

Everything is read for this one account only: hierarchy links that lead elsewhere (an activity
naming a KPI of another account, a challenge naming another account's plan) are dropped and
listed in ``problems``, never followed. Activities are read newest first, at most
``ACTIVITY_WINDOW`` of them, whatever the size of the history; ``budget.py`` shares them out
between the sections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from bot.db import models as db
from bot.engine.overview import UnknownAccount
from bot.engine.summary.model import Period
from bot.engine.summary.obligations import open_obligations
from bot.engine.summary.records import (
    AccountInfo,
    ActivityRow,
    ActivityWindow,
    Case,
    Challenge,
    Kpi,
    Objective,
    Obligation,
    Opportunity,
    Person,
    Plan,
    Playbook,
    PlaybookTask,
    Project,
)

ACTIVITY_WINDOW = 1500
SNIPPET_CHARS = 300


@dataclass(slots=True)
class AccountData:
    account: AccountInfo
    now: datetime
    period: Period
    contacts: list[Person] = field(default_factory=list)
    users: dict[str, Person] = field(default_factory=dict)  # ours, by id
    plans: list[Plan] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    challenges: list[Challenge] = field(default_factory=list)
    playbooks: list[Playbook] = field(default_factory=list)
    playbook_tasks: list[PlaybookTask] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    activities: ActivityWindow = field(default_factory=ActivityWindow)
    obligations: list[Obligation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """No record beyond the account row itself (its queue may still flag it)."""
        return not (
            self.contacts
            or self.plans
            or self.kpis
            or self.challenges
            or self.playbooks
            or self.cases
            or self.opportunities
            or self.projects
            or self.activities.total
        )

    def contact(self, contact_id: str | None) -> Person | None:
        if contact_id is None:
            return None
        return next((c for c in self.contacts if c.id == contact_id), None)

    def person(self, person_id: str | None) -> Person | None:
        if person_id is None:
            return None
        return self.users.get(person_id) or self.contact(person_id)

    def known_ids(self) -> set[str]:
        """Every record id a summary of this account may cite."""
        ids = {self.account.id}
        for group in (
            self.contacts,
            self.plans,
            self.objectives,
            self.kpis,
            self.challenges,
            self.playbooks,
            self.playbook_tasks,
            self.cases,
            self.opportunities,
            self.projects,
            self.activities.rows,
        ):
            ids.update(r.id for r in group)
        ids.update(self.users)
        for ob in self.obligations:
            ids.update(ob.refs)
        return ids


def gather(engine: Engine, account_id: str, now: datetime, period: Period) -> AccountData:
    """Everything a summary of ``account_id`` rests on, as of ``now``, for ``period``.

    Raises :class:`UnknownAccount`. Activities and health scores after ``now`` (or at or after
    ``period.until``) are left out, as are activities before ``period.since``.
    """
    with engine.connect() as conn:
        data = AccountData(account=_account(conn, account_id, now), now=now, period=period)
        _people(conn, data)
        _hierarchy(conn, data)
        _activities(conn, data)
    data.obligations = open_obligations(engine, account_id, now)
    return data


def _account(conn: Connection, account_id: str, now: datetime) -> AccountInfo:
    a = db.Account
    row = conn.execute(
        select(
            a.id,
            a.name,
            a.mrr,
            a.segment,
            a.status,
            a.touch_policy,
            a.renewal_date,
            a.traits,
            a.csm_id,
            db.User.name.label("csm_name"),
            a.csm_pulse_score,
            a.csm_pulse_note,
            a.ai_pulse_score,
            a.usage_trend,
            a.adoption,
            a.csat,
            a.blocker,
            a.crm_url,
        )
        .outerjoin(db.User, db.User.id == a.csm_id)
        .where(a.id == account_id)
    ).first()
    if row is None:
        raise UnknownAccount(account_id)
    acc = row
    health = conn.execute(
        select(db.HealthScore.score)
        .where(db.HealthScore.account_id == account_id, db.HealthScore.at <= now)
        .order_by(db.HealthScore.at.desc())
        .limit(2)
    ).all()
    return AccountInfo(
        id=acc.id,
        name=acc.name,
        mrr=acc.mrr,
        segment=acc.segment,
        status=acc.status or "active",
        touch_policy=acc.touch_policy or "standard",
        renewal_date=acc.renewal_date,
        traits=dict(acc.traits or {}),
        csm_id=acc.csm_id,
        csm_name=acc.csm_name,
        csm_pulse=acc.csm_pulse_score,
        csm_pulse_note=acc.csm_pulse_note,
        ai_pulse=acc.ai_pulse_score,
        health=health[0][0] if health else None,
        health_prev=health[1][0] if len(health) > 1 else None,
        usage_trend=acc.usage_trend,
        adoption=acc.adoption,
        csat=acc.csat,
        blocker=acc.blocker,
        crm_url=acc.crm_url,
    )


def _people(conn: Connection, data: AccountData) -> None:
    c = db.Contact
    rows = conn.execute(
        select(c.id, c.name, c.title, c.role, c.last_active_at)
        .where(c.account_id == data.account.id)
        .order_by(c.id)
    ).all()
    data.contacts = [
        Person(id=i, name=n or i, side="theirs", title=t, role=r, last_active_at=la)
        for i, n, t, r, la in rows
    ]
    if data.account.csm_id and data.account.csm_name:
        data.users[data.account.csm_id] = Person(
            id=data.account.csm_id, name=data.account.csm_name, side="ours", role="csm"
        )


def _hierarchy(conn: Connection, data: AccountData) -> None:
    acc = data.account.id
    sp, ob, kp = db.SuccessPlan, db.Objective, db.Kpi
    data.plans = [
        Plan(*r)
        for r in conn.execute(
            select(sp.id, sp.title, sp.status, sp.starts_on, sp.ends_on)
            .where(sp.account_id == acc)
            .order_by(sp.starts_on.desc(), sp.id)
        )
    ]
    plan_ids = [p.id for p in data.plans]
    if plan_ids:
        data.objectives = [
            Objective(*r)
            for r in conn.execute(
                select(ob.id, ob.success_plan_id, ob.title, ob.status)
                .where(ob.success_plan_id.in_(plan_ids))
                .order_by(ob.id)
            )
        ]
    objective_ids = [o.id for o in data.objectives]
    if objective_ids:
        data.kpis = [
            Kpi(*r)
            for r in conn.execute(
                select(
                    kp.id,
                    kp.objective_id,
                    kp.name,
                    kp.status,
                    kp.baseline,
                    kp.target,
                    kp.current,
                    kp.unit,
                    kp.updated_at,
                )
                .where(kp.objective_id.in_(objective_ids))
                .order_by(kp.id)
            )
        ]
    bc = db.BusinessChallenge
    for cid, title, desc, plan in conn.execute(
        select(bc.id, bc.title, bc.description, bc.success_plan_id)
        .where(bc.account_id == acc)
        .order_by(bc.id)
    ):
        if plan is not None and plan not in plan_ids:
            data.problems.append(
                f"business challenge {cid} names success plan {plan}, which is not this "
                "account's: the link was ignored"
            )
        data.challenges.append(Challenge(cid, title, desc))
    pb, pt = db.Playbook, db.PlaybookTask
    data.playbooks = [
        Playbook(*r)
        for r in conn.execute(
            select(pb.id, pb.name, pb.status).where(pb.account_id == acc).order_by(pb.id)
        )
    ]
    if data.playbooks:
        data.playbook_tasks = [
            PlaybookTask(*r)
            for r in conn.execute(
                select(pt.id, pt.playbook_id, pt.title, pt.status, pt.due_at, pt.completed_at)
                .where(pt.playbook_id.in_([p.id for p in data.playbooks]))
                .order_by(pt.due_at, pt.id)
            )
        ]
    _cases_opportunities_projects(conn, data)


def _cases_opportunities_projects(conn: Connection, data: AccountData) -> None:
    acc, period = data.account.id, data.period
    cs, op, pj = db.Case, db.Opportunity, db.Project
    query = select(cs.id, cs.title, cs.status, cs.priority, cs.opened_at, cs.closed_at).where(
        cs.account_id == acc
    )
    upper = period.until or None
    if upper is not None:  # opened before the period ended
        query = query.where((cs.opened_at.is_(None)) | (cs.opened_at < upper))
    if period.since is not None:  # still open, or closed during the period
        query = query.where((cs.closed_at.is_(None)) | (cs.closed_at >= period.since))
    data.cases = [Case(*r) for r in conn.execute(query.order_by(cs.opened_at.desc(), cs.id))]
    data.opportunities = [
        Opportunity(*r)
        for r in conn.execute(
            select(op.id, op.title, op.kind, op.stage, op.status, op.amount, op.close_date)
            .where(op.account_id == acc)
            .order_by(op.close_date, op.id)
        )
    ]
    data.projects = [
        Project(*r)
        for r in conn.execute(
            select(pj.id, pj.name, pj.status).where(pj.account_id == acc).order_by(pj.id)
        )
    ]


def _period_filter(query: Any, data: AccountData) -> Any:
    a = db.Activity
    query = query.where(a.account_id == data.account.id)
    if data.period.until is not None and data.period.until <= data.now:
        query = query.where(a.at < data.period.until)
    else:
        query = query.where(a.at <= data.now)
    if data.period.since is not None:
        query = query.where(a.at >= data.period.since)
    return query


def _activities(conn: Connection, data: AccountData) -> None:
    a = db.Activity
    total = conn.execute(_period_filter(select(func.count()).select_from(a), data)).scalar()
    rows = conn.execute(
        _period_filter(
            select(
                a.id,
                a.at,
                a.kind,
                a.direction,
                a.subject,
                func.substr(a.body, 1, SNIPPET_CHARS),
                a.user_id,
                a.contact_id,
                a.outcome,
                a.success_plan_id,
                a.objective_id,
                a.kpi_id,
                a.playbook_task_id,
            ),
            data,
        )
        .order_by(a.at.desc(), a.id.desc())
        .limit(ACTIVITY_WINDOW)
    ).all()
    hierarchy = {
        r.id
        for group in (data.plans, data.objectives, data.kpis, data.playbook_tasks)
        for r in group
    }
    contacts = {c.id for c in data.contacts}
    dangling: dict[str, int] = {}
    out = []
    user_ids: set[str] = set()
    for aid, at, kind, direction, subject, body, user, contact, outcome, *linked in rows:
        links = []
        for ref in linked:
            if ref is None:
                continue
            if ref in hierarchy:
                links.append(ref)
            else:
                dangling[ref] = dangling.get(ref, 0) + 1
        if contact is not None and contact not in contacts:
            dangling[contact] = dangling.get(contact, 0) + 1
            contact = None
        if user is not None:
            user_ids.add(user)
        out.append(
            ActivityRow(
                id=aid,
                at=at,
                kind=kind,
                direction=direction,
                subject=" ".join(subject.split()) if subject else None,
                text=" ".join(body.split()) if body else None,
                user_id=user,
                contact_id=contact,
                outcome=outcome,
                links=tuple(links),
            )
        )
    data.activities = ActivityWindow(rows=out, total=int(total or 0))
    if dangling:
        shown = ", ".join(sorted(dangling)[:5]) + (" …" if len(dangling) > 5 else "")
        data.problems.append(
            f"{sum(dangling.values())} activity link(s) name records that are not this "
            f"account's ({shown}): those links were ignored"
        )
    user_ids -= set(data.users)
    if user_ids:
        u = db.User
        for uid, name, role in conn.execute(
            select(u.id, u.name, u.role).where(u.id.in_(sorted(user_ids)))
        ):
            data.users[uid] = Person(id=uid, name=name, side="ours", role=role)
