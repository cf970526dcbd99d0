"""Immediate actions: the account's open obligations.

For now they come from a dry-run sweep of that one account (what its card would say today):
the stored queue is being built separately, and :func:`open_obligations` is the one place to
switch to it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from bot.engine.results import Reason
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
    """What the account's card says today, most severe first (empty when it is not flagged
    or excluded)."""
    result = run_sweep(engine, now, dry_run=True, account_ids=[account_id])
    card = next((c for c in result.cards if c.account == account_id), None)
    if card is None:
        return []
    reasons = sorted(card.reasons, key=lambda r: _SEVERITY_RANK.get(r.severity.value, 9))
    return [_obligation(r) for r in reasons]
