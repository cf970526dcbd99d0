"""The pre-meeting DM: an hour before each upcoming meeting, its account's CSM (the org's
fallback CSM for an account with none) gets the meeting-prep brief, once.

A scheduler job (:func:`bot.service.rounds.run_round`): every meeting starting within the next
:data:`LEAD` (not canceled, of an account that is neither churned nor inactive) is enqueued as
an outbox DM under the key ``prep:MEETING_ID@STARTS_AT`` — a second round, or another process,
adds nothing (ON CONFLICT DO NOTHING), and the outbox drain sends it exactly once. A meeting
moved to another time gets a brief for its new time. Meetings whose key is queued already are
skipped before their brief is built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, or_, select

from bot.blocks.prep import prep_message
from bot.db.models import Account, Meeting, OutboxMessage
from bot.engine.facts import NEVER_FLAGGED_STATUSES, load_org, load_users
from bot.engine.prep import build_brief
from bot.engine.results import iso_z
from bot.service.outbox import Kind, Message, enqueue

log = logging.getLogger(__name__)

LEAD = timedelta(hours=1)
PER_ROUND = 200


def prep_key(meeting_id: str, starts_at: datetime) -> str:
    return f"prep:{meeting_id}@{iso_z(starts_at)}"


@dataclass(slots=True)
class PrepReport:
    queued: list[str] = field(default_factory=list)  # meeting ids
    no_csm: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.queued)} queued"
        return text + (f", {len(self.no_csm)} with no CSM" if self.no_csm else "")


def queue_prep_dms(engine: Engine, now: datetime, *, lead: timedelta = LEAD) -> PrepReport:
    """Enqueue the brief of every meeting starting in ``(now, now + lead]`` not queued yet."""
    report = PrepReport()
    with engine.connect() as conn:
        org = load_org(conn)
        users = load_users(conn, org.timezone)
        rows = conn.execute(
            select(Meeting.id, Meeting.account_id, Meeting.starts_at, Account.csm_id)
            .join(Account, Account.id == Meeting.account_id)
            .where(
                Meeting.starts_at > now,
                Meeting.starts_at <= now + lead,
                Meeting.canceled.is_not(True),
                or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)),
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(PER_ROUND)
        ).all()
        keys = {r.id: prep_key(r.id, r.starts_at) for r in rows}
        queued = set(
            conn.execute(
                select(OutboxMessage.key).where(OutboxMessage.key.in_(list(keys.values())))
            ).scalars()
        )
    for row in rows:
        key = keys[row.id]
        if key in queued:
            continue
        csm = row.csm_id or org.fallback_csm_id
        reader = users.get(csm) if csm else None
        if reader is None or not reader.active:
            report.no_csm.append(row.id)
            continue
        brief = build_brief(engine, row.account_id, now, meeting_id=row.id)
        message = prep_message(brief, tz=reader.timezone, reminder=True)
        with engine.begin() as conn:
            added = enqueue(
                conn,
                Message(key, Kind.DM, reader.id, message.to_dict(), f"meeting:{row.id}"),
                now,
            )
        if added:
            report.queued.append(row.id)
    return report
