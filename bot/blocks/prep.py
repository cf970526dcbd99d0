"""The meeting-prep brief as a Slack message (``/followup prep``, the summary's Prep button,
the DM an hour before a meeting, ``prep --format blocks``): a header, the meeting, then one
section per part — attendees, open obligations, recent activity, health and pulses, talking
points. Customer text is escaped; at most 9 blocks."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.message import SlackMessage
from bot.engine.prep import Brief
from bot.ids import BlockId

PART = 2800  # characters of a part's bullets, under a section block's 3000


def _part(key: str, title: str, items: list[str], empty: str) -> SectionBlock:
    body = m.bullets(items, PART) if items else f"_{empty}_"
    return SectionBlock(block_id=BlockId.PREP.at(key), text=m.section_text(f"*{title}*\n{body}"))


def prep_message(
    brief: Brief, *, tz: str = "UTC", channel: str | None = None, reminder: bool = False
) -> SlackMessage:
    """The brief; ``reminder``: worded as the DM sent before the meeting."""
    name = m.one_line(brief.account_name)
    if brief.meeting is not None:
        when = style.when_label(brief.meeting.starts_at, tz, brief.generated_at)
        title = m.esc(m.fit(m.one_line(brief.meeting.title or "Meeting"), 200))
        meeting = f":calendar: *{title}* · {when}"
    else:
        meeting = ":calendar: No upcoming meeting is scheduled."
    intro = ":alarm_clock: Your meeting starts soon — here is your prep. " if reminder else ""
    blocks: list[Block] = [
        HeaderBlock(text=m.header_text(f":clipboard: Meeting prep: {name}")),
        ContextBlock(elements=[m.context_text(m.fit(intro + meeting, 1900))]),
        _part(
            "attendees",
            ":busts_in_silhouette: Attendees",
            [m.esc(m.fit(a.describe(), 300)) for a in brief.attendees],
            "No attendees listed.",
        ),
        _part(
            "obligations",
            ":rotating_light: Open obligations",
            [f"*{o.severity}* {m.esc(m.fit(o.text, 300))}" for o in brief.obligations],
            "Nothing is owed right now.",
        ),
        _part(
            "recent",
            ":memo: Recent activity",
            [
                f"{style.day_label(style.local(a.at, tz).date())} · {a.kind} {a.direction}"
                + (f" · {m.esc(m.fit(m.one_line(a.subject), 200))}" if a.subject else "")
                for a in brief.recent
            ],
            "No activity in the last 30 days.",
        ),
        _part(
            "health",
            ":heartpulse: Health and pulses",
            [m.esc(brief.health_line()), m.esc(brief.pulse_line())]
            + (
                [f"AI: {m.esc(m.fit(brief.ai_pulse.note, 300))}"]
                if brief.ai_pulse.note and brief.ai_pulse.valid
                else []
            ),
            "",
        ),
        _part(
            "talking_points",
            ":speech_balloon: Talking points",
            [m.esc(m.fit(t, 400)) for t in brief.talking_points],
            "Nothing in particular.",
        ),
        ContextBlock(
            elements=[
                m.context_text(
                    m.esc(f"Prepared {style.when_label(brief.generated_at, tz)} from the data")
                )
            ]
        ),
    ]
    return SlackMessage(
        text=m.fallback(f"Meeting prep: {m.fit(name, 150)}"), blocks=blocks, channel=channel
    )
