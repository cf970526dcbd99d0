"""Messages other than the digest and the summary (``bot.blocks.summary``): the manager
escalation, the receipt after a triage click (with Undo), and the account picker of
``/account-summary``."""

from __future__ import annotations

import re
from collections.abc import Sequence
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
from bot.blocks.values import CardRef, SummaryRef, UndoValue
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


def escalation_message(
    card: Card,
    csm_name: str,
    manager: UserFacts,
    *,
    channel: str | None = None,
    now: datetime | None = None,
) -> SlackMessage:
    """Tell ``manager`` that ``csm_name``'s card has gone unhandled past the escalation SLA (or
    that the account's health tier dropped). Posted to ``channel`` (the org's escalation
    channel) with a mention of the manager, else to the manager's DM."""
    dm = manager.slack_user_id or manager.id
    target = channel or dm
    mention = _mention(manager) if channel and channel != dm else None
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
    blocks: list[Block] = [
        HeaderBlock(
            text=m.header_text(f":rotating_light: Escalation: {m.one_line(card.account_name)}")
        ),
        SectionBlock(
            text=m.section_text(
                f"{greeting}*{who}*'s account needs a hand — {why_now}\n"
                + m.bullets(why, 2000, bullet="")
            )
        ),
        card_section(card),
        card_facts(
            card,
            owner=csm_name,
            today=style.local(now, manager.timezone).date() if now else None,
        ),
        ActionsBlock(
            block_id=BlockId.ESCALATION_ACTIONS.at(card.account),
            elements=[
                ButtonElement(
                    action_id=ActionId.CARD_SUMMARY,
                    text=m.button_text(":page_facing_up: Account summary"),
                    value=SummaryRef(account=card.account).dump(),
                    style="primary",
                ),
            ],
        ),
        ContextBlock(
            elements=[
                m.context_text(
                    "Escalated once per alert. Snoozing or resolving the card stops escalation."
                )
            ]
        ),
    ]
    text = (
        f"Escalation: {m.fit(m.one_line(card.account_name), 150)} ({who}) — "
        f"{m.fit(m.one_line(urgent[0].detail), 300) if urgent else 'needs attention'}"
    )
    return SlackMessage(text=m.fallback(text), blocks=blocks, channel=target)


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
