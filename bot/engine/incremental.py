"""The incremental sweep (``followup-bot sweep --incremental``; followup-rules.md "Surfaces").

A recording sweep stores, per account, when its card or alerts can next change with time alone
(``next_check_at``, :mod:`bot.engine.horizons`) and the change counter it saw
(:mod:`bot.engine.sweep_state`). Whatever changes an account's data bumps its counter: the
importer (every account a file touches, directly or through its contacts, activities, email
threads, tasks, meetings, health scores, exclusions, or a request linked to it — old links and
new), a CSM's time zone or team, a team's rules, the org's rules, business hours, time zone or
fallback CSM (every account), an alert's state (done, snoozed, dismissed, reopened), an
exclusion added or lifted.

``sweep --incremental`` then re-evaluates only the accounts that are due (changed, next check
reached, or never swept) exactly as a full sweep does — same loading, signals, alert
reconciliation and cards, for just those ids, their uncleared alerts included — replaces their
stored cards, and records a *whole* sweep run at its ``as_of``: the other cards were shown not to
change, so the whole queue is as of then (:func:`bot.engine.queue.load_queue`). The queue it
leaves (cards and alerts) is the one a full sweep at the same ``as_of`` would leave; alert ids
differ only in the order new alerts were numbered. When at least ``FULL_FROM`` of the accounts
are due, it runs the full sweep instead (same result, cheaper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, insert, select

from bot.db.locks import serialized
from bot.db.models import QueueCard, SweepRun
from bot.engine.alerts import apply_changes
from bot.engine.facts import Scope
from bot.engine.queue import card_rank, store_queue
from bot.engine.results import Card, Suppression
from bot.engine.sweep import (
    RECORDING_SWEEP_LOCK,
    SweepResult,
    Swept,
    attach_alert_ids,
    fallback_csm,
    sweep_in,
    sweep_scope,
)
from bot.engine.sweep_pool import SweepPool
from bot.engine.sweep_state import find_due, record_checks
from bot.gc_pause import gc_paused

FULL_FROM = 0.5  # share of the accounts due from which a full sweep is cheaper


@dataclass(slots=True)
class IncrementalResult:
    as_of: datetime
    evaluated: int  # accounts re-evaluated
    accounts: int  # accounts in scope
    full: bool  # ran as a full sweep
    alerts_new: int = 0
    alerts_cleared: int = 0
    suppressed: list[Suppression] = field(default_factory=list)  # of the re-evaluated accounts
    evaluated_ids: list[str] = field(default_factory=list)  # which ones (empty when full)


def run_incremental_sweep(
    engine: Engine,
    now: datetime,
    *,
    full_from: float = FULL_FROM,
    pool: SweepPool | None = None,
) -> IncrementalResult:
    """Re-evaluate the accounts that are due at ``now`` and record what they give (see the
    module). Takes its turn with the other recording sweeps. ``pool``: a worker to share
    the accounts with (:mod:`bot.engine.sweep_pool`)."""
    url = engine.url.render_as_string(hide_password=False)
    with gc_paused(), serialized(engine, RECORDING_SWEEP_LOCK) as conn:
        return incremental_sweep_in(conn, now, url=url, full_from=full_from, pool=pool)


def incremental_sweep_in(
    conn: Connection,
    now: datetime,
    *,
    url: str | None = None,
    full_from: float = FULL_FROM,
    pool: SweepPool | None = None,
) -> IncrementalResult:
    started = datetime.now(now.tzinfo)
    found = find_due(conn, now)  # (the counters read before anything is loaded)
    due, total = found.counters, found.in_scope
    if due and len(due) >= full_from * max(total, 1):
        full = sweep_in(conn, now, url=url)
        return IncrementalResult(
            now,
            full.accounts,
            total,
            True,
            full.alerts_new,
            full.alerts_cleared,
            full.suppressed,
        )
    return sweep_due(conn, now, due, accounts=total, started=started, pool=pool)


def sweep_due(
    conn: Connection,
    now: datetime,
    due: Mapping[str, int],
    *,
    accounts: int,
    started: datetime,
    pool: SweepPool | None = None,
) -> IncrementalResult:
    """Re-evaluate the accounts ``due`` (with the change counters read before loading them)
    and record what they give; ``accounts``: how many are in scope. With a ``pool``, its
    worker sweeps its share of them meanwhile (:meth:`SweepPool.share`)."""
    ids = sorted(due)
    theirs = pool.share(ids) if pool is not None else []
    future = pool.submit(now, theirs) if pool is not None and theirs else None
    here = ids[: len(ids) - len(theirs)]
    fallback = fallback_csm(conn)
    swept = sweep_scope(conn, now, Scope(here), checks=True)
    _record_share(conn, now, swept, here, due, fallback)  # (while the worker works)
    if pool is not None and future is not None:
        part = pool.collect(future, conn, now, theirs)
        _record_share(conn, now, part, theirs, due, fallback)
        swept.extend(part)
    conn.execute(
        insert(SweepRun).values(
            as_of=now,
            started_at=started,
            finished_at=datetime.now(now.tzinfo),
            accounts=len(ids),
            cards=len(swept.cards),
            alerts_new=len(swept.changes.inserts),
            alerts_cleared=len(swept.changes.cleared),
            whole=True,  # every other stored card was shown not to change by now
        )
    )
    suppressed = sorted(swept.suppressed, key=lambda s: (s.account, s.signal, s.evidence))
    return IncrementalResult(
        now,
        len(ids),
        accounts,
        False,
        len(swept.changes.inserts),
        len(swept.changes.cleared),
        suppressed,
        ids,
    )


def _record_share(
    conn: Connection,
    now: datetime,
    swept: Swept,
    ids: Sequence[str],
    seen: Mapping[str, int],
    fallback_csm_id: str | None,
) -> None:
    """Write what the sweep of the accounts ``ids`` found: their alerts, their stored cards
    (with the new alerts' ids) and their next checks (``seen``: the counters read before)."""
    attach_alert_ids(swept.cards, apply_changes(conn, swept.changes, now))
    store_queue(conn, swept.cards, as_of=now, scope_ids=ids, fallback_csm_id=fallback_csm_id)
    record_checks(conn, now, swept.checks, seen, whole=False, skipped=ids)


def stored_queue(conn: Connection, owner_id: str | None = None) -> list[Card]:
    """Every stored card (or ``owner_id``'s), ranked: the queue as the last sweep left it."""
    q = select(QueueCard.card)
    if owner_id is not None:
        q = q.where(QueueCard.owner_id == owner_id)
    cards = [Card.from_stored(cast(dict[str, Any], data)) for (data,) in conn.execute(q)]
    cards.sort(key=card_rank)
    return cards


def as_sweep_result(result: IncrementalResult, cards: list[Card]) -> SweepResult:
    """The whole queue after an incremental sweep, shaped as a sweep's result (the sweep JSON:
    ``suppressed`` lists the suppressions of the re-evaluated accounts)."""
    return SweepResult(
        as_of=result.as_of,
        cards=cards,
        suppressed=result.suppressed,
        accounts=result.accounts,
        alerts_new=result.alerts_new,
        alerts_cleared=result.alerts_cleared,
    )
