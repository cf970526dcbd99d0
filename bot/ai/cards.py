"""AI enrichment of cards: the hook, the summary and the next step of a digest's top cards,
written by the model from the card's evidence only.

Each card is one Messages request that forces the ``write_card_text`` tool. The answer is kept
in ``summary_cache`` under a key made of the model, the instructions and the card's evidence
(its account, lane and the ``signal:evidence`` and text of each reason): the same evidence
never calls the API twice, and a reason whose text ages ("overdue by 2 days" → "3 days") asks
again rather than reuse yesterday's numbers. Every field is checked against the card's evidence
prompt (:func:`bot.ai.grounding.ungrounded_text`: a number, date or proper name the evidence
does not hold drops it); a dropped field, an invalid answer or an API failure (after the client's
retries) leaves the rules writer's text, logged and otherwise silent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import anthropic
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from bot.ai.cache import cache_key, cached, store
from bot.ai.client import AiConfig, AiUnavailable, call_tool
from bot.ai.grounding import Grounds, ungrounded_text
from bot.engine.results import Card
from bot.engine.summary.lines import clean

log = logging.getLogger(__name__)

TOOL_NAME = "write_card_text"
PROMPT_VERSION = "cards-1"
TOP_CARDS = 3  # cards per digest the AI writes
MAX_CHARS = 300

INSTRUCTIONS = """\
You write the text of one follow-up card for a customer-success manager (CSM): why the account
needs attention today and what to do. You are given the card's evidence as lines: the account,
then each reason (record id | signal | severity | detail | facts), then a rules-written draft.
Answer only by calling the tool write_card_text.

Rules — follow all of them:
1. Use only the evidence given. Never invent people, products, dates, numbers or events.
2. Repeat a number or a date only exactly as it appears in the evidence.
3. Plain text, no markdown. hook: at most 12 words to open the conversation with, or null
   when there is nothing specific to lead with. summary: one or two sentences on why the
   account was flagged. next_step: one imperative sentence, the single most useful action.
"""


class CardAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hook: str | None = Field(default=None, max_length=MAX_CHARS)
    summary: str = Field(min_length=1, max_length=MAX_CHARS)
    next_step: str = Field(min_length=1, max_length=MAX_CHARS)


def tool() -> dict[str, Any]:
    text = {"type": "string", "maxLength": MAX_CHARS}
    return {
        "name": TOOL_NAME,
        "description": "Write the card's hook, summary and next step from its evidence.",
        "input_schema": {
            "type": "object",
            "properties": {
                "hook": {"type": ["string", "null"], "maxLength": MAX_CHARS},
                "summary": text,
                "next_step": text,
            },
            "required": ["hook", "summary", "next_step"],
        },
    }


def _facts(facts: dict[str, Any]) -> str:
    shown = {k: v for k, v in sorted(facts.items()) if isinstance(v, str | int | float | bool)}
    return "; ".join(f"{k}={clean(str(v), 120)}" for k, v in shown.items())


def evidence_prompt(card: Card) -> str:
    """The card's evidence as lines (what the model may use, and what grounding checks)."""
    lines = [
        f"# Account\n{card.account} | {clean(card.account_name, 120)} | lane={card.lane.value}"
        f" | segment={card.segment or '?'} | touch_policy={card.touch_policy}",
        "# Reasons",
    ]
    for r in card.reasons:
        lines.append(
            f"{r.evidence} | {r.signal} | {r.severity.value} | {clean(r.detail, 300)}"
            + (f" | {_facts(r.facts)}" if r.facts else "")
        )
    if card.waiting_on_you:
        lines.append("# They are waiting on")
        lines.extend(clean(w, 200) for w in card.waiting_on_you)
    extra = []
    if card.renewal_date:
        extra.append(f"renewal={card.renewal_date}")
    if card.upcoming_meeting:
        extra.append("upcoming_meeting=yes")
    if card.last_touch_days is not None:
        extra.append(f"last_touch_days={card.last_touch_days}")
    if extra:
        lines.append("# Facts\n" + " | ".join(extra))
    lines.append("# Draft")
    lines.append(f"hook: {card.hook or 'null'}")
    lines.append(f"summary: {card.summary}")
    lines.append(f"next_step: {card.next_step}")
    return "\n".join(lines)


def evidence_key(config: AiConfig, card: Card) -> str:
    """The cache key: the model, the instructions and the card's evidence (ids and texts)."""
    evidence = sorted(f"{r.key_part}|{r.detail}" for r in card.reasons)
    return cache_key(
        config.model,
        {
            "kind": "card",
            "version": PROMPT_VERSION,
            "instructions": INSTRUCTIONS,
            "account": card.account,
            "lane": card.lane.value,
            "evidence": evidence,
        },
    )


@dataclass(slots=True)
class EnrichReport:
    written: int = 0  # cards with AI text (fresh or cached)
    cached: int = 0
    fallbacks: list[str] = field(default_factory=list)  # why the rules text stayed


def _request(prompt: str) -> dict[str, Any]:
    return {
        "system": [{"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": prompt}],
        "tools": [tool()],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }


def _grounded(text: str | None, grounds: Grounds) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    why = ungrounded_text(text, grounds)
    if why is not None:
        log.info("AI card text dropped: %s", why)
        return None
    return text


def enrich_card(
    engine: Engine,
    config: AiConfig,
    card: Card,
    now: datetime,
    report: EnrichReport,
    *,
    client: anthropic.Anthropic | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Card:
    """``card`` with its text written by the AI where grounded; the card unchanged otherwise."""
    prompt = evidence_prompt(card)
    key = evidence_key(config, card)
    hit = cached(engine, key)
    if hit is not None:
        raw = hit.answer
    else:
        try:
            raw = call_tool(config, _request(prompt), client=client, sleep=sleep)
        except AiUnavailable as exc:
            log.warning("AI card text for %s not written: %s", card.account, exc)
            report.fallbacks.append(f"{card.account}: {exc}")
            return card
    try:
        answer = CardAnswer.model_validate(raw)
    except ValidationError as exc:
        log.warning("AI card answer for %s invalid: %d problem(s)", card.account, exc.error_count())
        report.fallbacks.append(f"{card.account}: the AI answer was invalid")
        return card
    if hit is None:
        store(engine, key, card.account, config.model, json.loads(answer.model_dump_json()), now)
    grounds = Grounds.of_text(prompt)
    summary = _grounded(answer.summary, grounds)
    next_step = _grounded(answer.next_step, grounds)
    hook = _grounded(answer.hook, grounds)
    if summary is None and next_step is None and hook is None:
        report.fallbacks.append(f"{card.account}: nothing the AI wrote was grounded")
        return card
    report.written += 1
    report.cached += hit is not None
    return replace(
        card,
        hook=hook if hook is not None else card.hook,
        summary=summary or card.summary,
        next_step=next_step or card.next_step,
        text_by="ai",
    )


def enrich_cards(
    engine: Engine,
    config: AiConfig,
    cards: Sequence[Card],
    now: datetime,
    *,
    top: int = TOP_CARDS,
    client: anthropic.Anthropic | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Card], EnrichReport]:
    """The first ``top`` of ``cards`` enriched (the rest as they are)."""
    report = EnrichReport()
    out = [
        enrich_card(engine, config, c, now, report, client=client, sleep=sleep) if n < top else c
        for n, c in enumerate(cards)
    ]
    return out, report
