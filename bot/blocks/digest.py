"""The daily DM: a header with the date and lane counts, then each lane's cards by score.

A message holds at most 50 blocks. The digest fills one message, spills into a second one
when it must (a whole lane moves rather than splitting when it fits there), and past
``max_messages`` the rest is counted in the "N more in the App Home" footer, together with the
cards the digest's ``max_per_lane`` left out (``Digest.more``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from bot.blocks import mrkdwn as m
from bot.blocks import style
from bot.blocks.cards import CARD_BLOCKS, card_blocks, handled_blocks
from bot.blocks.message import SlackMessage
from bot.engine.digest import Digest
from bot.engine.results import Card
from bot.engine.rules import LANE_ORDER, Lane
from bot.ids import BlockId

MAX_DIGEST_MESSAGES = 2
LANE_INTRO_BLOCKS = 2  # divider + lane title
FIRST_INTRO_BLOCKS = 2  # header + lane counts
NEXT_INTRO_BLOCKS = 1  # "continued" context
FOOTER_BLOCKS = 1
HANDLED_BLOCKS = 1  # a handled card of a day's list: one line


@dataclass
class _Page:
    intro: int
    blocks: list[Block] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)

    def room(self) -> int:
        return m.MESSAGE_BLOCKS - FOOTER_BLOCKS - self.intro - len(self.blocks)


def lane_counts(digest: Digest) -> dict[Lane, int]:
    """Cards per lane still to do, counting those ``max_per_lane`` left out (a card of a day's
    list handled since is not counted)."""
    return {
        lane: sum(1 for c in digest.lanes.get(lane, []) if c.account not in digest.handled)
        + digest.more.get(lane, 0)
        for lane in LANE_ORDER
    }


def _blocks_of(digest: Digest, card: Card) -> int:
    return HANDLED_BLOCKS if card.account in digest.handled else CARD_BLOCKS


def digest_channel(digest: Digest) -> str:
    return digest.user.slack_user_id or digest.user.id


def digest_day(digest: Digest) -> str:
    return style.day_label(style.local(digest.result.as_of, digest.user.timezone).date())


def _lane_intro(lane: Lane, count: int, *, continued: bool) -> list[Block]:
    title = f"*{style.LANE_EMOJI[lane]} {lane.label}*"
    text = (
        f"{title}  _(continued)_"
        if continued
        else f"{title}  ·  {count}\n_{style.LANE_TAGLINE[lane]}_"
    )
    block_id = BlockId.LANE.at(lane.value, "cont") if continued else BlockId.LANE.at(lane.value)
    return [DividerBlock(), SectionBlock(block_id=block_id, text=m.section_text(text))]


def digest_messages(
    digest: Digest,
    *,
    names: Mapping[str, str] | None = None,
    max_messages: int = MAX_DIGEST_MESSAGES,
    now: datetime | None = None,
) -> list[SlackMessage]:
    """The chat.postMessage payloads of one reader's daily DM (none when the digest is
    skipped: opted out, or the org's digest is off). ``now``: when a day's list is rendered
    again (for "back tomorrow at …" on a snoozed card)."""
    if digest.skipped:
        return []
    reader = digest.user
    owners = {reader.id: reader.name, **(names or {})}
    today = style.local(digest.result.as_of, reader.timezone).date()
    counts = lane_counts(digest)
    day = digest_day(digest)

    pages = [_Page(FIRST_INTRO_BLOCKS)]
    overflow = sum(digest.more.values())
    stopped = False

    def new_page() -> _Page | None:
        if len(pages) >= max_messages:
            return None
        pages.append(_Page(NEXT_INTRO_BLOCKS))
        return pages[-1]

    for lane in LANE_ORDER:
        cards = digest.lanes.get(lane, [])
        if not cards:
            continue
        if stopped:
            overflow += len(cards)
            continue
        page = pages[-1]
        whole = LANE_INTRO_BLOCKS + sum(_blocks_of(digest, c) for c in cards)
        first = LANE_INTRO_BLOCKS + _blocks_of(digest, cards[0])
        fresh = m.MESSAGE_BLOCKS - FOOTER_BLOCKS - NEXT_INTRO_BLOCKS
        if (page.room() < whole and page.blocks and whole <= fresh) or (page.room() < first):
            page = new_page() or page
        if page.room() < first:
            stopped = True
            overflow += len(cards)
            continue
        page.blocks.extend(_lane_intro(lane, counts[lane], continued=False))
        page.lanes.append(lane)
        for i, card in enumerate(cards):
            if page.room() < _blocks_of(digest, card):
                nxt = new_page()
                if nxt is None:
                    stopped = True
                    overflow += len(cards) - i
                    break
                page = nxt
                page.blocks.extend(_lane_intro(lane, counts[lane], continued=True))
                page.lanes.append(lane)
            handled = digest.handled.get(card.account)
            if handled is not None:
                by = owners.get(handled.by or "", handled.by)
                page.blocks.extend(
                    handled_blocks(card, handled, by=by, tz=reader.timezone, now=now)
                )
            else:
                page.blocks.extend(card_blocks(card, owner=owners.get(card.csm or ""), today=today))

    channel = digest_channel(digest)
    out: list[SlackMessage] = []
    for n, page in enumerate(pages, 1):
        blocks: list[Block] = []
        if n == 1:
            blocks.extend(_first_intro(digest, day, counts))
            text = _first_fallback(digest, day, counts)
        else:
            blocks.append(
                ContextBlock(
                    block_id=BlockId.DIGEST_HEADER,
                    elements=[
                        m.context_text(
                            f":sunrise: *Your follow-ups for {day}* — continued ({n}/{len(pages)})"
                        )
                    ],
                )
            )
            lanes = ", ".join(lane.label for lane in page.lanes)
            text = f"Your follow-ups for {day} (continued): {m.esc(lanes)}"
        blocks.extend(page.blocks)
        if n == len(pages):
            blocks.append(_footer(digest, overflow))
        out.append(SlackMessage(text=m.fallback(text), blocks=blocks, channel=channel))
    return out


def _first_intro(digest: Digest, day: str, counts: Mapping[Lane, int]) -> list[Block]:
    header = HeaderBlock(
        block_id=BlockId.DIGEST_HEADER, text=m.header_text(f":sunrise: Your follow-ups for {day}")
    )
    if not sum(counts.values()) and digest.handled:
        return [
            header,
            SectionBlock(
                block_id=BlockId.DIGEST_OVERVIEW,
                text=m.section_text(":tada: *All done.* Every card of this list is handled."),
            ),
        ]
    if not sum(counts.values()):
        return [
            header,
            SectionBlock(
                block_id=BlockId.DIGEST_OVERVIEW,
                text=m.section_text(
                    ":sparkles: *Nothing needs you today.* Every account is on track — "
                    "enjoy the quiet."
                ),
            ),
        ]
    parts = [
        f"{style.LANE_EMOJI[lane]} *{counts[lane]}* {style.LANE_SHORT[lane]}" for lane in LANE_ORDER
    ]
    return [
        header,
        ContextBlock(
            block_id=BlockId.DIGEST_OVERVIEW,
            elements=[m.context_text("   ·   ".join(parts) + "   ·   _ranked by action score_")],
        ),
    ]


def _first_fallback(digest: Digest, day: str, counts: Mapping[Lane, int]) -> str:
    if not sum(counts.values()):
        if digest.handled:
            return f"Your follow-ups for {day}: all done."
        return f"Your follow-ups for {day}: nothing needs you today."
    parts = ", ".join(f"{counts[lane]} {style.LANE_SHORT[lane]}" for lane in LANE_ORDER)
    text = f"Your follow-ups for {day}: {parts}."
    for lane in LANE_ORDER:
        cards = [c for c in digest.lanes.get(lane, []) if c.account not in digest.handled]
        if cards:
            top = cards[0]
            text += f" First up: {m.fit(m.one_line(top.account_name), 150)}"
            if top.next_step:
                text += f" — {m.fit(m.one_line(top.next_step), 300)}"
            break
    return text


def _footer(digest: Digest, overflow: int) -> ContextBlock:
    parts = []
    if overflow:
        parts.append(f":house: *{overflow} more* in the App Home")
    sens = digest.sensitivity
    label = style.SENSITIVITY_LABEL.get(sens, m.esc(sens))
    hint = style.SENSITIVITY_HINT.get(sens)
    parts.append(
        f":gear: Noise level: {label}" + (f" ({hint})" if hint else "") + " — `/followup settings`"
    )
    return ContextBlock(
        block_id=BlockId.DIGEST_FOOTER, elements=[m.context_text("   ·   ".join(parts))]
    )


def digest_payloads(
    digest: Digest, *, names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The exact chat.postMessage arguments of the daily DM (``digest --format blocks``)."""
    return [msg.to_dict() for msg in digest_messages(digest, names=names)]
