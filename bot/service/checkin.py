"""A check-in email draft's "Mark sent": the CSM sent it, so it is recorded as an outbound email
of the account (an activity written by the bot; the account's rollups follow), once — a second
click, or a click on a stale copy of the DM, records nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from slack_sdk import WebClient
from sqlalchemy import Engine, Table, insert, select, update

from bot.blocks.action_messages import checkin_sent_message
from bot.blocks.message import SlackMessage
from bot.db.models import Account, ActionRun, Activity, AuditLog, User
from bot.db.upsert import insert_ignore
from bot.engine.execution import EmailDraft
from bot.engine.rollups import refresh_rollups
from bot.slack.users import user_for_slack_id


@dataclass(frozen=True, slots=True)
class CheckinReply:
    """The draft as it reads now (to replace the DM's), or a text for the clicker alone."""

    message: SlackMessage | None = None
    text: str | None = None


def _draft(result: dict[str, Any]) -> EmailDraft:
    raw = result.get("draft") or {}
    to = raw.get("to") or {}
    return EmailDraft(to.get("name"), to.get("email"), raw.get("subject", ""), raw.get("body", ""))


def mark_checkin_sent(
    engine: Engine, client: WebClient, run_id: int, slack_user_id: str | None, now: datetime
) -> CheckinReply:
    user_id = user_for_slack_id(engine, client, slack_user_id) if slack_user_id else None
    if user_id is None:
        return CheckinReply(text="You are not set up in Followup Bot, so nothing was recorded.")
    with engine.begin() as conn:
        row = conn.execute(
            select(ActionRun.account_id, ActionRun.result, Account.name)
            .join(Account, Account.id == ActionRun.account_id)
            .where(
                ActionRun.id == run_id,
                ActionRun.action == "send_checkin_email",
                ActionRun.status == "executed",
            )
        ).first()
        if row is None:
            return CheckinReply(text="This check-in draft is no longer known to Followup Bot.")
        result = dict(row.result or {})
        draft = _draft(result)
        recorded = insert_ignore(
            conn,
            cast(Table, Activity.__table__),
            {
                "id": f"bot-checkin-{run_id}",
                "account_id": row.account_id,
                "at": now,
                "kind": "email",
                "direction": "outbound",
                "subject": draft.subject,
                "body": draft.body,
                "user_id": user_id,
                "source": "bot",
            },
            ("id",),
        )
        if recorded is not None:
            refresh_rollups(conn, [row.account_id])
            result.update(sent_at=now.isoformat(), sent_by=user_id)
            conn.execute(update(ActionRun).where(ActionRun.id == run_id).values(result=result))
            conn.execute(
                insert(AuditLog).values(
                    at=now,
                    actor=user_id,
                    action="action.checkin_sent",
                    subject=f"account:{row.account_id}",
                    details={"run": run_id, "activity": f"bot-checkin-{run_id}"},
                )
            )
        sent_by = str(result.get("sent_by") or user_id)
        sent_at = datetime.fromisoformat(str(result.get("sent_at") or now.isoformat()))
        name = conn.execute(select(User.name).where(User.id == sent_by)).scalar() or sent_by
    return CheckinReply(message=checkin_sent_message(run_id, row.name, draft, name, sent_at))
