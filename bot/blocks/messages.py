"""Messages other than the digest: the account summary, the manager escalation, the receipt
after a triage click (with Undo), and the account picker of ``/account-summary``."""

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
from bot.engine.overview import AccountOverview, ActivityItem
from bot.engine.results import Card
from bot.engine.rules import Severity
from bot.ids import ActionId, BlockId

PICKER_OPTIONS = 100
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
_KIND_EMOJI = {
    ("email", "inbound"): ":incoming_envelope:",
    ("email", "outbound"): ":outbox_tray:",
    ("call", "inbound"): ":telephone_receiver:",
    ("call", "outbound"): ":telephone_receiver:",
    ("meeting", "inbound"): ":busts_in_silhouette:",
    ("meeting", "outbound"): ":busts_in_silhouette:",
}


def _mention(user: UserFacts) -> str | None:
    """``<@U…>`` for a well-formed Slack user id (never built from customer text)."""
    sid = user.slack_user_id or ""
    return f"<@{sid}>" if _SLACK_USER_ID.match(sid) else None


def _day(moment: datetime, tz: str) -> str:
    here = style.local(moment, tz)
    return f"{here:%b} {here.day}"


def _age(moment: datetime, now: datetime) -> str:
    days = (now - moment).days
    if days <= 0:
        hours = max(1, int((now - moment).total_seconds() // 3600))
        return f"{hours}h"
    return f"{days}d"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# ------------------------------------------------------------------- account summary


def _where_it_stands(ov: AccountOverview, tz: str) -> SectionBlock:
    if ov.health is None:
        health = "—"
    else:
        health = f"*{ov.health:g}*"
        if ov.health_prev is not None and ov.health != ov.health_prev:
            health += f" ({style.signed(ov.health - ov.health_prev)} since last score)"
    csm = "—" if ov.csm_pulse is None else f"*{ov.csm_pulse}*/10"
    if ov.csm_pulse_note:
        csm += f"\n_{m.fit(m.one_line(ov.csm_pulse_note), 300)}_"
    ai = "—" if ov.ai_pulse is None else f"*{ov.ai_pulse}*/10"
    if ov.ai_pulse_rationale:
        ai += f"\n_{m.fit(m.one_line(ov.ai_pulse_rationale), 300)}_"
    meetings = (
        "\n".join(
            f"{m.fit(m.one_line(mt.title or 'Meeting'), 120)} — {_day(mt.starts_at, tz)}"
            for mt in ov.upcoming_meetings
        )
        or "none booked"
    )
    fields = [
        f"*:stethoscope: Health*\n{health}",
        f"*:bust_in_silhouette: CSM Pulse*\n{csm}",
        f"*:robot_face: AI Pulse*\n{ai}",
        f"*:calendar: Upcoming meetings*\n{meetings}",
    ]
    return SectionBlock(
        text=m.section_text("*Where it stands*"), fields=[m.field_text(f) for f in fields]
    )


def _obligations(ov: AccountOverview, tz: str) -> list[Block]:
    now = ov.as_of
    blocks: list[Block] = []
    if ov.open_tasks:
        overdue = ov.overdue_tasks
        items = []
        for t in ov.open_tasks:
            title = m.fit(m.one_line(t.title or "Untitled task"), 200)
            due = f" — due {_day(t.due_at, tz)}" if t.due_at else ""
            flag = " :warning: _overdue_" if t.overdue else ""
            prio = f" `{t.priority}`" if t.priority in ("urgent", "high") else ""
            items.append(f"{title}{due}{prio}{flag}")
        head = f"*:memo: Open tasks* · {ov.open_tasks_total}" + (
            f" ({overdue} overdue)" if overdue else ""
        )
        blocks.append(
            SectionBlock(
                text=m.section_text(
                    head + "\n" + m.bullets(items, 2500, more=ov.open_tasks_total - len(items))
                )
            )
        )
    if ov.unreplied_threads:
        items = []
        for th in ov.unreplied_threads:
            subject = m.fit(m.one_line(th.subject or "(no subject)"), 150)
            who = f" from {m.fit(m.one_line(th.contact), 80)}" if th.contact else ""
            items.append(f"'{subject}'{who} — waiting {_age(th.waiting_since, now)}")
        blocks.append(
            SectionBlock(
                text=m.section_text(
                    f"*:envelope: Unreplied emails* · {len(ov.unreplied_threads)}\n"
                    + m.bullets(items, 2500)
                )
            )
        )
    if ov.open_requests:
        items = []
        for r in ov.open_requests:
            title = m.fit(m.one_line(r.title or r.id), 200)
            impact = " `high impact`" if r.impact == "high" else ""
            status = f" · {m.esc((r.status or 'open').replace('_', ' '))}"
            items.append(f"{title}{impact}{status}")
        high = ov.high_impact_requests
        blocks.append(
            SectionBlock(
                text=m.section_text(
                    f"*:inbox_tray: Open requests* · {ov.open_requests_total}"
                    + (f" ({high} high-impact)" if high else "")
                    + "\n"
                    + m.bullets(items, 2500, more=ov.open_requests_total - len(items))
                )
            )
        )
    if not blocks:
        blocks.append(
            SectionBlock(
                text=m.section_text(
                    "*:white_check_mark: Nothing open* — no open tasks, unreplied emails or "
                    "open requests."
                )
            )
        )
    return blocks


def _activity_line(a: ActivityItem, tz: str) -> str:
    emoji = _KIND_EMOJI.get((a.kind, a.direction), ":memo:")
    kind = a.kind.replace("_", " ")
    if a.kind == "email":
        what = "Email from" if a.direction == "inbound" else "Email to"
        who = a.contact if a.direction == "inbound" else (a.contact or None)
        head = f"{what} {m.fit(m.one_line(who), 80)}" if who else f"{what} the customer"
        if a.direction == "outbound" and a.user:
            head = f"{m.fit(m.one_line(a.user), 80)} emailed" + (
                f" {m.fit(m.one_line(a.contact), 80)}" if a.contact else ""
            )
    else:
        head = kind.capitalize()
        if a.outcome:
            head += f" ({m.esc(a.outcome.replace('_', ' '))})"
        if a.user:
            head += f" · {m.fit(m.one_line(a.user), 80)}"
    if a.subject:
        subject = f" — '{m.fit(m.one_line(a.subject), 120)}'"
    elif a.snippet:
        subject = f" — _{m.fit(a.snippet, 120)}_"
    else:
        subject = ""
    return f"{emoji} *{_day(a.at, tz)}* {head}{subject}"


def summary_message(
    overview: AccountOverview,
    card: Card | None = None,
    *,
    tz: str = "UTC",
    channel: str | None = None,
    shared_by: str | None = None,
) -> SlackMessage:
    """One account at a glance: its card (why it's flagged), open obligations, recent
    activity; Save and Share in channel buttons — or, once ``shared_by`` someone in a channel,
    no buttons and who shared it."""
    ov = overview
    name = m.one_line(ov.name)
    facts = [
        f":bust_in_silhouette: {m.fit(m.one_line(ov.csm_name), 80)}"
        if ov.csm_name
        else ":bust_in_silhouette: _no CSM_",
        f":moneybag: {style.money(ov.mrr)}",
    ]
    badge = style.segment_badge(ov.segment)
    if badge:
        facts.append(badge)
    facts.append(f"touch: {m.esc(ov.touch_policy.replace('_', ' '))}")
    if ov.renewal_date:
        facts.append(f":hourglass: renews {style.day_label(ov.renewal_date)}")
    crm = m.safe_url(ov.crm_url)
    if crm:
        facts.append(f"<{crm}|Open in CRM>")
    blocks: list[Block] = [
        HeaderBlock(text=m.header_text(f":page_facing_up: {name}")),
        ContextBlock(elements=[m.context_text("  ·  ".join(facts))]),
        _where_it_stands(ov, tz),
    ]
    if card is not None:
        blocks.append(card_section(card))
        blocks.append(card_facts(card, owner=ov.csm_name, today=style.local(ov.as_of, tz).date()))
        details = [
            f"{style.SEVERITY_EMOJI[r.severity]} {m.fit(m.one_line(r.detail), 300)}"
            for r in card.reasons
        ]
        blocks.append(
            SectionBlock(
                text=m.section_text("*Why it's flagged*\n" + m.bullets(details, 2800, bullet=""))
            )
        )
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    m.context_text(":white_check_mark: Not flagged today — nothing needs you here.")
                ]
            )
        )
    blocks.extend(_obligations(ov, tz))
    if ov.recent_activity:
        lines = [_activity_line(a, tz) for a in ov.recent_activity]
        blocks.append(SectionBlock(text=m.section_text("*Recent activity*\n" + "\n".join(lines))))
    else:
        blocks.append(
            SectionBlock(text=m.section_text("*Recent activity*\n_No activity recorded yet._"))
        )
    if shared_by is not None:
        blocks.append(
            ContextBlock(
                elements=[
                    m.context_text(
                        f"Shared by {m.fit(m.one_line(shared_by), 80)} · "
                        f"as of {style.when_label(ov.as_of, tz)}"
                    )
                ]
            )
        )
        return SlackMessage(
            text=m.fallback(_summary_text(ov, name)), blocks=blocks, channel=channel
        )
    ref = SummaryRef(account=ov.id).dump()
    blocks.append(
        ActionsBlock(
            block_id=BlockId.SUMMARY_ACTIONS.at(ov.id),
            elements=[
                ButtonElement(
                    action_id=ActionId.SUMMARY_SAVE,
                    text=m.button_text(":floppy_disk: Save"),
                    value=ref,
                    style="primary",
                ),
                ButtonElement(
                    action_id=ActionId.SUMMARY_SHARE,
                    text=m.button_text(":speech_balloon: Share in channel"),
                    value=ref,
                ),
            ],
        )
    )
    blocks.append(
        ContextBlock(
            elements=[
                m.context_text(
                    f"As of {style.when_label(ov.as_of, tz)} · "
                    "only you can see this until you share it"
                )
            ]
        )
    )
    return SlackMessage(text=m.fallback(_summary_text(ov, name)), blocks=blocks, channel=channel)


def _summary_text(ov: AccountOverview, name: str) -> str:
    counts = ", ".join(
        (
            _count(ov.open_tasks_total, "open task"),
            _count(len(ov.unreplied_threads), "unreplied email"),
            _count(ov.open_requests_total, "open request"),
        )
    )
    return f"Account summary: {m.fit(name, 150)} — {counts}"


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
