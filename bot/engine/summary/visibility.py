"""Which summary sections an admin hid (the org's ``summary_settings`` row), audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from bot.db.models import AuditLog, SummarySettings
from bot.engine.summary.sections import SECTION_ORDER, SectionId, parse_hidden

ROW_ID = 1


def hidden_sections(conn: Connection) -> frozenset[SectionId]:
    stored = conn.execute(
        select(SummarySettings.hidden).where(SummarySettings.id == ROW_ID)
    ).scalar()
    return parse_hidden(stored)


def set_hidden_sections(
    conn: Connection, hidden: Iterable[SectionId], *, actor: str | None, now: datetime
) -> frozenset[SectionId]:
    """Store the hidden sections (audited as ``settings.summary``); the new set."""
    new = frozenset(hidden)
    before = sorted(hidden_sections(conn))
    values = [s.value for s in SECTION_ORDER if s in new]
    exists = conn.execute(select(SummarySettings.id).where(SummarySettings.id == ROW_ID)).scalar()
    if exists is None:
        conn.execute(
            insert(SummarySettings).values(
                id=ROW_ID, hidden=values, updated_at=now, updated_by=actor
            )
        )
    else:
        conn.execute(
            update(SummarySettings)
            .where(SummarySettings.id == ROW_ID)
            .values(hidden=values, updated_at=now, updated_by=actor)
        )
    conn.execute(
        insert(AuditLog).values(
            at=now,
            actor=actor,
            action="settings.summary",
            subject="org",
            details={"before": {"hidden": [s.value for s in before]}, "after": {"hidden": values}},
        )
    )
    return new
