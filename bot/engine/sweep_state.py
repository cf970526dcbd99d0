"""Per-account sweep state (``account_sweep_state``): what the incremental sweep re-evaluates.

An account needs re-evaluating when its data changed since a recording sweep computed its card,
or when time has reached its ``next_check_at`` (:mod:`bot.engine.horizons`). Each row holds:

* ``changes`` — a counter every change to what the sweep reads of the account bumps
  (:func:`mark_changed` and friends: imports, exclusions, a CSM's or team's or the org's
  settings, alert state changes, a touch logged from Slack);
* ``swept_changes`` — the counter as the last recording sweep read it *before* loading the
  account. A change committed while a sweep runs leaves ``changes`` ahead, so the account stays
  due: a counter rather than a flag, which a sweep would clear over a change it never saw;
* ``next_check_at`` — the earliest instant at which the account's card or alerts can change
  with time alone (None: never); on SQLite as integer microseconds, which keeps the rows and
  their index small: an incremental sweep rewrites a row of every account it evaluates, and
  pages written cost more than anything else it does there.

An account without a row (new, or never swept) is due. A mark inserts the row if missing
(``INSERT … SELECT … ON CONFLICT DO UPDATE``, one statement per chunk of ids), so a mark that
lands while a sweep runs is kept even for an account the sweep sees for the first time.

A recording sweep writes the rows of the accounts it evaluated in bulk: into a temporary table
(COPY on PostgreSQL, multi-row INSERTs on SQLite), then one upsert that never touches
``changes``. A whole sweep also writes the accounts it skipped: an excluded account is due when
its exclusion ends, a churned or inactive one never (until a change marks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    func,
    literal,
    select,
)

from bot.db.bulk import bulk_insert, id_chunks, member_of
from bot.db.models import Account, AccountSweepState, Exclusion, SweepRun, User
from bot.db.types import CompactUTCDateTime
from bot.db.upsert import dialect_insert
from bot.engine.business_time import local_date
from bot.engine.facts import NEVER_FLAGGED_STATUSES, load_org
from bot.engine.horizons import exclusion_ends_at

STATE = cast(Table, AccountSweepState.__table__)

_TEMP = Table(
    "sweep_state_new",
    MetaData(),
    Column("account_id", String(64), primary_key=True),
    Column("next_check_at", CompactUTCDateTime()),
    Column("swept_changes", Integer),
    prefixes=["TEMPORARY"],
)


# ----------------------------------------------------------------------- marking


def _mark_where(conn: Connection, where: ColumnElement[bool]) -> None:
    """Bump the change counter of the accounts ``where`` selects (rows made if missing)."""
    stmt = (
        dialect_insert(conn, STATE)
        .from_select(
            ["account_id", "changes", "swept_changes"],
            # (a WHERE always: SQLite needs one before ON CONFLICT in an INSERT … SELECT)
            select(Account.id, literal(1), literal(0)).where(where),
        )
        .on_conflict_do_update(index_elements=["account_id"], set_={"changes": STATE.c.changes + 1})
    )
    conn.execute(stmt)


def mark_changed(conn: Connection, account_ids: Iterable[str]) -> None:
    """The data of ``account_ids`` changed: the next incremental sweep re-evaluates them."""
    ids: Sequence[str] = sorted({a for a in account_ids if a})
    for part in id_chunks(conn, ids):
        _mark_where(conn, member_of(conn, Account.id, part))


def mark_csms_changed(conn: Connection, user_ids: Iterable[str]) -> None:
    """The accounts of these CSMs (their time zone or team changed)."""
    ids: Sequence[str] = sorted(set(user_ids))
    for part in id_chunks(conn, ids):
        _mark_where(conn, member_of(conn, Account.csm_id, part))


def mark_teams_changed(conn: Connection, team_ids: Iterable[str]) -> None:
    """The accounts of the CSMs of these teams (the team's rules changed)."""
    ids = sorted(set(team_ids))
    if ids:
        csms = select(User.id).where(User.team_id.in_(ids))
        _mark_where(conn, Account.csm_id.in_(csms))


def mark_all_changed(conn: Connection) -> None:
    """Every account (the org's rules, business hours, time zone or fallback CSM changed)."""
    _mark_where(conn, Account.id.is_not(None))


# ----------------------------------------------------------------------- sweeping


def changes_seen(conn: Connection) -> dict[str, int]:
    """Every account's change counter now (read by a recording sweep before it loads)."""
    return {acc: n for acc, n in conn.execute(select(STATE.c.account_id, STATE.c.changes))}


@dataclass(frozen=True, slots=True)
class Due:
    """What an incremental sweep at a given time has to do: the accounts due, with their
    change counters, and how many accounts are in scope (neither churned nor inactive)."""

    counters: dict[str, int]
    in_scope: int


def due_accounts(conn: Connection, now: datetime) -> dict[str, int]:
    """The accounts an incremental sweep at ``now`` re-evaluates, with their change counters
    (see :func:`find_due`)."""
    return find_due(conn, now).counters


def find_due(conn: Connection, now: datetime) -> Due:
    """The accounts due at ``now``: changed since their last sweep, or their next check
    reached, each read from an index; every account when a recording sweep ran at a later
    time than ``now`` (time went back: the stored cards and checks are of a later time).

    Accounts without a row are due too, whatever their status (an account out of scope is
    then written as skipped, so every account soon has a row): they are looked for only while
    there are fewer rows than accounts (the rows' foreign key makes them a subset)."""
    c = STATE.c
    counts = select(
        select(func.count()).select_from(Account).scalar_subquery(),
        select(func.count()).where(Account.status.in_(NEVER_FLAGGED_STATUSES)).scalar_subquery(),
        select(func.count()).select_from(STATE).scalar_subquery(),
    )
    accounts, out_of_scope, rows = conn.execute(counts).one()
    in_scope = int(accounts) - int(out_of_scope)
    if conn.execute(select(SweepRun.id).where(SweepRun.as_of > now).limit(1)).first():
        every = select(Account.id, func.coalesce(c.changes, 0)).outerjoin(
            STATE, c.account_id == Account.id
        )
        return Due({acc: n for acc, n in conn.execute(every)}, in_scope)
    # The changed ones in key order: PostgreSQL then reads them from their partial index (it
    # guesses `changes <> swept_changes` true of most rows, and would scan the table).
    changed = select(c.account_id, c.changes).where(c.changes != c.swept_changes)
    found = {acc: n for acc, n in conn.execute(changed.order_by(c.account_id))}
    ripe = select(c.account_id, c.changes).where(c.next_check_at <= now)
    found.update((acc, n) for acc, n in conn.execute(ripe))
    if rows < accounts:
        found.update((str(acc), 0) for acc in conn.execute(_rowless()).scalars())
    return Due(found, in_scope)


def _rowless() -> Select[Any]:
    """The accounts without a row."""
    return (
        select(Account.id)
        .outerjoin(STATE, STATE.c.account_id == Account.id)
        .where(STATE.c.account_id.is_(None))
    )


def record_checks(
    conn: Connection,
    now: datetime,
    checks: Mapping[str, datetime | None],
    seen: Mapping[str, int],
    *,
    whole: bool,
    skipped: Iterable[str] = (),
) -> None:
    """Store what a recording sweep at ``now`` found: ``checks`` (next check by evaluated
    account) with the change counters ``seen`` before it loaded. ``skipped``: accounts it was
    to evaluate but did not load (excluded, churned, inactive). ``whole``: every account was in
    scope, so every stored row not evaluated is such an account too; and a row is written for
    every account that has none (out of scope, never swept), so that rows and accounts match."""
    rows: dict[str, datetime | None] = dict(checks)
    others = set(skipped)
    if whole:
        others |= seen.keys()
        others.update(
            str(acc) for acc in conn.execute(_rowless()).scalars()
        )  # out of scope, never swept
    others -= rows.keys()
    if whole or others:
        org_tz = load_org(conn).timezone
        today = local_date(now, org_tz)
        for acc, until in conn.execute(select(Exclusion.account_id, Exclusion.until)):
            active = until is None or until >= today
            if active and acc not in rows and (whole or acc in others):
                rows[acc] = exclusion_ends_at(until, org_tz)
                others.discard(acc)
    rows.update(dict.fromkeys(others))
    _write(conn, [(acc, at, seen.get(acc, 0)) for acc, at in rows.items()])


def _write(conn: Connection, rows: list[tuple[str, datetime | None, int]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS sweep_state_new (account_id varchar(64) "
            'COLLATE "C" PRIMARY KEY, next_check_at timestamp, swept_changes integer) '
            "ON COMMIT DROP"
        )
    else:
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS sweep_state_new (account_id varchar(64) "
            "PRIMARY KEY, next_check_at bigint, swept_changes integer)"
        )
    conn.execute(_TEMP.delete())
    bulk_insert(
        conn,
        _TEMP,
        [{"account_id": a, "next_check_at": t, "swept_changes": n} for a, t, n in rows],
    )
    ins = dialect_insert(conn, STATE).from_select(
        ["account_id", "next_check_at", "changes", "swept_changes"],
        select(
            _TEMP.c.account_id,
            _TEMP.c.next_check_at,
            _TEMP.c.swept_changes,
            _TEMP.c.swept_changes,
        ).where(_TEMP.c.account_id.is_not(None)),
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["account_id"],
            set_={
                "next_check_at": ins.excluded.next_check_at,
                "swept_changes": ins.excluded.swept_changes,
            },
        )
    )
