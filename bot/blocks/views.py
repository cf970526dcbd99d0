"""Views: the App Home and the modals (snooze date, dismiss, digest settings)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.cards import CARD_BLOCKS, card_blocks
from bot.blocks.values import (
    CardRef,
    DismissModalMeta,
    EscalationRef,
    HomeFilters,
    SettingsModalMeta,
    SnoozeModalMeta,
    SummaryRef,
    UndoValue,
)
from bot.engine.digest import user_sensitivity
from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.overview import SnoozedAlert
from bot.engine.policy import AutomationLevel, org_level
from bot.engine.results import Card
from bot.engine.rules import LANE_ORDER, SIGNALS, Severity
from bot.engine.summary.saved import SavedItem
from bot.ids import ActionId, BlockId, CallbackId

_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")
SNOOZED_SHOWN = 5
DISMISS_REASON_MAX = 500
SEVERITY_FILTERS = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
SENSITIVITIES = ("important", "standard", "comprehensive")
ORG_DEFAULT = "org_default"
MAX_PER_LANE_CHOICES = (1, 2, 3, 4, 5, 6, 7, 8, 10, 15)


# ------------------------------------------------------------------------ App Home


def _select(
    action_id: ActionId, hint: str, options: Sequence[tuple[str, HomeFilters]], current: HomeFilters
) -> StaticSelectElement:
    opts = [Option(value=f.dump(), text=m.option_text(text)) for text, f in options]
    initial = next((o for o in opts if o.value == current.dump()), None)
    return StaticSelectElement(
        action_id=action_id,
        placeholder=m.placeholder(hint),
        options=opts,
        initial_option=initial,
    )


def home_filters_block(current: HomeFilters) -> ActionsBlock:
    """Lane, severity and signal selects; every option carries the whole new filter state."""
    lanes = [("All lanes", current.model_copy(update={"lane": None}))] + [
        (lane.label, current.model_copy(update={"lane": lane})) for lane in LANE_ORDER
    ]
    severities = [("Any severity", current.model_copy(update={"severity": None}))] + [
        (
            f"{style.SEVERITY_LABEL[s]}{'' if s is Severity.CRITICAL else ' and up'}",
            current.model_copy(update={"severity": s}),
        )
        for s in SEVERITY_FILTERS
    ]
    signals = [("Any signal", current.model_copy(update={"signal": None}))] + [
        (spec.title, current.model_copy(update={"signal": sig})) for sig, spec in SIGNALS.items()
    ]
    return ActionsBlock(
        block_id=BlockId.HOME_FILTERS,
        elements=[
            _select(ActionId.HOME_FILTER_LANE, "Lane", lanes, current),
            _select(ActionId.HOME_FILTER_SEVERITY, "Severity", severities, current),
            _select(ActionId.HOME_FILTER_SIGNAL, "Signal", signals, current),
            ButtonElement(
                action_id=ActionId.HOME_REFRESH,
                text=m.button_text(":arrows_counterclockwise: Refresh"),
                value=current.dump(),
            ),
        ],
    )


@dataclass(slots=True)
class _SnoozedAccount:
    account_id: str
    name: str
    alerts: list[int]
    signals: list[str]
    wake: datetime


def _group_snoozed(snoozed: Sequence[SnoozedAlert]) -> list[_SnoozedAccount]:
    by_account: dict[str, _SnoozedAccount] = {}
    for s in snoozed:
        item = by_account.get(s.account_id)
        if item is None:
            item = by_account[s.account_id] = _SnoozedAccount(
                s.account_id, s.account_name, [], [], s.snooze_until
            )
        item.alerts.append(s.alert_id)
        title = style.signal_title(s.signal)
        if title not in item.signals:
            item.signals.append(title)
        item.wake = min(item.wake, s.snooze_until)
    return sorted(by_account.values(), key=lambda a: (a.wake, a.name.lower()))


def _snoozed_blocks(snoozed: Sequence[SnoozedAlert], tz: str, now: datetime) -> list[Block]:
    groups = _group_snoozed(snoozed)
    title = f"*:zzz: Snoozed*  ·  {len(groups)}"
    if not groups:
        title += "\n_Nothing snoozed. Snoozed cards wait here and come back at their wake time._"
    blocks: list[Block] = [
        DividerBlock(),
        SectionBlock(block_id=BlockId.HOME_SNOOZED, text=m.section_text(title)),
    ]
    for g in groups[:SNOOZED_SHOWN]:
        signals = ", ".join(m.esc(s) for s in g.signals)
        blocks.append(
            SectionBlock(
                block_id=BlockId.HOME_SNOOZED.at(g.account_id),
                text=m.section_text(
                    f"*{m.fit(m.one_line(g.name), 150)}* — {signals}\n"
                    f":alarm_clock: wakes {style.when_label(g.wake, tz, now)}"
                ),
                accessory=ButtonElement(
                    action_id=ActionId.UNDO,
                    text=m.button_text("Wake now"),
                    value=UndoValue.model_validate(
                        {"op": "snooze", "account": g.account_id, "alerts": g.alerts[:200]}
                    ).dump(),
                ),
            )
        )
    if len(groups) > SNOOZED_SHOWN:
        rest = groups[SNOOZED_SHOWN:]
        names = ", ".join(m.fit(m.one_line(g.name), 60) for g in rest[:10])
        blocks.append(
            ContextBlock(
                block_id=BlockId.HOME_SNOOZED.at("more"),
                elements=[m.context_text(f"+{len(rest)} more snoozed: {names}")],
            )
        )
    return blocks


def _channel(channel_id: str | None) -> str | None:
    """``<#C…>`` for a well-formed channel id (ours, from the org settings), else escaped."""
    if not channel_id:
        return None
    if _CHANNEL_ID.match(channel_id):
        return f"<#{channel_id}>"
    return m.esc(channel_id)


def _on_off(value: object) -> str:
    return "On" if value else "Off"


def _send_at(user: UserFacts, org: OrgFacts) -> str:
    return str(user.digest.get("send_at") or org.digest.get("send_at") or "08:30")


def _settings_blocks(user: UserFacts, org: OrgFacts, not_sent: int = 0) -> list[Block]:
    sens = user_sensitivity(user, org)
    own = user.digest.get("sensitivity")
    sens_text = style.SENSITIVITY_LABEL.get(sens, m.esc(sens)) + ("" if own else " _(org default)_")
    digest_state = "Paused (opted out)" if user.digest.get("opt_out") else "On"
    if not org.digest.get("enabled", True):
        digest_state += " — _the org's digest is off_"
    fields = [
        f"*Noise level*\n{sens_text}",
        f"*Daily digest*\n{digest_state}",
        f"*Delivered at*\n{m.esc(_send_at(user, org))} ({m.esc(user.timezone)})",
        f"*Cards per lane*\nup to {m.esc(str(org.digest.get('max_per_lane', 5)))}",
    ]
    blocks: list[Block] = [
        DividerBlock(),
        SectionBlock(
            block_id=BlockId.HOME_SETTINGS,
            text=m.section_text("*:gear: My digest settings*"),
            fields=[m.field_text(f) for f in fields],
            accessory=ButtonElement(
                action_id=ActionId.HOME_OPEN_SETTINGS,
                text=m.button_text("Edit settings"),
                value=SettingsModalMeta(scope="user", user=user.id).dump(),
            ),
        ),
    ]
    if user.role == "admin":
        org_sens = str(org.digest.get("sensitivity") or "standard")
        escalations = _channel(org.escalation_channel) or "each manager's DM"
        org_fields = [
            f"*Org digest*\n{_on_off(org.digest.get('enabled', True))}",
            f"*Default noise level*\n{style.SENSITIVITY_LABEL.get(org_sens, m.esc(org_sens))}",
            f"*Default delivery*\n{m.esc(str(org.digest.get('send_at') or '08:30'))} "
            f"({m.esc(org.timezone)})",
            f"*Max cards per lane*\n{m.esc(str(org.digest.get('max_per_lane', 5)))}",
            f"*Escalations go to*\n{escalations}",
            f"*Automation level*\n{org_level(org.automation_level).value.capitalize()}",
        ]
        blocks.append(
            SectionBlock(
                block_id=BlockId.HOME_ORG_SETTINGS,
                text=m.section_text(
                    f"*:office: {m.esc(org.name or 'Org')} digest settings* · admin"
                ),
                fields=[m.field_text(f) for f in org_fields],
                accessory=ButtonElement(
                    action_id=ActionId.HOME_OPEN_ORG_SETTINGS,
                    text=m.button_text("Edit org settings"),
                    value=SettingsModalMeta(scope="org", user=user.id).dump(),
                ),
            )
        )
        blocks.append(
            SectionBlock(
                block_id=BlockId.HOME_SUMMARY_SECTIONS,
                text=m.section_text(
                    "*:page_facing_up: Account summary sections* · admin\n"
                    "Choose which sections `/account-summary` shows."
                ),
                accessory=ButtonElement(
                    action_id=ActionId.HOME_OPEN_SUMMARY_SECTIONS,
                    text=m.button_text("Choose sections"),
                    value=SettingsModalMeta(scope="org", user=user.id).dump(),
                ),
            )
        )
        blocks += outbox_blocks(not_sent)
    return blocks


def outbox_blocks(not_sent: int) -> list[Block]:
    """The admins' line about the messages the outbox did not send (failed, parked, unknown);
    nothing when there are none."""
    if not_sent <= 0:
        return []
    what = "1 message" if not_sent == 1 else f"{not_sent} messages"
    return [
        ContextBlock(
            block_id=BlockId.HOME_OUTBOX,
            elements=[
                m.context_text(
                    f":warning: *{what} not sent* · admin — run `followup-bot outbox` to see "
                    "why, and `followup-bot outbox retry` to send them again."
                )
            ],
        )
    ]


def _saved_blocks(saved: Sequence[SavedItem], tz: str) -> list[Block]:
    """The latest saved account summaries, each with Open (the version as it was saved)."""
    if not saved:
        return []
    lines = [
        f"• *{m.esc(m.fit(m.one_line(item.account_name), 80))}* — version {item.ref.version}, "
        f"{style.when_label(item.ref.saved_at, tz)}"
        for item in saved
    ]
    return [
        DividerBlock(),
        SectionBlock(
            block_id=BlockId.HOME_SAVED,
            text=m.section_text("*:floppy_disk: Saved summaries*\n" + "\n".join(lines)),
        ),
        ActionsBlock(
            block_id=BlockId.HOME_SAVED.at("open"),
            elements=[
                ButtonElement(
                    action_id=ActionId.SUMMARY_OPEN_SAVED,
                    text=m.button_text(
                        f"Open {m.fit(m.one_line(item.account_name), 40)} v{item.ref.version}"
                    ),
                    value=SummaryRef(account=item.ref.account_id, saved=item.ref.id).dump(),
                )
                for item in saved
            ],
        ),
    ]


def home_view(
    user: UserFacts,
    org: OrgFacts,
    cards: Sequence[Card],
    *,
    now: datetime,
    as_of: datetime | None = None,
    refreshing: bool = False,
    snoozed: Sequence[SnoozedAlert] = (),
    saved: Sequence[SavedItem] = (),
    filters: HomeFilters | None = None,
    names: Mapping[str, str] | None = None,
    not_sent: int = 0,
) -> View:
    """The App Home: ``user``'s whole queue (``cards``, ranked as the sweep ranks them, as of the
    sweep at ``as_of``; ``refreshing``: a sweep of theirs is under way) under
    lane / severity / signal filters, their snoozed cards with wake times, their digest
    settings (and the org's, for admins, with the count of outbox messages ``not_sent``). At
    most 100 blocks, with a "showing N of M" note
    when the queue does not fit."""
    filters = filters or HomeFilters()
    owners = {user.id: user.name, **(names or {})}
    tz = user.timezone
    today = style.local(now, tz).date()
    matching = [c for c in cards if filters.matches(c)]

    top: list[Block] = [
        HeaderBlock(
            block_id=BlockId.HOME_HEADER, text=m.header_text(":house: Your follow-up queue")
        ),
        ContextBlock(
            block_id=BlockId.HOME_STATUS,
            elements=[m.context_text(_status(cards, as_of, tz, now, refreshing))],
        ),
        home_filters_block(filters),
    ]
    tail = (
        _snoozed_blocks(snoozed, tz, now)
        + _saved_blocks(saved, tz)
        + _settings_blocks(user, org, not_sent)
    )
    budget = m.VIEW_BLOCKS - len(top) - len(tail) - 1  # 1: the showing / empty note

    body: list[Block] = []
    shown = 0
    by_lane = {lane: [c for c in matching if c.lane is lane] for lane in LANE_ORDER}
    for lane in LANE_ORDER:
        lane_cards = by_lane[lane]
        if not lane_cards or budget - len(body) < 2 + CARD_BLOCKS:
            continue
        body.append(DividerBlock())
        body.append(
            SectionBlock(
                block_id=BlockId.LANE.at(lane.value),
                text=m.section_text(
                    f"*{style.LANE_EMOJI[lane]} {lane.label}*  ·  {len(lane_cards)}\n"
                    f"_{style.LANE_TAGLINE[lane]}_"
                ),
            )
        )
        for card in lane_cards:
            if budget - len(body) < CARD_BLOCKS:
                break
            body.extend(card_blocks(card, owner=owners.get(card.csm or ""), today=today))
            shown += 1

    note: Block | None = None
    if not matching:
        text = (
            ":mag: No cards match these filters — try *All lanes* / *Any severity* / *Any signal*."
            if filters.active and cards
            else ":sparkles: *Your queue is clear.* Nothing needs you right now."
        )
        note = SectionBlock(block_id=BlockId.HOME_EMPTY, text=m.section_text(text))
    elif shown < len(matching) or filters.active:
        of_total = f" (of {len(cards)} in your queue)" if filters.active else ""
        hint = " — narrow it down with the filters above" if shown < len(matching) else ""
        note = ContextBlock(
            block_id=BlockId.HOME_SHOWING,
            elements=[
                m.context_text(
                    f"Showing *{shown}* of *{len(matching)}* matching accounts{of_total}{hint}."
                )
            ],
        )
    blocks = top + body + ([note] if note is not None else []) + tail
    return View(
        type="home",
        callback_id=CallbackId.HOME,
        private_metadata=filters.dump(),
        blocks=blocks,
    )


def _status(
    cards: Sequence[Card], as_of: datetime | None, tz: str, now: datetime, refreshing: bool
) -> str:
    counts = {lane: sum(1 for c in cards if c.lane is lane) for lane in LANE_ORDER}
    critical = sum(1 for c in cards if c.severity is Severity.CRITICAL)
    swept = f"As of {style.when_label(as_of, tz, now)}" if as_of else "Not swept yet"
    if refreshing:
        swept += " — :hourglass_flowing_sand: refreshing…"
    parts = [
        swept,
        f"*{len(cards)}* {'account' if len(cards) == 1 else 'accounts'} in your queue",
        *(f"{style.LANE_EMOJI[lane]} {counts[lane]}" for lane in LANE_ORDER),
    ]
    if critical:
        parts.append(f"{style.SEVERITY_EMOJI[Severity.CRITICAL]} {critical} critical")
    return "  ·  ".join(parts)


# -------------------------------------------------------------------------- modals


def snooze_modal(
    ref: CardRef,
    account_name: str,
    *,
    today: date,
    channel: str | None = None,
    ts: str | None = None,
    home: HomeFilters | None = None,
) -> View:
    """The "pick a date…" modal: the card comes back at 09:00 (reader's time) that day.
    ``home``: opened from the App Home with these filters (kept when it is published again)."""
    earliest = today + timedelta(days=1)
    meta = SnoozeModalMeta(card=ref, channel=channel, ts=ts, earliest=earliest, home=home)
    return View(
        type="modal",
        callback_id=CallbackId.SNOOZE_PICK_DATE,
        title=m.view_title("Snooze until…"),
        submit=m.view_button("Snooze"),
        close=m.view_button("Cancel"),
        private_metadata=meta.dump(),
        blocks=[
            SectionBlock(
                text=m.section_text(
                    f":zzz: Snooze *{m.fit(m.one_line(account_name), 200)}*. It comes back at "
                    "09:00 your time on the day you pick — if it still needs you."
                )
            ),
            InputBlock(
                block_id=BlockId.SNOOZE_DATE,
                label=m.label("Bring it back on"),
                element=DatePickerElement(
                    action_id=ActionId.SNOOZE_DATE,
                    initial_date=earliest.isoformat(),
                    placeholder=m.placeholder("Pick a date"),
                ),
            ),
        ],
    )


def dismiss_modal(
    ref: CardRef,
    account_name: str,
    reasons: Sequence[str] = (),
    *,
    channel: str | None = None,
    ts: str | None = None,
    home: HomeFilters | None = None,
) -> View:
    """Dismiss a card, with an optional reason. ``reasons`` are the card's reason details;
    ``home`` as in :func:`snooze_modal`."""
    meta = DismissModalMeta(card=ref, channel=channel, ts=ts, home=home)
    blocks: list[Block] = [
        SectionBlock(
            text=m.section_text(
                f"Dismiss *{m.fit(m.one_line(account_name), 200)}*? These won't come back — "
                "unless something new happens (a new email, a new due date…)."
            )
        )
    ]
    if reasons:
        items = [m.fit(m.one_line(r), 300) for r in reasons]
        blocks.append(ContextBlock(elements=[m.context_text(m.bullets(items, 1500))]))
    blocks.append(
        InputBlock(
            block_id=BlockId.DISMISS_REASON,
            label=m.label("Why? (optional)"),
            optional=True,
            element=PlainTextInputElement(
                action_id=ActionId.DISMISS_REASON,
                multiline=True,
                max_length=DISMISS_REASON_MAX,
                placeholder=m.placeholder("e.g. Handled on a call; customer paused the project"),
            ),
            hint=m.plain("Your manager sees this in the audit log.", m.LABEL),
        )
    )
    return View(
        type="modal",
        callback_id=CallbackId.DISMISS_MODAL,
        title=m.view_title("Dismiss follow-up"),
        submit=m.view_button("Dismiss"),
        close=m.view_button("Cancel"),
        private_metadata=meta.dump(),
        blocks=blocks,
    )


def _sensitivity_options(default_label: str | None) -> list[Option]:
    opts = []
    if default_label is not None:
        opts.append(Option(value=ORG_DEFAULT, text=m.option_text(default_label)))
    for s in SENSITIVITIES:
        opts.append(
            Option(
                value=s,
                text=m.option_text(f"{style.SENSITIVITY_LABEL[s]} — {style.SENSITIVITY_HINT[s]}"),
            )
        )
    return opts


def _pick(options: Sequence[Option], value: str) -> Option | None:
    return next((o for o in options if o.value == value), None)


def _time(value: object, default: str = "08:30") -> str:
    text = str(value or default)
    hh, _, mm = text.partition(":")
    if hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60:
        return f"{int(hh):02d}:{int(mm):02d}"
    return default


def settings_modal(user: UserFacts, org: OrgFacts) -> View:
    """The reader's own digest settings: noise level, opt-out, delivery time."""
    org_sens = str(org.digest.get("sensitivity") or "standard")
    options = _sensitivity_options(
        f"Org default ({style.SENSITIVITY_LABEL.get(org_sens, org_sens)})"
    )
    own = user.digest.get("sensitivity")
    initial = _pick(options, str(own)) if own else _pick(options, ORG_DEFAULT)
    opt_out = Option(
        value="opt_out",
        text=m.plain("Pause my daily digest", m.OPTION_TEXT),
        description=m.plain(
            "Cards stay in the App Home; escalations still reach you.", m.OPTION_TEXT
        ),
    )
    return View(
        type="modal",
        callback_id=CallbackId.SETTINGS_MODAL,
        title=m.view_title("Digest settings"),
        submit=m.view_button("Save"),
        close=m.view_button("Cancel"),
        private_metadata=SettingsModalMeta(scope="user", user=user.id).dump(),
        blocks=[
            InputBlock(
                block_id=BlockId.SETTINGS_SENSITIVITY,
                label=m.label("Noise level"),
                element=StaticSelectElement(
                    action_id=ActionId.SETTINGS_SENSITIVITY,
                    options=options,
                    initial_option=initial,
                    placeholder=m.placeholder("Choose a noise level"),
                ),
                hint=m.plain("Which cards make it into your morning DM.", m.LABEL),
            ),
            InputBlock(
                block_id=BlockId.SETTINGS_OPT_OUT,
                label=m.label("Daily digest"),
                optional=True,
                element=CheckboxesElement(
                    action_id=ActionId.SETTINGS_OPT_OUT,
                    options=[opt_out],
                    initial_options=[opt_out] if user.digest.get("opt_out") else None,
                ),
            ),
            InputBlock(
                block_id=BlockId.SETTINGS_SEND_AT,
                label=m.label("Deliver it at"),
                element=TimePickerElement(
                    action_id=ActionId.SETTINGS_SEND_AT,
                    initial_time=_time(user.digest.get("send_at") or org.digest.get("send_at")),
                    placeholder=m.placeholder("Delivery time"),
                ),
                hint=m.plain(f"Your time zone: {user.timezone}", m.LABEL),
            ),
        ],
    )


def org_settings_modal(admin: UserFacts, org: OrgFacts) -> View:
    """The org's settings (admins): the digest's on/off, noise level, cards per lane and send
    time, and the automation level of the action policy."""
    options = _sensitivity_options(None)
    enabled = Option(value="enabled", text=m.plain("Send the daily digest", m.OPTION_TEXT))
    per_lane = [Option(value=str(n), text=m.option_text(str(n))) for n in MAX_PER_LANE_CHOICES]
    current_cap = str(org.digest.get("max_per_lane", 5))
    levels = [
        Option(
            value=level.value,
            text=m.option_text(level.value.capitalize()),
            description=m.plain(level.description, 75),
        )
        for level in AutomationLevel
    ]
    return View(
        type="modal",
        callback_id=CallbackId.ORG_SETTINGS_MODAL,
        title=m.view_title("Org digest settings"),
        submit=m.view_button("Save"),
        close=m.view_button("Cancel"),
        private_metadata=SettingsModalMeta(scope="org", user=admin.id).dump(),
        blocks=[
            InputBlock(
                block_id=BlockId.ORG_SETTINGS_ENABLED,
                label=m.label("Digest"),
                optional=True,
                element=CheckboxesElement(
                    action_id=ActionId.ORG_SETTINGS_ENABLED,
                    options=[enabled],
                    initial_options=[enabled] if org.digest.get("enabled", True) else None,
                ),
            ),
            InputBlock(
                block_id=BlockId.SETTINGS_SENSITIVITY,
                label=m.label("Default noise level"),
                element=StaticSelectElement(
                    action_id=ActionId.SETTINGS_SENSITIVITY,
                    options=options,
                    initial_option=_pick(options, str(org.digest.get("sensitivity") or "standard")),
                ),
            ),
            InputBlock(
                block_id=BlockId.ORG_SETTINGS_MAX_PER_LANE,
                label=m.label("Cards per lane"),
                element=StaticSelectElement(
                    action_id=ActionId.ORG_SETTINGS_MAX_PER_LANE,
                    options=per_lane,
                    initial_option=_pick(per_lane, current_cap),
                ),
                hint=m.plain("The rest stays reachable in the App Home.", m.LABEL),
            ),
            InputBlock(
                block_id=BlockId.SETTINGS_SEND_AT,
                label=m.label("Default delivery time"),
                element=TimePickerElement(
                    action_id=ActionId.SETTINGS_SEND_AT,
                    initial_time=_time(org.digest.get("send_at")),
                ),
                hint=m.plain(f"In each reader's own time zone (org: {org.timezone})", m.LABEL),
            ),
            InputBlock(
                block_id=BlockId.ORG_SETTINGS_AUTOMATION,
                label=m.label("Automation level"),
                element=StaticSelectElement(
                    action_id=ActionId.ORG_SETTINGS_AUTOMATION,
                    options=levels,
                    initial_option=_pick(levels, org_level(org.automation_level).value),
                ),
                hint=m.plain(
                    "Which recommended actions the bot takes on its own, and which a manager "
                    "approves first (a major blocker always asks).",
                    m.LABEL,
                ),
            ),
        ],
    )


def not_set_up_view() -> View:
    """The App Home of a Slack user who is not one of ours."""
    return View(
        type="home",
        callback_id=CallbackId.HOME.value,
        blocks=[
            HeaderBlock(block_id=BlockId.HOME_HEADER.value, text="Follow-ups"),
            SectionBlock(
                block_id=BlockId.HOME_EMPTY.value,
                text=MarkdownTextObject(
                    text=":wave: *You're not set up yet.* This app shows customer-success "
                    "managers their daily follow-ups, and your Slack account is not linked to "
                    "anyone in the imported portfolio."
                ),
            ),
            ContextBlock(
                block_id=BlockId.HOME_STATUS.value,
                elements=[
                    MarkdownTextObject(
                        text="Ask your admin to add your Slack user id or your Slack email "
                        "to the portfolio import."
                    )
                ],
            ),
        ],
    )


def reassign_modal(
    ref: EscalationRef, account_name: str, choices: Sequence[tuple[str, str]], current: str | None
) -> View:
    """Reassign an escalated account: pick one of the team's CSMs (``choices``: id, name)."""
    options = [
        Option(value=user_id, text=m.option_text(m.one_line(name)))
        for user_id, name in choices[:100]
    ]
    initial = next((o for o in options if o.value == current), None)
    return View(
        type="modal",
        callback_id=CallbackId.ESCALATION_REASSIGN_MODAL,
        title=m.view_title("Reassign account"),
        submit=m.view_button("Reassign"),
        close=m.view_button("Cancel"),
        private_metadata=ref.dump(),
        blocks=[
            SectionBlock(
                text=m.section_text(
                    f"Who should own *{m.fit(m.one_line(account_name), 200)}* from now on? "
                    "Both CSMs are told."
                )
            ),
            InputBlock(
                block_id=BlockId.ESCALATION_REASSIGN_TO,
                label=m.label("New CSM"),
                element=StaticSelectElement(
                    action_id=ActionId.ESCALATION_REASSIGN_TO,
                    options=options,
                    initial_option=initial,
                    placeholder=m.placeholder("Pick a CSM"),
                ),
            ),
        ],
    )
