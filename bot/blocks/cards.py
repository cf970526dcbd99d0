"""One lane card as Block Kit: what to do, why, and the buttons to act on it.

A card is three blocks (so a digest fits 15 of them in one message):

1. a section: severity marker, the account name linked to the CRM, segment badge and action
   score; the conversation hook; why it was flagged; the next step; "They're waiting on you";
2. a context: reason badges grouped by signal group, then owner · MRR · Health · CSM/AI Pulse
   (with a divergence warning), then last touch · open requests · upcoming meeting · renewal;
3. actions: Done, Snooze (tomorrow 09:00 / 3 business days / next Monday / pick a date…),
   Dismiss, Summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.values import (
    PICK_DATE,
    CardRef,
    DoActionValue,
    SnoozeOption,
    SummaryRef,
    UndoValue,
)
from bot.engine.alerts import AlertState
from bot.engine.digest import Handled
from bot.engine.results import Card, Reason
from bot.engine.rules import Lane, Severity
from bot.engine.triage import SnoozeChoice
from bot.ids import ActionId, BlockId

Op = Literal["done", "snooze", "dismiss"]

CARD_BLOCKS = 3  # blocks per card (the digest and home budgets count on it)
HOOK_MAX = 300
SUMMARY_MAX = 700
NEXT_STEP_MAX = 400
WAITING_ITEM_MAX = 200
WAITING_MAX_ITEMS = 6
NAME_MAX = 150

SNOOZE_CHOICES: tuple[tuple[SnoozeChoice | str, str], ...] = (
    (SnoozeChoice.TOMORROW, "Tomorrow 09:00"),
    (SnoozeChoice.THREE_BUSINESS_DAYS, "In 3 business days"),
    (SnoozeChoice.NEXT_MONDAY, "Next Monday 09:00"),
    (PICK_DATE, "Pick a date…"),
)


def account_title(card: Card) -> str:
    """``*<crm|Account name>*`` (escaped, linked when the CRM URL is usable)."""
    return f"*{m.link(card.crm_url, card.account_name, NAME_MAX)}*"


def card_section(card: Card) -> SectionBlock:
    head = [style.SEVERITY_EMOJI[card.severity], account_title(card)]
    badge = style.segment_badge(card.segment)
    if badge:
        head.append(badge)
    head.append(f"·  score *{style.score(card.action_score)}*")
    if card.escalate:
        head.append("·  :rotating_light: _escalating_")
    lines = ["  ".join(head)]
    if card.hook:
        lines.append(f">:speech_balloon: _{m.fit(m.one_line(card.hook), HOOK_MAX)}_")
    if card.summary:
        lines.append(m.fit(card.summary.strip(), SUMMARY_MAX))
    if card.next_step:
        lines.append(f"*Next step:* {m.fit(m.one_line(card.next_step), NEXT_STEP_MAX)}")
    if card.lane is Lane.OWE and card.waiting_on_you:
        items = [m.fit(m.one_line(i), WAITING_ITEM_MAX) for i in card.waiting_on_you]
        shown = items[:WAITING_MAX_ITEMS]
        lines.append(
            "*They're waiting on you*\n"
            + m.bullets(shown, 1200, more=len(items) - len(shown), bullet=":small_orange_diamond:")
        )
    return SectionBlock(
        block_id=BlockId.CARD.at(card.account), text=m.section_text("\n".join(lines))
    )


def reason_badges(reasons: Sequence[Reason]) -> str:
    """``:dart: *Act now* :red_circle:`Unreplied email` …`` grouped by signal group; a
    signal that fired several times shows once with ``×N`` and its highest severity."""
    parts: list[str] = []
    for group in style.GROUP_ORDER:
        counts: dict[str, tuple[int, Severity]] = {}
        for r in reasons:
            if r.group is not group:
                continue
            n, sev = counts.get(r.signal, (0, r.severity))
            counts[r.signal] = (n + 1, max(sev, r.severity, key=lambda s: s.rank))
        if not counts:
            continue
        badges = " ".join(
            f"{style.SEVERITY_EMOJI[sev]}`{style.signal_title(sig)}{f' ×{n}' if n > 1 else ''}`"
            for sig, (n, sev) in counts.items()
        )
        parts.append(f"{style.GROUP_EMOJI[group]} *{group.label}* {badges}")
    return "    ".join(parts)


def pulse_line(card: Card) -> str:
    p = card.pulse
    if p.health is None:
        health = ":stethoscope: Health —"
    else:
        detail = style.health_detail(p.health_tier, p.health_delta)
        health = f":stethoscope: Health *{p.health:g}*" + (f" _({detail})_" if detail else "")
    csm = "—" if p.csm is None else f"*{p.csm}*"
    ai = "—" if p.ai is None else f"*{p.ai}*"
    pulse = f"CSM Pulse {csm} · AI Pulse {ai}"
    if p.divergent:
        pulse += " :warning: _CSM and AI pulse disagree — gut-check it_"
    return f"{health}  ·  {pulse}"


def owner_label(card: Card, owner: str | None) -> str:
    if card.csm is None:
        return ":bust_in_silhouette: _no CSM — you're the fallback_"
    return f":bust_in_silhouette: {m.fit(m.one_line(owner or card.csm), 80)}"


def activity_line(card: Card, today: date | None) -> str:
    parts = [f":clock3: {style.days_ago(card.last_touch_days)}"]
    if card.open_requests:
        high = f" ({card.high_impact_requests} high-impact)" if card.high_impact_requests else ""
        noun = "request" if card.open_requests == 1 else "requests"
        parts.append(f":inbox_tray: {card.open_requests} open {noun}{high}")
    else:
        parts.append(":inbox_tray: no open requests")
    parts.append(
        ":calendar: meeting coming up" if card.upcoming_meeting else ":calendar: no meeting booked"
    )
    renewal = style.renewal_label(card.renewal_date, today)
    if renewal:
        parts.append(f":hourglass: {renewal}")
    return "  ·  ".join(parts)


def card_facts(card: Card, *, owner: str | None, today: date | None) -> ContextBlock:
    lines = [
        reason_badges(card.reasons),
        f"{owner_label(card, owner)}  ·  :moneybag: {style.money(card.mrr)}  ·  {pulse_line(card)}",
        activity_line(card, today),
    ]
    return ContextBlock(
        block_id=BlockId.CARD_FACTS.at(card.account),
        elements=[m.context_text("\n".join(line for line in lines if line))],
    )


def snooze_select(ref: CardRef) -> StaticSelectElement:
    return StaticSelectElement(
        action_id=ActionId.CARD_SNOOZE,
        placeholder=m.placeholder(":zzz: Snooze"),
        options=[
            Option(
                value=SnoozeOption.of(
                    PICK_DATE if choice == PICK_DATE else SnoozeChoice(choice), ref
                ).dump(),
                text=m.option_text(text),
            )
            for choice, text in SNOOZE_CHOICES
        ],
    )


def card_actions(card: Card) -> ActionsBlock:
    ref = CardRef.for_card(card)
    value = ref.dump()
    return ActionsBlock(
        block_id=BlockId.CARD_ACTIONS.at(card.account),
        elements=[
            ButtonElement(
                action_id=ActionId.CARD_DONE,
                text=m.button_text(":white_check_mark: Done"),
                value=value,
                style="primary",
            ),
            snooze_select(ref),
            ButtonElement(
                action_id=ActionId.CARD_DISMISS,
                text=m.button_text(":no_entry_sign: Dismiss"),
                value=value,
            ),
            ButtonElement(
                action_id=ActionId.CARD_SUMMARY,
                text=m.button_text(":page_facing_up: Summary"),
                value=SummaryRef(account=card.account).dump(),
            ),
            *([do_it_select(card)] if card.suggested else []),
        ],
    )


def do_it_select(card: Card) -> StaticSelectElement:
    """The actions recommended for the card's account (automation level ``recommend``): one
    chosen is taken as the segment matrix says (done now, or sent for a manager's approval)."""
    return StaticSelectElement(
        action_id=ActionId.CARD_DO_ACTION,
        placeholder=m.placeholder(":zap: Do it…"),
        options=[
            Option(
                value=DoActionValue(account=card.account, action=action_id).dump(),
                text=m.option_text(title),
            )
            for action_id, title in card.suggested
        ],
    )


HANDLED_WORDS: dict[AlertState, tuple[str, str, Op]] = {
    AlertState.DONE: (":white_check_mark:", "Done", "done"),
    AlertState.DISMISSED: (":no_entry_sign:", "Dismissed", "dismiss"),
    AlertState.SNOOZED: (":zzz:", "Snoozed", "snooze"),
}


def handled_blocks(
    card: Card, handled: Handled, *, by: str | None, tz: str, now: datetime | None = None
) -> list[Block]:
    """A card of a day's list handled since the DM was sent: one line saying how and by whom,
    with Undo ("Wake now" for a snooze)."""
    emoji, verb, op = HANDLED_WORDS.get(handled.state, (":white_check_mark:", "Handled", "done"))
    line = f"{emoji} ~{m.esc(m.fit(m.one_line(card.account_name), NAME_MAX))}~  {verb}"
    if by:
        line += f" by {m.esc(by)}"
    if handled.state is AlertState.SNOOZED and handled.until is not None:
        line += f" — back {style.when_label(handled.until, tz, now)}"
    elif handled.at is not None:
        line += f" at {style.local(handled.at, tz):%H:%M}"
    accessory = None
    if handled.alert_ids:
        accessory = ButtonElement(
            action_id=ActionId.UNDO,
            text=m.button_text(
                ":alarm_clock: Wake now" if op == "snooze" else ":leftwards_arrow_with_hook: Undo"
            ),
            value=UndoValue(op=op, account=card.account, alerts=handled.alert_ids).dump(),
        )
    return [
        SectionBlock(
            block_id=BlockId.CARD_HANDLED.at(card.account),
            text=m.section_text(line),
            accessory=accessory,
        )
    ]


def card_blocks(card: Card, *, owner: str | None = None, today: date | None = None) -> list[Block]:
    """The :data:`CARD_BLOCKS` blocks of one card."""
    return [
        card_section(card),
        card_facts(card, owner=owner, today=today),
        card_actions(card),
    ]
