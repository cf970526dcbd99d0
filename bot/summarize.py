"""The use case "summarise account X for period P", shared by ``/account-summary`` and the
``summary`` command: gather the account's data, write it with the ``rules`` writer, and —
when an Anthropic key is set — with the ``ai`` writer over it (cached, falling back to the
rules text when the model fails)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from bot.ai.client import AiConfig
from bot.engine.summary import Period, Summary, gather, write_rules
from bot.engine.summary.budget import allot_all
from bot.engine.summary.sections import SECTION_ORDER
from bot.engine.summary.visibility import hidden_sections
from bot.settings import Settings


def summarize(
    engine: Engine,
    account_id: str,
    now: datetime,
    period: Period | None = None,
    *,
    settings: Settings | None = None,
    ai: AiConfig | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """The account's summary as of ``now`` (raises ``UnknownAccount``). The AI writes it when
    ``ai`` is given or the settings hold an Anthropic key."""
    period = period or Period()
    with engine.connect() as conn:
        hidden = hidden_sections(conn)
    data = gather(engine, account_id, now, period)
    allotted = allot_all(data, [s for s in SECTION_ORDER if s not in hidden])
    sections = write_rules(data, hidden, allotted)
    summary = Summary(
        account_id=data.account.id,
        account_name=data.account.name,
        generated_at=now,
        period=period,
        sections=sections,
    )
    config = ai or AiConfig.from_settings(settings)
    if config is not None:
        from bot.ai.writer import write_ai

        result = write_ai(engine, config, data, sections, hidden, allotted, now, sleep=sleep)
        summary.sections = result.sections
        summary.cached = result.cached
        summary.ai_fallback = result.fallback
        if result.written_at is not None:
            summary.generated_at = result.written_at
    return summary
