"""The messages an executed action sends: a heads-up DM to the account's owner, a check-in
email draft DMed to the CSM with "Mark sent", a post in the org's specialists channel, and the
two DMs of a reassignment. Every piece of customer text is escaped and cut to Slack's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.blocks import mrkdwn as m
from bot.blocks.message import SlackMessage
from bot.engine.execution import EmailDraft
from bot.ids import ActionId, BlockId

PRIORITY_EMOJI = {
    "urgent": ":red_circle:",
    "high": ":large_orange_circle:",
    "normal": ":large_yellow_circle:",
    "low": ":white_circle:",
}
FOOTER = "Sent by Followup Bot as an automatic action (your org's action policy)."


def _why(rationale: Sequence[str]) -> str:
    return m.bullets([m.fit(m.one_line(r), 300) for r in rationale], 2000)


def _footer(run_id: int, approved_by: str | None) -> ContextBlock:
    how = f"Approved by {m.esc(approved_by)}." if approved_by else FOOTER
    return ContextBlock(
        block_id=BlockId.ACTION_NOTICE.at(str(run_id)), elements=[m.context_text(how)]
    )


def notify_owner_message(
    run_id: int,
    account_name: str,
    priority: str,
    rationale: Sequence[str],
    *,
    approved_by: str | None = None,
) -> SlackMessage:
    """``notify_owner_slack``: the owner hears what needs them on one account."""
    name = m.one_line(account_name)
    emoji = PRIORITY_EMOJI.get(priority, "")
    return SlackMessage(
        text=m.fallback(m.esc(f"Heads-up on {name}: {priority} priority")),
        blocks=[
            HeaderBlock(text=m.header_text(f":bell: Heads-up: {name}")),
            SectionBlock(
                text=m.section_text(
                    f"{emoji} *{m.esc(priority.capitalize())} priority* — here is what needs "
                    f"you on *{m.fit(name, 150)}*:\n{_why(rationale)}"
                )
            ),
            _footer(run_id, approved_by),
        ],
    )


def checkin_draft_message(
    run_id: int,
    account_name: str,
    draft: EmailDraft,
    rationale: Sequence[str],
    *,
    approved_by: str | None = None,
) -> SlackMessage:
    """``send_checkin_email``: a draft the CSM sends themselves; "Mark sent" records it."""
    name = m.one_line(account_name)
    to = draft.to_email or "(no contact with an email: pick one)"
    if draft.to_name and draft.to_email:
        to = f"{draft.to_name} <{draft.to_email}>"
    quoted = "\n".join("> " + m.esc(line) if line else ">" for line in draft.body.split("\n"))
    return SlackMessage(
        text=m.fallback(m.esc(f"Check-in email draft for {name}")),
        blocks=[
            HeaderBlock(text=m.header_text(f":envelope: Check-in email: {name}")),
            SectionBlock(
                text=m.section_text(
                    f"A check-in is due on *{m.fit(name, 150)}*:\n{_why(rationale)}"
                )
            ),
            SectionBlock(
                block_id=BlockId.CHECKIN_DRAFT.at(str(run_id)),
                text=m.section_text(
                    f"*To:* {m.fit(to, 300)}\n*Subject:* "
                    f"{m.fit(m.one_line(draft.subject), 200)}\n{quoted}"
                ),
            ),
            ActionsBlock(
                block_id=BlockId.CHECKIN_ACTIONS.at(str(run_id)),
                elements=[
                    ButtonElement(
                        action_id=ActionId.CHECKIN_MARK_SENT,
                        text=m.button_text(":white_check_mark: Mark sent"),
                        value=str(run_id),
                        style="primary",
                    )
                ],
            ),
            _footer(run_id, approved_by),
        ],
    )


def checkin_sent_message(
    run_id: int, account_name: str, draft: EmailDraft, by: str, at: datetime
) -> SlackMessage:
    """The draft after "Mark sent": the button gives way to who sent it and when."""
    name = m.one_line(account_name)
    return SlackMessage(
        text=m.fallback(m.esc(f"Check-in email to {name} marked sent")),
        blocks=[
            HeaderBlock(text=m.header_text(f":envelope: Check-in email: {name}")),
            SectionBlock(
                block_id=BlockId.CHECKIN_DRAFT.at(str(run_id)),
                text=m.section_text(
                    f"*Subject:* {m.fit(m.one_line(draft.subject), 200)}\n"
                    f":white_check_mark: Marked sent by {m.esc(by)} "
                    f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d}>"
                    " — recorded as an outbound email."
                ),
            ),
        ],
    )


def specialist_message(
    run_id: int,
    account_name: str,
    owner_name: str | None,
    priority: str,
    rationale: Sequence[str],
    *,
    approved_by: str | None = None,
) -> SlackMessage:
    """``escalate_to_specialist``: a post in the org's specialists channel."""
    name = m.one_line(account_name)
    owner = m.fit(m.one_line(owner_name), 80) if owner_name else "no CSM"
    emoji = PRIORITY_EMOJI.get(priority, "")
    return SlackMessage(
        text=m.fallback(m.esc(f"{name} needs a specialist ({priority} priority)")),
        blocks=[
            HeaderBlock(text=m.header_text(f":sos: Specialist needed: {name}")),
            SectionBlock(
                text=m.section_text(
                    f"{emoji} *{m.esc(priority.capitalize())} priority* — "
                    f"*{m.fit(name, 150)}* (CSM: {owner}) needs a specialist:\n"
                    f"{_why(rationale)}"
                )
            ),
            _footer(run_id, approved_by),
        ],
    )


def reassigned_message(
    run_id: int,
    account_name: str,
    *,
    to_new_owner: bool,
    previous: str | None,
    new: str,
    rationale: Sequence[str],
    approved_by: str | None = None,
) -> SlackMessage:
    """``reassign_ownership``: what the new owner (or the previous one) is told."""
    name = m.fit(m.one_line(account_name), 150)
    was = m.fit(m.one_line(previous), 80) if previous else "no one"
    if to_new_owner:
        head = f":inbox_tray: You now own {m.one_line(account_name)}"
        text = f"*{name}* is yours now (it was with {was}):\n{_why(rationale)}"
    else:
        head = f":outbox_tray: {m.one_line(account_name)} moved"
        text = f"*{name}* moved to *{m.fit(m.one_line(new), 80)}*:\n{_why(rationale)}"
    return SlackMessage(
        text=m.fallback(m.esc(head.split(" ", 1)[1])),
        blocks=[
            HeaderBlock(text=m.header_text(head)),
            SectionBlock(text=m.section_text(text)),
            _footer(run_id, approved_by),
        ],
    )
