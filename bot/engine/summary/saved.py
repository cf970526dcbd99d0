"""Saved summaries: every save is a new version of the account's summary; none is replaced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select

from bot.db.models import Account, AuditLog, SavedSummary
from bot.engine.summary.model import Summary

LISTED = 20  # saved versions listed at once


@dataclass(frozen=True, slots=True)
class SavedRef:
    id: int
    account_id: str
    version: int
    saved_at: datetime
    saved_by: str | None
    generator: str
    period: dict[str, Any]


def save_summary(
    conn: Connection, summary: Summary, *, saved_by: str | None, now: datetime
) -> SavedRef:
    """Store ``summary`` as the account's next version (audited as ``summary.saved``)."""
    latest = conn.execute(
        select(func.max(SavedSummary.version)).where(SavedSummary.account_id == summary.account_id)
    ).scalar()
    version = int(latest or 0) + 1
    content = summary.to_json()
    new_id = conn.execute(
        insert(SavedSummary)
        .values(
            account_id=summary.account_id,
            version=version,
            saved_at=now,
            saved_by=saved_by,
            period_since=summary.period.since,
            period_until=summary.period.until,
            generator=summary.generator.value,
            content=content,
        )
        .returning(SavedSummary.id)
    ).scalar_one()
    conn.execute(
        insert(AuditLog).values(
            at=now,
            actor=saved_by,
            action="summary.saved",
            subject=f"account:{summary.account_id}",
            details={
                "account": summary.account_id,
                "account_name": summary.account_name,
                "saved_summary": new_id,
                "version": version,
                "generator": summary.generator.value,
                "period": content["period"],
            },
        )
    )
    return SavedRef(
        id=new_id,
        account_id=summary.account_id,
        version=version,
        saved_at=now,
        saved_by=saved_by,
        generator=summary.generator.value,
        period=content["period"],
    )


def saved_summaries(conn: Connection, account_id: str) -> list[SavedRef]:
    """The account's saved summaries, newest first."""
    s = SavedSummary
    rows = conn.execute(
        select(s.id, s.account_id, s.version, s.saved_at, s.saved_by, s.generator, s.content)
        .where(s.account_id == account_id)
        .order_by(s.version.desc())
        .limit(LISTED)
    ).all()
    return [
        SavedRef(
            r.id,
            r.account_id,
            r.version,
            r.saved_at,
            r.saved_by,
            r.generator,
            r.content.get("period", {}),
        )
        for r in rows
    ]


def load_saved(conn: Connection, saved_id: int) -> tuple[SavedRef, Summary] | None:
    s = SavedSummary
    row = conn.execute(
        select(s.id, s.account_id, s.version, s.saved_at, s.saved_by, s.generator, s.content).where(
            s.id == saved_id
        )
    ).first()
    if row is None:
        return None
    ref = SavedRef(
        row.id,
        row.account_id,
        row.version,
        row.saved_at,
        row.saved_by,
        row.generator,
        row.content.get("period", {}),
    )
    return ref, Summary.from_json(row.content)


@dataclass(frozen=True, slots=True)
class SavedItem:
    """A saved summary as the App Home lists it."""

    ref: SavedRef
    account_name: str


def recent_saved(conn: Connection, user_id: str, limit: int = 5) -> list[SavedItem]:
    """The latest saved summaries of ``user_id``'s accounts or saved by them, newest first."""
    s = SavedSummary
    rows = conn.execute(
        select(s.id, s.account_id, s.version, s.saved_at, s.saved_by, s.generator, Account.name)
        .join(Account, Account.id == s.account_id)
        .where(or_(Account.csm_id == user_id, s.saved_by == user_id))
        .order_by(s.saved_at.desc(), s.id.desc())
        .limit(limit)
    ).all()
    return [
        SavedItem(
            SavedRef(r.id, r.account_id, r.version, r.saved_at, r.saved_by, r.generator, {}),
            str(r.name),
        )
        for r in rows
    ]
