"""The escalation scan of a round (followup-rules.md "Escalation"): which alerts are due at
``now``, in one query that returns only those.

A ``critical`` alert that is open (neither done, dismissed nor snoozed), still firing and not
escalated yet is due when it has been critical for ``escalate_after_business_hours`` (the rules
of its CSM's team, else the org's) of business time in its CSM's zone (the org's zone for an
account with no CSM), counted from ``first_critical_at``; a health tier drop (a critical
``health_drop``) is due at once.

Business time only grows as the start moves back, so "critical for N business hours at
``now``" is "critical since a cutoff or before", the cutoff being the latest start with N
business hours up to ``now`` (:func:`~bot.engine.business_time.business_start_for`). There are
few zones and thresholds, so the cutoffs are computed once per (zone, threshold), and the query
picks each alert's cutoff by its account's CSM (a ``CASE`` over the CSMs whose cutoff is not the
org's): the database returns the due alerts only, with no business-hours arithmetic per alert.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    String,
    any_,
    bindparam,
    case,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql

from bot.db.models import Account, Alert
from bot.db.types import UTCDateTime
from bot.engine.alerts import AlertState
from bot.engine.business_time import business_start_for
from bot.engine.rules import Rules, Severity
from bot.service.people import People

SLA = "sla"
TIER_DROP = "tier_drop"
TIER_DROP_SIGNAL = "health_drop"  # critical only for a tier drop (bot/engine/signals.py)


@dataclass(frozen=True, slots=True)
class Due:
    alert_id: int
    account_id: str
    csm_id: str | None
    reason: str


def rules_for(people: People, csm_id: str | None) -> Rules:
    """The rules of the CSM's team (the org's for no CSM, or a CSM who is not a user)."""
    csm = people.get(csm_id)
    return people.org.rules.for_team(csm.team_id if csm is not None else None)


def zone_for(people: People, csm_id: str | None) -> str:
    """The CSM's time zone (the org's for no CSM, or a CSM who is not a user)."""
    csm = people.get(csm_id)
    return csm.timezone if csm is not None else people.org.timezone


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """When an alert must have become critical to be due at ``now``: ``fallback`` for an account
    with no CSM (or a CSM who is not a user), ``by_csm`` for each user whose cutoff differs from
    it. None: never by time (a threshold beyond ten years of business time)."""

    fallback: datetime | None
    by_csm: dict[str, datetime | None]


def sla_cutoffs(people: People, now: datetime) -> Cutoffs:
    """One :func:`business_start_for` per (zone, threshold) among the org and its users."""
    hours = people.org.business_hours
    computed: dict[tuple[str, float], datetime | None] = {}

    def cutoff(csm_id: str | None) -> datetime | None:
        key = (zone_for(people, csm_id), rules_for(people, csm_id).escalate_after_business_hours)
        if key not in computed:
            computed[key] = business_start_for(now, key[1], key[0], hours)
        return computed[key]

    fallback = cutoff(None)
    by_csm = {user_id: cutoff(user_id) for user_id in people.users}
    return Cutoffs(fallback, {u: c for u, c in by_csm.items() if c != fallback})


@lru_cache(maxsize=32)
def _due_query(groups: int, dialect: str) -> Select[int, str, str, str | None]:
    """The query of :func:`due_escalations` for ``groups`` groups of CSMs with a cutoff of their
    own. Parameters: ``latest`` and ``earliest`` (the latest and earliest cutoff, NULL when
    there is none or someone is never due by time), ``fallback`` and, for each group ``n``,
    ``ids_n`` and ``cutoff_n`` (see :func:`due_escalations`). Built once per number of groups:
    a round only binds its values. A group's ids are one array on PostgreSQL (a list of a few
    hundred parameters costs more to send than the scan itself)."""
    csm = select(Account.csm_id).where(Account.id == Alert.account_id).scalar_subquery()
    found = (
        select(Alert.id, Alert.account_id, Alert.signal, Alert.first_critical_at, csm.label("csm"))
        .where(
            # Written out, not bound: the conditions of ix_alerts_escalation_due, so that a
            # prepared (generic) plan may use that partial index too.
            Alert.state == literal_column(f"'{AlertState.OPEN.value}'"),
            Alert.severity == literal_column(f"'{Severity.CRITICAL.value}'"),
            Alert.escalated_at.is_(None),
            Alert.cleared_at.is_(None),
            or_(Alert.signal == TIER_DROP_SIGNAL, Alert.first_critical_at <= _at("latest")),
        )
        .cte("found")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    since = found.c.first_critical_at
    due = [found.c.signal == TIER_DROP_SIGNAL, since <= _at("earliest")]
    if groups:
        whens = [
            (_among(found.c.csm, f"ids_{n}", dialect), _at(f"cutoff_{n}")) for n in range(groups)
        ]
        due.append(since <= case(*whens, else_=_at("fallback")))
    return (
        select(found.c.id, found.c.account_id, found.c.signal, found.c.csm)
        .where(or_(*due))
        .order_by(found.c.id)
    )


def _among(csm: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return csm == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    return csm.in_(bindparam(name, expanding=True))


def _at(name: str) -> BindParameter[datetime]:
    return bindparam(name, type_=UTCDateTime())


def due_escalations(conn: Connection, people: People, now: datetime) -> list[Due]:
    """The alerts to escalate at ``now`` (before checking that they are on a stored card), by
    id, each with its account's CSM.

    One query: the inner part finds the candidates — a tier drop, or critical since the latest
    cutoff of any CSM or before — with their account's CSM, looked up by key for each (a join
    made PostgreSQL read the whole accounts table); the outer part keeps the tier drops and the
    alerts critical since their own CSM's cutoff: before the earliest cutoff, else by a ``CASE``
    over the groups of CSMs with a cutoff other than the org's. On PostgreSQL the inner part is
    materialized so that each alert's CSM is looked up once, not once per mention."""
    cutoffs = sla_cutoffs(people, now)
    groups: dict[datetime | None, list[str]] = defaultdict(list)
    for csm_id, at in cutoffs.by_csm.items():
        groups[at].append(csm_id)
    every = [cutoffs.fallback, *groups]
    known = [at for at in every if at is not None]
    params: dict[str, Any] = {
        "latest": max(known) if known else None,
        "earliest": None if None in every else min(known),
        "fallback": cutoffs.fallback,
    }
    for n, (at, ids) in enumerate(groups.items()):
        params[f"ids_{n}"], params[f"cutoff_{n}"] = sorted(ids), at
    rows = conn.execute(_due_query(len(groups), conn.dialect.name), params).all()
    return [
        Due(alert_id, account_id, csm_id, TIER_DROP if signal == TIER_DROP_SIGNAL else SLA)
        for alert_id, account_id, signal, csm_id in rows
    ]
