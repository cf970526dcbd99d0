"""AI Pulse: a 1–10 score with a rationale, written by the model from an account's recent
activity, stored on the account (``ai_pulse_score`` / ``ai_pulse_at`` / ``ai_pulse_rationale``)
where the sweep reads it (``low_pulse``, ``pulse_divergence``; valid ``ai_pulse_valid_days``).

:func:`refresh_ai_pulses` is a scheduler job: it rates the accounts whose activity changed since
their last AI pulse (an activity at or before now newer than ``ai_pulse_at``, or none yet), at
most ``limit`` per round, those never rated or rated longest ago first. The CSM Pulse is left
out of the prompt: the two are meant to be independent opinions. Answers are cached by their
prompt (``summary_cache``). A rationale that names a number, date or proper name not in the
prompt is dropped (the score is kept, with a rationale saying so). On an API failure the round
stops rating (the next round tries again) and nothing is stored; an answer that fails
validation stores nothing for that account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anthropic
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, func, or_, select, update

from bot.ai.cache import cache_key, cached, store
from bot.ai.client import AiConfig, AiUnavailable, call_tool
from bot.ai.grounding import Grounds, ungrounded_text
from bot.db.models import Account, Activity, HealthScore
from bot.engine.facts import NEVER_FLAGGED_STATUSES
from bot.engine.summary.lines import clean, day, num

log = logging.getLogger(__name__)

TOOL_NAME = "rate_account_pulse"
PER_ROUND = 10
RECENT_DAYS = 90
RECENT_ACTIVITIES = 40
DROPPED_RATIONALE = "(the AI's rationale named things not in the account's activity: dropped)"

INSTRUCTIONS = """\
You rate the relationship health of ONE customer account for its customer-success manager: a
pulse from 1 (about to churn) to 10 (thriving), from the account's recent activity only.
Answer only by calling the tool rate_account_pulse.

Rules — follow all of them:
1. Use only the data given; never invent people, dates, numbers or events.
2. The rationale is one or two plain sentences; repeat a number or date only exactly as given.
3. refs: the ids of the activities the rating rests on.
"""


class InvalidAnswer(Exception):
    """The model's answer failed validation (that account is skipped this round)."""


class PulseAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    score: int = Field(ge=1, le=10)
    rationale: str = Field(min_length=1, max_length=600)
    refs: list[str] = Field(default_factory=list, max_length=20)


def tool() -> dict[str, Any]:
    return {
        "name": TOOL_NAME,
        "description": "Rate the account's pulse from 1 to 10 with a short rationale.",
        "input_schema": {
            "type": "object",
            "properties": {
                "score": {"type": "integer", "minimum": 1, "maximum": 10},
                "rationale": {"type": "string"},
                "refs": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["score", "rationale", "refs"],
        },
    }


@dataclass(slots=True)
class PulseReport:
    rated: dict[str, int] = field(default_factory=dict)  # account id → score
    cached: int = 0
    failed: str | None = None  # why the round stopped rating
    invalid: list[str] = field(default_factory=list)  # accounts whose answer failed validation

    def summary(self) -> str:
        text = f"{len(self.rated)} rated ({self.cached} from the cache)"
        if self.invalid:
            text += f", {len(self.invalid)} invalid answer(s)"
        return text + (f"; stopped: {self.failed}" if self.failed else "")


def due_accounts(engine: Engine, now: datetime, limit: int) -> list[str]:
    """Accounts whose activity changed since their last AI pulse, never rated first."""
    latest = (
        select(Activity.account_id, func.max(Activity.at).label("last"))
        .where(Activity.at <= now)
        .group_by(Activity.account_id)
        .subquery()
    )
    query = (
        select(Account.id)
        .join(latest, latest.c.account_id == Account.id)
        .where(
            or_(Account.status.is_(None), Account.status.not_in(NEVER_FLAGGED_STATUSES)),
            or_(Account.ai_pulse_at.is_(None), latest.c.last > Account.ai_pulse_at),
        )
        .order_by(Account.ai_pulse_at.is_not(None), Account.ai_pulse_at, Account.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def pulse_prompt(engine: Engine, account_id: str, now: datetime) -> tuple[str, frozenset[str]]:
    """The account's recent activity as lines, and the activity ids it names."""
    with engine.connect() as conn:
        acc = conn.execute(
            select(
                Account.name,
                Account.segment,
                Account.status,
                Account.mrr,
                Account.renewal_date,
                Account.usage_trend,
                Account.adoption,
            ).where(Account.id == account_id)
        ).one()
        health = conn.execute(
            select(HealthScore.score)
            .where(HealthScore.account_id == account_id, HealthScore.at <= now)
            .order_by(HealthScore.at.desc())
            .limit(2)
        ).all()
        rows = conn.execute(
            select(
                Activity.id,
                Activity.at,
                Activity.kind,
                Activity.direction,
                Activity.outcome,
                Activity.subject,
                func.substr(Activity.body, 1, 300),
            )
            .where(
                Activity.account_id == account_id,
                Activity.at <= now,
                Activity.at >= now - timedelta(days=RECENT_DAYS),
            )
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(RECENT_ACTIVITIES)
        ).all()
    lines = [
        f"Pulse as of {now.date().isoformat()}.",
        "# Account",
        f"{account_id} | {clean(acc.name, 120)} | segment={acc.segment or '?'}"
        f" | status={acc.status or 'active'} | mrr={num(acc.mrr)}"
        f" | renewal={day(acc.renewal_date)}"
        f" | health={num(health[0][0]) if health else '?'}"
        f" (previous {num(health[1][0]) if len(health) > 1 else '?'})"
        f" | usage_trend={num(acc.usage_trend)} | adoption={num(acc.adoption)}",
        f"# Activities (newest first, last {RECENT_DAYS} days)",
    ]
    for r in rows:
        head = f"{r.id} | {day(r.at)} | {r.kind} {r.direction}"
        if r.outcome:
            head += f" ({r.outcome})"
        body = " — ".join(p for p in (clean(r[5], 100), clean(r[6])) if p)
        lines.append(f"{head} | {body}" if body else head)
    if not rows:
        lines.append("(none in the last 90 days)")
    return "\n".join(lines), frozenset(r.id for r in rows)


def _request(prompt: str) -> dict[str, Any]:
    return {
        "system": [{"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": prompt}],
        "tools": [tool()],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }


def rate_account(
    engine: Engine,
    config: AiConfig,
    account_id: str,
    now: datetime,
    report: PulseReport,
    *,
    client: anthropic.Anthropic | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Rate one account and store its AI pulse. Raises AiUnavailable and InvalidAnswer."""
    prompt, ids = pulse_prompt(engine, account_id, now)
    request = _request(prompt)
    key = cache_key(config.model, request)
    hit = cached(engine, key)
    raw = hit.answer if hit is not None else call_tool(config, request, client=client, sleep=sleep)
    try:
        answer = PulseAnswer.model_validate(raw)
    except ValidationError as exc:
        raise AiUnavailable(f"the AI answer was invalid ({exc.error_count()} problem(s))") from None
    if hit is None:
        store(engine, key, account_id, config.model, dict(raw), now)
    grounds = Grounds.of_text(prompt, ids | {account_id})
    rationale = " ".join(answer.rationale.split())
    why = ungrounded_text(rationale, grounds)
    unknown = [r for r in answer.refs if r not in grounds.ids]
    if why is not None or unknown:
        log.info("AI pulse rationale of %s dropped: %s", account_id, why or f"refs {unknown}")
        rationale = DROPPED_RATIONALE
    with engine.begin() as conn:
        conn.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(ai_pulse_score=answer.score, ai_pulse_at=now, ai_pulse_rationale=rationale)
        )
    report.rated[account_id] = answer.score
    report.cached += hit is not None


def refresh_ai_pulses(
    engine: Engine,
    config: AiConfig,
    now: datetime,
    *,
    limit: int = PER_ROUND,
    client: anthropic.Anthropic | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PulseReport:
    """The scheduler job (see the module docstring)."""
    report = PulseReport()
    for account_id in due_accounts(engine, now, limit):
        try:
            rate_account(engine, config, account_id, now, report, client=client, sleep=sleep)
        except InvalidAnswer as exc:
            log.warning("AI pulse of %s not written: %s", account_id, exc)
            report.invalid.append(account_id)
        except AiUnavailable as exc:
            log.warning("AI pulse of %s not written: %s", account_id, exc)
            report.failed = str(exc)
            break
    return report
