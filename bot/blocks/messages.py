"""Messages other than the digest and the summary (``bot.blocks.summary``): the manager
escalation, the receipt after a triage click (with Undo), and the account picker of
``/account-summary``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.cards import card_facts, card_section
from bot.blocks.message import SlackMessage
from bot.blocks.values import CardRef, EscalationRef, SummaryRef, UndoValue
from bot.engine.facts import UserFacts
from bot.engine.results import Card
from bot.engine.rules import Severity
from bot.ids import ActionId, BlockId

PICKER_OPTIONS = 100
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def _mention(user: UserFacts) -> str | None:
    """``<@U…>`` for a well-formed Slack user id (never built from customer text)."""
    sid = user.slack_user_id or ""
    return f"<@{sid}>" if _SLACK_USER_ID.match(sid) else None


# ------------------------------------------------------------------- account picker


def summary_picker_message(
    accounts: Sequence[tuple[str, str]],
    *,
    channel: str | None = None,
    intro: str | None = None,
) -> SlackMessage:
    """``/account-summary`` with no account, or several: pick one of ``(account id, name)``.
    ``intro`` is our own mrkdwn (escape any customer text in it)."""
    question = "Which account should I summarize?"
    intro = intro or f":page_facing_up: {question}"
    shown = list(accounts)[:PICKER_OPTIONS]
    blocks: list[Block] = []
    if shown:
        blocks.append(
            SectionBlock(
                block_id=BlockId.SUMMARY_PICKER,
                text=m.section_text(intro),
                accessory=StaticSelectElement(
                    action_id=ActionId.SUMMARY_PICK_ACCOUNT,
                    placeholder=m.placeholder("Choose an account"),
                    options=[
                        Option(
                            value=SummaryRef(account=acc).dump(),
                            text=m.option_text(name),
                        )
                        for acc, name in shown
                    ],
                ),
            )
        )
    hint = "Or type `/account-summary ACCOUNT` with an account name or id."
    if len(accounts) > len(shown):
        hint = f"Showing {len(shown)} of {len(accounts)} accounts. " + hint
    else:
        blocks.append(SectionBlock(text=m.section_text(intro)))
    blocks.append(ContextBlock(elements=[m.context_text(hint)]))
    text = m.fallback(intro.replace("*", "").replace(":page_facing_up: ", ""))
    return SlackMessage(text=text, blocks=blocks, channel=channel)


# ----------------------------------------------------------------------- escalation


@dataclass(frozen=True, slots=True)
class EscalationStatus:
    """What happened to an escalation since it was sent (names already resolved)."""

    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    reassigned_to: str | None = None
    reassigned_by: str | None = None


def escalation_message(
    card: Card,
    csm_name: str,
    manager: UserFacts | None,
    *,
    channel: str | None = None,
    now: datetime | None = None,
    ref: EscalationRef | None = None,
    status: EscalationStatus | None = None,
    has_csm: bool = True,
) -> SlackMessage:
    """Tell ``manager`` that ``csm_name``'s card has gone unhandled past the escalation SLA (or
    that the account's health tier dropped). Posted to ``channel`` (the org's escalation
    channel) with a mention of the manager, else to the manager's DM (``manager`` may be the
    fallback CSM or an admin; None in a channel when nobody manages the CSM).

    With ``ref`` (a stored escalation) it carries Acknowledge / Reassign / Nudge CSM, and
    ``status`` says who acknowledged or reassigned it (Acknowledge then goes away)."""
    dm = (manager.slack_user_id or manager.id) if manager is not None else None
    target = channel or dm
    mention = _mention(manager) if manager is not None and channel and channel != dm else None
    greeting = f"{mention} " if mention else ""
    who = m.fit(m.one_line(csm_name), 80)
    urgent = [
        r for r in card.reasons if r.severity is Severity.CRITICAL or r.facts.get("tier_drop")
    ] or card.reasons[:1]
    tier_drop = any(r.facts.get("tier_drop") for r in card.reasons)
    why_now = (
        "its health tier just dropped."
        if tier_drop
        else "a critical follow-up has waited past the escalation SLA."
    )
    why = [
        f"{style.SEVERITY_EMOJI[r.severity]} *{m.esc(style.signal_title(r.signal))}* — "
        f"{m.fit(m.one_line(r.detail), 300)}"
        for r in urgent
    ]
    whose = f"*{who}*'s account" if has_csm else "This account (no CSM)"
    tz = manager.timezone if manager is not None else "UTC"
    blocks: list[Block] = [
        HeaderBlock(
            text=m.header_text(f":rotating_light: Escalation: {m.one_line(card.account_name)}")
        ),
        SectionBlock(
            text=m.section_text(
                f"{greeting}{whose} needs a hand — {why_now}\n" + m.bullets(why, 2000, bullet="")
            )
        ),
        card_section(card),
        card_facts(card, owner=csm_name, today=style.local(now, tz).date() if now else None),
    ]
    buttons: list[ButtonElement] = []
    done = status is not None and status.acknowledged_by is not None
    if ref is not None:
        value = ref.dump()
        if not done:
            buttons.append(
                ButtonElement(
                    action_id=ActionId.ESCALATION_ACK,
                    text=m.button_text(":ok_hand: Acknowledge"),
                    value=value,
                    style="primary",
                )
            )
        buttons.append(
            ButtonElement(
                action_id=ActionId.ESCALATION_REASSIGN,
                text=m.button_text(":busts_in_silhouette: Reassign"),
                value=value,
            )
        )
        if has_csm:
            buttons.append(
                ButtonElement(
                    action_id=ActionId.ESCALATION_NUDGE,
                    text=m.button_text(":wave: Nudge CSM"),
                    value=value,
                )
            )
    buttons.append(
        ButtonElement(
            action_id=ActionId.CARD_SUMMARY,
            text=m.button_text(":page_facing_up: Account summary"),
            value=SummaryRef(account=card.account).dump(),
            style=None if ref is not None else "primary",
        )
    )
    blocks.append(
        ActionsBlock(block_id=BlockId.ESCALATION_ACTIONS.at(card.account), elements=buttons)
    )
    lines = []
    if status is not None and status.acknowledged_by is not None:
        when = (
            f" {style.when_label(status.acknowledged_at, tz, now)}"
            if status.acknowledged_at is not None and now is not None
            else ""
        )
        lines.append(
            f":white_check_mark: Acknowledged by *{m.fit(m.one_line(status.acknowledged_by), 80)}*"
            f"{when} — no reminder will follow."
        )
    if status is not None and status.reassigned_to is not None:
        by = m.fit(m.one_line(status.reassigned_by or "someone"), 80)
        lines.append(
            f":busts_in_silhouette: Reassigned to "
            f"*{m.fit(m.one_line(status.reassigned_to), 80)}* by {by}."
        )
    if lines:
        blocks.append(
            SectionBlock(
                block_id=BlockId.ESCALATION_STATUS.at(card.account),
                text=m.section_text("\n".join(lines)),
            )
        )
    hint = (
        "Escalated once per alert. Acknowledge stops the reminder; snoozing or resolving the "
        "card stops escalation."
        if ref is not None
        else "Escalated once per alert. Snoozing or resolving the card stops escalation."
    )
    blocks.append(ContextBlock(elements=[m.context_text(hint)]))
    text = (
        f"Escalation: {m.fit(m.one_line(card.account_name), 150)} ({who}) — "
        f"{m.fit(m.one_line(urgent[0].detail), 300) if urgent else 'needs attention'}"
    )
    return SlackMessage(text=m.fallback(text), blocks=blocks, channel=target)


def escalation_reminder_message(
    account_name: str, csm_name: str, recipient: UserFacts | None, hours: float
) -> SlackMessage:
    """The one reminder, in the escalation's thread, when nobody acknowledged it."""
    mention = _mention(recipient) if recipient is not None else None
    greeting = f"{mention} " if mention else ""
    name = m.fit(m.one_line(account_name), 150)
    line = (
        f":alarm_clock: {greeting}Reminder: nobody has acknowledged the escalation of *{name}* "
        f"({m.fit(m.one_line(csm_name), 80)}) in {hours:g} business hours. Acknowledge it above "
        "once someone is on it."
    )
    return SlackMessage(
        text=m.fallback(line.replace("*", "")), blocks=[SectionBlock(text=m.section_text(line))]
    )


def nudge_message(account_name: str, sender: str, detail: str | None) -> SlackMessage:
    """A manager's Nudge CSM: a DM to the account's CSM."""
    name = m.fit(m.one_line(account_name), 150)
    line = (
        f":wave: *{m.fit(m.one_line(sender), 80)}* asks you to look at *{name}* today — "
        "it was escalated."
    )
    if detail:
        line += f"\n> {m.fit(m.one_line(detail), 500)}"
    return SlackMessage(
        text=m.fallback(line.replace("*", "")), blocks=[SectionBlock(text=m.section_text(line))]
    )


def account_moved_message(
    account_name: str, *, to_name: str, from_name: str | None, by: str, to_you: bool
) -> SlackMessage:
    """Told to both CSMs when a manager reassigns an escalated account."""
    name = m.fit(m.one_line(account_name), 150)
    by_name = m.fit(m.one_line(by), 80)
    if to_you:
        was = f" (from {m.fit(m.one_line(from_name), 80)})" if from_name else ""
        line = (
            f":busts_in_silhouette: *{by_name}* moved *{name}* to you{was} after an "
            "escalation. Its card is in your App Home."
        )
    else:
        line = (
            f":busts_in_silhouette: *{by_name}* moved *{name}* to "
            f"*{m.fit(m.one_line(to_name), 80)}* after an escalation."
        )
    return SlackMessage(
        text=m.fallback(line.replace("*", "")), blocks=[SectionBlock(text=m.section_text(line))]
    )


def wakeup_message(account_names: Sequence[str], count: int) -> SlackMessage:
    """One DM line per round: the snoozed follow-ups that came back."""
    what = "snoozed follow-up is" if count == 1 else "snoozed follow-ups are"
    line = f":alarm_clock: {count} {what} back"
    shown = [m.fit(m.one_line(n), 150) for n in account_names[:10]]
    more = len(account_names) - len(shown)
    names = ", ".join(f"*{n}*" for n in shown) + (f" and {more} more" if more else "")
    text = f"{line} — {names}. They're in your App Home." if names else f"{line}."
    return SlackMessage(
        text=m.fallback(text.replace("*", "")),
        blocks=[SectionBlock(block_id=BlockId.WAKEUP, text=m.section_text(text))],
    )


# -------------------------------------------------------------------------- receipt

Op = Literal["done", "snooze", "dismiss"]


def receipt_message(
    account_name: str,
    op: Op,
    ref: CardRef,
    *,
    until: datetime | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
    channel: str | None = None,
) -> SlackMessage:
    """What a card turns into after a click: one line and an Undo button."""
    name = f"*{m.fit(m.one_line(account_name), 150)}*"
    if op == "done":
        line = f":white_check_mark: {name} marked done. Nice work."
    elif op == "snooze":
        when = style.when_label(until, tz, now) if until else "later"
        line = f":zzz: {name} snoozed — back {when}."
    else:
        line = f":no_entry_sign: {name} dismissed."
    blocks: list[Block] = [
        SectionBlock(
            block_id=BlockId.RECEIPT.at(ref.account),
            text=m.section_text(line),
            accessory=ButtonElement(
                action_id=ActionId.UNDO,
                text=m.button_text(":leftwards_arrow_with_hook: Undo"),
                value=UndoValue(op=op, account=ref.account, alerts=ref.alerts or ()).dump(),
            ),
        )
    ]
    plain_line = line.replace("*", "")
    return SlackMessage(text=m.fallback(plain_line), blocks=blocks, channel=channel)
