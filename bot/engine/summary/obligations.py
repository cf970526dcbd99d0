"""Immediate actions: the account's open obligations, from the stored queue.

They are the reasons of the account's stored card (what the last recording sweep found) still
open now — done, dismissed or snoozed ones are left out, as on every surface. On a database no
recording sweep has run on yet, a dry-run sweep of that one account stands in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from bot.db.models import Exclusion, SweepRun
from bot.engine.business_time import local_date
from bot.engine.queue import alert_views, stored_card, with_states
from bot.engine.results import Card, Reason
from bot.engine.summary.records import Obligation
from bot.engine.sweep import run_sweep

_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def evidence_ids(evidence: str) -> tuple[str, ...]:
    """The record id an alert's evidence names: ``task:t-1@2026-11-10`` → ``("t-1",)``;
    none for evidence that names no record (``health:DATE``, ``created:DATE``)."""
    kind, sep, rest = evidence.partition(":")
    if not sep or kind not in ("activity", "meeting", "task", "request"):
        return ()
    record = rest.split("@", 1)[0]
    return (record,) if record else ()


def _obligation(reason: Reason) -> Obligation:
    return Obligation(
        text=reason.detail,
        refs=evidence_ids(reason.evidence),
        severity=reason.severity.value,
        lane=reason.lane.value,
    )


def open_obligations(engine: Engine, account_id: str, now: datetime) -> list[Obligation]:
    """What the account's card says now, most severe first (empty when it is not flagged or
    excluded)."""
    card = _current_card(engine, account_id, now)
    if card is None:
        return []
    reasons = sorted(card.reasons, key=lambda r: _SEVERITY_RANK.get(r.severity.value, 9))
    return [_obligation(r) for r in reasons]


def _current_card(engine: Engine, account_id: str, now: datetime) -> Card | None:
    with engine.connect() as conn:
        until = conn.execute(
            select(Exclusion.until).where(Exclusion.account_id == account_id)
        ).first()
        if until is not None and (until[0] is None or until[0] >= local_date(now, "UTC")):
            return None
        card = stored_card(conn, account_id)
        if card is not None:
            return with_states(card, alert_views(conn, card.alert_ids.values()), now)
        if conn.execute(select(SweepRun.id).limit(1)).first() is not None:
            return None  # swept, and not flagged
    result = run_sweep(engine, now, dry_run=True, account_ids=[account_id])
    return next((c for c in result.cards if c.account == account_id), None)
