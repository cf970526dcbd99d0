"""Approvals in the org's approvals channel: the request (account, action, rationale, whom it
is for, Approve / Reject), the same message once decided (decision, decider, time, reason,
what came of it), the reminder in its thread, and the modal that asks a rejection's reason.
Every piece of customer text is escaped and cut to Slack's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks import mrkdwn as m
from bot.blocks.action_messages import PRIORITY_EMOJI
from bot.blocks.message import SlackMessage
from bot.blocks.values import ApprovalModalMeta, ApprovalRef
from bot.ids import ActionId, BlockId, CallbackId

REJECT_REASON_MAX = 500
ACTION_LABELS = {
    "create_discount_request": "Create a discount request",
    "reassign_ownership": "Reassign the account to another CSM",
    "send_checkin_email": "Send a check-in email",
    "add_to_onboarding_recovery": "Add to the onboarding recovery sequence",
    "create_support_task": "Create a support task",
    "escalate_to_specialist": "Escalate to a specialist",
    "add_to_low_adoption_nurture": "Add to the low-adoption nurture sequence",
    "notify_owner_slack": "Notify the owner in Slack",
    "schedule_checkpoint_7d": "Schedule a checkpoint in 7 days",
    "update_csm_health_score": "Update the CSM health score",
}


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    slack_user_id: str | None = None

    def mention(self) -> str:
        """``<@U…>`` (a ping) when they are in Slack, else their escaped name."""
        if self.slack_user_id:
            return f"<@{self.slack_user_id}>"
        return m.fit(m.one_line(self.name), 80)


@dataclass(frozen=True, slots=True)
class Approval:
    """One action run held for approval, as the channel message shows it."""

    run: int
    account_id: str
    account_name: str
    action: str
    priority: str
    rationale: str
    owner: Person | None  # whom it is for: the account's CSM
    manager: Person | None  # who decides (with any admin)
    status: str  # pending_approval | approved | rejected | executed | refused | failed
    created_at: datetime
    decided_by: str | None = None  # a name
    decided_at: datetime | None = None
    reason: str | None = None  # a rejection's
    error: str | None = None  # why a run after approval was refused or failed

    @property
    def decided(self) -> bool:
        return self.status != "pending_approval"


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def _date(at: datetime) -> str:
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def _request_blocks(a: Approval) -> list[Block]:
    name = m.one_line(a.account_name)
    emoji = PRIORITY_EMOJI.get(a.priority, "")
    reasons = [m.fit(m.one_line(r), 300) for r in a.rationale.split("; ") if r.strip()]
    owner = m.fit(m.one_line(a.owner.name), 80) if a.owner else "no CSM"
    decides = f"{a.manager.mention()} (their manager) or an admin" if a.manager else "an admin"
    if a.manager is not None and not a.manager.slack_user_id:
        decides += f" — {m.fit(m.one_line(a.manager.name), 80)} is not in Slack"
    head = {
        "pending_approval": f":raised_hand: Approval needed: {name}",
        "rejected": f":x: Rejected: {name}",
    }.get(a.status, f":white_check_mark: Approved: {name}")
    blocks: list[Block] = [
        HeaderBlock(block_id=BlockId.APPROVAL.at(str(a.run)), text=m.header_text(head)),
        SectionBlock(
            text=m.section_text(
                f"*{m.esc(action_label(a.action))}* on *{m.fit(name, 150)}*\n"
                f"{emoji} {m.esc(a.priority.capitalize())} priority · for {owner} (CSM)\n"
                f"*Why:*\n{m.bullets(reasons, 2000) if reasons else '—'}"
            )
        ),
    ]
    if not a.decided:
        blocks.append(ContextBlock(elements=[m.context_text(f"Decides: {decides}. Run #{a.run}.")]))
    return blocks


def approval_request_message(a: Approval, *, channel: str | None = None) -> SlackMessage:
    """The request as posted: Approve / Reject, each carrying the run."""
    value = ApprovalRef(run=a.run).dump()
    name = m.one_line(a.account_name)
    return SlackMessage(
        channel=channel,
        text=m.fallback(m.esc(f"Approval needed: {action_label(a.action)} on {name}")),
        blocks=[
            *_request_blocks(a),
            ActionsBlock(
                block_id=BlockId.APPROVAL_ACTIONS.at(str(a.run)),
                elements=[
                    ButtonElement(
                        action_id=ActionId.APPROVAL_APPROVE,
                        text=m.button_text(":white_check_mark: Approve"),
                        value=value,
                        style="primary",
                    ),
                    ButtonElement(
                        action_id=ActionId.APPROVAL_REJECT,
                        text=m.button_text(":x: Reject"),
                        value=value,
                        style="danger",
                    ),
                ],
            ),
        ],
    )


def decision_text(a: Approval) -> str:
    """One line: who decided what, when, and what came of it."""
    who = m.fit(m.one_line(a.decided_by or "someone"), 80)
    when = f" {_date(a.decided_at)}" if a.decided_at else ""
    if a.status == "rejected":
        why = f": “{m.fit(m.one_line(a.reason), REJECT_REASON_MAX)}”" if a.reason else ""
        return f":x: *Rejected* by {who}{when}{why}"
    done = {
        "approved": "running it now",
        "executed": "done",
        "refused": "not run: " + m.fit(m.one_line(a.error or "refused"), 300),
        "failed": "it failed: " + m.fit(m.one_line(a.error or "error"), 300),
    }.get(a.status, a.status)
    return f":white_check_mark: *Approved* by {who}{when} — {done}"


def approval_decided_message(a: Approval, *, channel: str | None = None) -> SlackMessage:
    """The request once decided: the buttons give way to the decision."""
    name = m.one_line(a.account_name)
    verb = "rejected" if a.status == "rejected" else "approved"
    return SlackMessage(
        channel=channel,
        text=m.fallback(m.esc(f"{action_label(a.action)} on {name}: {verb}")),
        blocks=[
            *_request_blocks(a),
            SectionBlock(
                block_id=BlockId.APPROVAL_DECISION.at(str(a.run)),
                text=m.section_text(decision_text(a)),
            ),
        ],
    )


def approval_message(a: Approval, *, channel: str | None = None) -> SlackMessage:
    """The message as it stands: the request while pending, else the decision."""
    if a.decided:
        return approval_decided_message(a, channel=channel)
    return approval_request_message(a, channel=channel)


def approval_reminder_message(a: Approval, *, channel: str | None = None) -> SlackMessage:
    """The one reminder, in the request's thread, a business day after it was posted."""
    who = f"{a.manager.mention()} or an admin" if a.manager else "An admin"
    name = m.fit(m.one_line(a.account_name), 150)
    return SlackMessage(
        channel=channel,
        text=m.fallback(m.esc(f"Reminder: still waiting for a decision on {a.account_name}")),
        blocks=[
            SectionBlock(
                text=m.section_text(
                    f":alarm_clock: Still waiting for a decision since {_date(a.created_at)}: "
                    f"*{m.esc(action_label(a.action))}* on *{name}*. {who}: "
                    "Approve or Reject above."
                )
            )
        ],
    )


def reject_modal(a: Approval, *, channel: str | None = None, ts: str | None = None) -> View:
    """Reject an approval: the reason is required (the CSM and the audit log see it)."""
    meta = ApprovalModalMeta(run=a.run, channel=channel, ts=ts)
    return View(
        type="modal",
        callback_id=CallbackId.APPROVAL_REJECT_MODAL,
        title=m.view_title("Reject action"),
        submit=m.view_button("Reject"),
        close=m.view_button("Cancel"),
        private_metadata=meta.dump(),
        blocks=[
            SectionBlock(
                text=m.section_text(
                    f"Reject *{m.esc(action_label(a.action))}* on "
                    f"*{m.fit(m.one_line(a.account_name), 200)}*? The bot will not run it."
                )
            ),
            InputBlock(
                block_id=BlockId.APPROVAL_REJECT_REASON,
                label=m.label("Why?"),
                element=PlainTextInputElement(
                    action_id=ActionId.APPROVAL_REJECT_REASON,
                    multiline=True,
                    max_length=REJECT_REASON_MAX,
                    placeholder=m.placeholder("e.g. Discount already agreed on the last call"),
                ),
                hint=m.plain("Shown in the channel and kept in the audit log.", m.LABEL),
            ),
        ],
    )
