"""The ``ai`` writer: the rules sections, rewritten by the model where it can be grounded.

Sections our code computes (account highlights, immediate actions) stay as the rules wrote
them, and so does any section the model left empty or whose every bullet was dropped by the
grounding filter. On any failure (API unavailable after retries, timeout, wrong key or model,
an answer that fails validation) every section is the rules text and ``fallback`` says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anthropic
from pydantic import ValidationError
from sqlalchemy import Engine

from bot.ai.cache import cache_key, cached, store
from bot.ai.client import AiConfig, AiUnavailable, call_tool
from bot.ai.grounding import Grounds, ground
from bot.ai.prompt import INSTRUCTIONS, build_prompt
from bot.ai.schema import MAX_BULLETS, TOOL_NAME, AiAnswer, tool
from bot.engine.summary.budget import SectionActivities
from bot.engine.summary.data import AccountData
from bot.engine.summary.model import Generator, Section
from bot.engine.summary.sections import COMPUTED, SECTION_ORDER, SectionId, insufficient

log = logging.getLogger(__name__)

FALLBACK_TAIL = "; these sections were written by the rules writer instead."


@dataclass(slots=True)
class AiResult:
    sections: list[Section]
    cached: bool = False
    written_at: datetime | None = None  # when the AI text was first written (a cache hit)
    fallback: str | None = None
    dropped: int = 0


def asked_sections(hidden: frozenset[SectionId]) -> list[SectionId]:
    """The sections the model writes: visible, not computed by us, not starved of input."""
    return [
        s
        for s in SECTION_ORDER
        if s not in hidden and s not in COMPUTED and not insufficient(s, hidden)
    ]


def ai_request(
    data: AccountData,
    allotted: dict[SectionId, SectionActivities],
    asked: Sequence[SectionId],
) -> tuple[dict[str, Any], str]:
    """The Messages request (instructions prompt-cached) and its account prompt."""
    prompt = build_prompt(data, allotted, asked)
    request = {
        "system": [{"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": prompt}],
        "tools": [tool(asked)],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }
    return request, prompt


def write_ai(
    engine: Engine,
    config: AiConfig,
    data: AccountData,
    rules: list[Section],
    hidden: frozenset[SectionId],
    allotted: dict[SectionId, SectionActivities],
    now: datetime,
    *,
    client: anthropic.Anthropic | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AiResult:
    asked = asked_sections(hidden)
    if not asked:
        return AiResult(rules)
    request, prompt = ai_request(data, allotted, asked)
    key = cache_key(config.model, request)
    hit = cached(engine, key)
    raw: dict[str, Any]
    if hit is not None:
        raw = hit.answer
    else:
        try:
            raw = call_tool(config, request, client=client, sleep=sleep)
        except AiUnavailable as exc:
            return AiResult(rules, fallback=str(exc) + FALLBACK_TAIL)
    try:
        answer = AiAnswer.model_validate(raw)
    except ValidationError as exc:
        log.warning("AI answer failed validation: %d problem(s)", exc.error_count())
        return AiResult(
            rules, fallback="the AI answer was invalid (it failed validation)" + FALLBACK_TAIL
        )
    if hit is None:
        store(engine, key, data.account.id, config.model, raw, now)
    grounds = Grounds.of(data, prompt)
    out: list[Section] = []
    dropped = 0
    for section in rules:
        bullets = answer.sections.get(section.id) if section.id in asked else None
        if not bullets:
            out.append(section)
            continue
        kept, why = ground(section.id, bullets[:MAX_BULLETS], grounds)
        dropped += len(why)
        for reason in why:
            log.info("AI bullet dropped from %s: %s", section.id.value, reason)
        if kept:
            out.append(Section(section.id, kept, notice=section.notice, generator=Generator.AI))
        else:
            out.append(section)
    return AiResult(
        out,
        cached=hit is not None,
        written_at=hit.created_at if hit is not None else None,
        dropped=dropped,
    )
