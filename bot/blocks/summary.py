"""The ten-section account summary as a Slack message (``/account-summary``, ``summary
--format blocks``), and the placeholder shown while the AI writes it.

One section block per summary section (its bullets, customer text escaped), its notice as a
context block under it; a period choice that re-renders the summary; Save and Share buttons.
At most 10 sections + 10 notices + 5 other blocks: well under Slack's 50.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    Option,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.message import SlackMessage
from bot.blocks.values import OpportunityDraft, SettingsModalMeta, SummaryRef
from bot.engine.summary.model import Generator, PeriodChoice, Section, Summary
from bot.engine.summary.saved import SavedRef
from bot.engine.summary.sections import EXECUTIVE_FEEDS, NEXT_STEPS_FEEDS, SECTION_ORDER, SectionId
from bot.ids import ActionId, BlockId, CallbackId

SECTION_BULLETS = 2900  # of a section block's 3000 characters, after its title
_EMOJI = {
    "account_highlights": ":bar_chart:",
    "key_stakeholders": ":busts_in_silhouette:",
    "executive_summary": ":memo:",
    "kpi_progress": ":chart_with_upwards_trend:",
    "relational_health": ":handshake:",
    "risks_and_blockers": ":warning:",
    "expansion_opportunities": ":seedling:",
    "strategic_value_achievements": ":trophy:",
    "strategic_next_steps": ":compass:",
    "immediate_actions": ":rotating_light:",
}


def _section_blocks(section: Section) -> list[Block]:
    title = f"{_EMOJI.get(section.id.value, '')} *{m.esc(section.title)}*".strip()
    if section.generator is Generator.AI:
        title += "  _· AI_"
    if section.bullets:
        body = m.bullets([m.fit(b.text, 1000) for b in section.bullets], SECTION_BULLETS)
    elif section.notice:
        body = ""
    else:
        body = "_Nothing to report._"
    blocks: list[Block] = [
        SectionBlock(
            block_id=BlockId.SUMMARY_SECTION.at(section.id.value),
            text=m.section_text(f"{title}\n{body}".rstrip()),
        )
    ]
    if section.notice:
        blocks.append(
            ContextBlock(
                elements=[m.context_text(f":information_source: {m.fit(section.notice, 1900)}")]
            )
        )
    return blocks


def _period_select(summary: Summary, choice: PeriodChoice) -> ActionsBlock:
    options = [
        Option(
            value=SummaryRef(account=summary.account_id, period=c).dump(),
            text=m.option_text(c.label),
        )
        for c in PeriodChoice
    ]
    initial = options[list(PeriodChoice).index(choice)]
    return ActionsBlock(
        block_id=BlockId.SUMMARY_PERIOD.at(summary.account_id),
        elements=[
            StaticSelectElement(
                action_id=ActionId.SUMMARY_PERIOD,
                placeholder=m.placeholder("Period"),
                options=options,
                initial_option=initial,
            )
        ],
    )


def _about(summary: Summary, tz: str) -> str:
    since = summary.period.since
    until = summary.period.until
    if since is None and until is None:
        period = "all activity"
    else:
        start = style.day_label(style.local(since, tz).date()) if since else "the start"
        end = style.day_label(style.local(until, tz).date()) if until else "now"
        period = f"activity from {start} to {end}"
    writer = "written by AI" if summary.generator is Generator.AI else "written by rules"
    if summary.cached:
        writer += " (cached)"
    return f"Covers {period} · {writer} · {style.when_label(summary.generated_at, tz)}"


def account_summary_message(
    summary: Summary,
    *,
    tz: str = "UTC",
    choice: PeriodChoice = PeriodChoice.ALL,
    channel: str | None = None,
    shared_by: str | None = None,
    saved: SavedRef | None = None,
    saved_by: str | None = None,
) -> SlackMessage:
    """The summary; once ``shared_by`` someone in a channel, without the controls. A
    ``saved`` version says so and has only the Share button."""
    name = m.one_line(summary.account_name)
    blocks: list[Block] = [
        HeaderBlock(text=m.header_text(f":page_facing_up: {name}")),
        ContextBlock(elements=[m.context_text(m.esc(_about(summary, tz)))]),
    ]
    if saved is not None:
        who = f" by {saved_by}" if saved_by else ""
        when = style.when_label(saved.saved_at, tz)
        note = f":floppy_disk: Saved version {saved.version}{who}, {when}"
        blocks.append(ContextBlock(elements=[m.context_text(m.fit(note, 1900))]))
    if summary.ai_fallback:
        blocks.append(
            ContextBlock(elements=[m.context_text(f":warning: {m.fit(summary.ai_fallback, 1900)}")])
        )
    if shared_by is None and saved is None:
        blocks.append(_period_select(summary, choice))
    for section in summary.sections:
        blocks.extend(_section_blocks(section))
    text = m.fallback(f"Account summary: {m.fit(name, 150)}")
    if shared_by is not None:
        blocks.append(
            ContextBlock(elements=[m.context_text(f"Shared by {m.fit(m.one_line(shared_by), 80)}")])
        )
        return SlackMessage(text=text, blocks=blocks, channel=channel)
    ref = SummaryRef(
        account=summary.account_id,
        period=None if saved else choice,
        saved=saved.id if saved else None,
    ).dump()
    share = ButtonElement(
        action_id=ActionId.SUMMARY_SHARE,
        text=m.button_text(":speech_balloon: Share in channel"),
        value=ref,
    )
    save = ButtonElement(
        action_id=ActionId.SUMMARY_SAVE,
        text=m.button_text(":floppy_disk: Save"),
        value=ref,
        style="primary",
    )
    prep = ButtonElement(
        action_id=ActionId.SUMMARY_PREP,
        text=m.button_text(":clipboard: Meeting prep"),
        value=SummaryRef(account=summary.account_id).dump(),
    )
    elements = [share] if saved else [save, share, prep]
    suggestion = _expansion_suggestion(summary)
    if suggestion is not None and saved is None:
        draft = OpportunityDraft(account=summary.account_id, title=suggestion)
        elements.append(
            ButtonElement(
                action_id=ActionId.SUMMARY_CREATE_OPPORTUNITY,
                text=m.button_text(":seedling: Create opportunity"),
                value=draft.dump(),
            )
        )
    blocks.append(
        ActionsBlock(
            block_id=BlockId.SUMMARY_ACTIONS.at(summary.account_id),
            elements=elements,
        )
    )
    blocks.append(
        ContextBlock(elements=[m.context_text("Only you can see this until you share it.")])
    )
    return SlackMessage(text=text, blocks=blocks, channel=channel)


def _expansion_suggestion(summary: Summary) -> str | None:
    """The first suggested expansion opportunity (to pre-fill the modal), if any."""
    for section in summary.sections:
        if section.id is SectionId.EXPANSION_OPPORTUNITIES and section.bullets:
            return m.fit(m.one_line(section.bullets[0].text), 300)
    return None


def summary_placeholder(account_name: str, *, channel: str | None = None) -> SlackMessage:
    """Shown at once while the AI writes the summary; replaced by it."""
    name = m.fit(m.one_line(account_name), 150)
    text = f":hourglass_flowing_sand: Writing the account summary of *{name}*…"
    return SlackMessage(
        text=m.fallback(text.replace("*", "")),
        blocks=[SectionBlock(text=m.section_text(text))],
        channel=channel,
    )


def summary_sections_modal(admin_id: str, hidden: frozenset[SectionId]) -> View:
    """Admins: which of the ten sections ``/account-summary`` shows (checked = shown)."""
    options = [Option(value=s.value, text=m.option_text(s.label)) for s in SECTION_ORDER]
    shown = [o for o, s in zip(options, SECTION_ORDER, strict=True) if s not in hidden]
    feeds = (
        f"The Executive Summary is built from {', '.join(s.label for s in EXECUTIVE_FEEDS)}; "
        f"the Strategic Next Steps from {', '.join(s.label for s in NEXT_STEPS_FEEDS)}. "
        "With all of its sources hidden, a section says there is not enough data."
    )
    return View(
        type="modal",
        callback_id=CallbackId.SUMMARY_SECTIONS_MODAL,
        title=m.view_title("Summary sections"),
        submit=m.view_button("Save"),
        close=m.view_button("Cancel"),
        private_metadata=SettingsModalMeta(scope="org", user=admin_id).dump(),
        blocks=[
            InputBlock(
                block_id=BlockId.SUMMARY_SECTIONS_SHOWN,
                label=m.label("Sections shown in account summaries"),
                optional=True,
                element=CheckboxesElement(
                    action_id=ActionId.SUMMARY_SECTIONS_SHOWN,
                    options=options,
                    initial_options=shown or None,
                ),
            ),
            ContextBlock(elements=[m.context_text(m.esc(feeds))]),
        ],
    )


def hidden_from(view: dict[str, object]) -> frozenset[SectionId]:
    """The sections left unchecked in a submitted :func:`summary_sections_modal`."""
    state = view.get("state")
    values = state.get("values", {}) if isinstance(state, dict) else {}
    block = values.get(BlockId.SUMMARY_SECTIONS_SHOWN, {}) if isinstance(values, dict) else {}
    chosen = block.get(ActionId.SUMMARY_SECTIONS_SHOWN, {}) if isinstance(block, dict) else {}
    selected = chosen.get("selected_options") or [] if isinstance(chosen, dict) else []
    shown = {o.get("value") for o in selected if isinstance(o, dict)}
    return frozenset(s for s in SECTION_ORDER if s.value not in shown)


def saved_list_message(
    account_id: str,
    account_name: str,
    saved: list[SavedRef],
    *,
    names: dict[str, str],
    tz: str = "UTC",
) -> SlackMessage:
    """``/account-summary ACCOUNT saved``: the saved versions, newest first, each to open."""
    name = m.fit(m.one_line(account_name), 150)
    if not saved:
        text = (
            f":floppy_disk: No saved summaries of *{name}* yet — open its summary and press *Save*."
        )
        return SlackMessage(
            text=m.fallback(text.replace("*", "")), blocks=[SectionBlock(text=m.section_text(text))]
        )
    blocks: list[Block] = [
        SectionBlock(text=m.section_text(f":floppy_disk: *Saved summaries of {name}*"))
    ]
    for ref in saved:
        who = m.fit(m.one_line(names.get(ref.saved_by or "", ref.saved_by or "the CLI")), 80)
        since = str(ref.period.get("since") or "")[:10] or "the start"
        until = str(ref.period.get("until") or "")[:10] or "then"
        line = (
            f"*Version {ref.version}* · {style.when_label(ref.saved_at, tz)} by {who} · "
            f"{m.esc(since)} to {m.esc(until)} · {m.esc(ref.generator)}"
        )
        blocks.append(
            SectionBlock(
                block_id=BlockId.SUMMARY_SAVED.at(str(ref.id)),
                text=m.section_text(line),
                accessory=ButtonElement(
                    action_id=ActionId.SUMMARY_OPEN_SAVED,
                    text=m.button_text("Open"),
                    value=SummaryRef(account=account_id, saved=ref.id).dump(),
                ),
            )
        )
    return SlackMessage(text=m.fallback(f"Saved summaries of {name}"), blocks=blocks[:50])
