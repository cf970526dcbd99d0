"""AI Pulse against a fake Anthropic Messages API on 127.0.0.1: rated for accounts whose
activity changed since their last AI pulse (bounded per round), stored on the account and used
by the sweep's pulse_divergence signal; cached by its prompt; an ungrounded rationale dropped;
an unavailable API stores nothing; one scheduler round runs it when a key is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.ai.client import AiConfig
from bot.ai.pulse import DROPPED_RATIONALE, TOOL_NAME, due_accounts, refresh_ai_pulses
from bot.db.models import Account
from bot.db.session import make_engine
from bot.engine.sweep import run_sweep
from bot.service.rounds import run_round
from tests.anthropic_fake import FakeAnthropic, error, fake_anthropic, tool_input
from tests.portfolio import NOW, Portfolio, iso, load, signals

D = timedelta(days=1)
KEY = "sk-ant-test-PULSE"


def config(fake: FakeAnthropic) -> AiConfig:
    return AiConfig(api_key=KEY, model="claude-test", base_url=fake.url, backoff=0.01)


def rated(score: int, rationale: str, refs: list[str]) -> dict[str, Any]:
    return tool_input({"score": score, "rationale": rationale, "refs": refs})


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    p = Portfolio()
    csm_pulse = {"score": 8, "note": "great", "set_at": iso(NOW - 5 * D), "set_by": "u-ana"}
    p.quiet_account("acc-1", name="Globex", csm_pulse=csm_pulse)
    p.activity(
        "acc-1",
        NOW - D,
        id="act-angry",
        kind="email",
        direction="inbound",
        subject="Cancel",
        body="We are evaluating other vendors after three outages.",
    )
    p.quiet_account("acc-2", name="Initech")  # its activity is older than its AI pulse
    p.data["accounts"][-1]["ai_pulse"] = {"score": 7, "at": iso(NOW - D / 2), "rationale": "ok"}
    p.quiet_account("acc-3", name="Umbrella", status="churned")  # never rated
    load(db_url, p, tmp_path)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def pulse_of(engine: Engine, account: str) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(
                    Account.ai_pulse_score, Account.ai_pulse_at, Account.ai_pulse_rationale
                ).where(Account.id == account)
            ).one()
        )


def test_only_accounts_whose_activity_changed_are_due(engine: Engine) -> None:
    assert due_accounts(engine, NOW, 10) == ["acc-1"]
    assert due_accounts(engine, NOW, 0) == []


def test_the_ai_pulse_is_stored_and_drives_the_divergence_signal(engine: Engine) -> None:
    assert "pulse_divergence" not in signals(run_sweep(engine, NOW, dry_run=True))
    answer = rated(2, "The customer wrote that they are evaluating other vendors.", ["act-angry"])
    with fake_anthropic(answer) as fake:
        report = refresh_ai_pulses(engine, config(fake), NOW, sleep=lambda _: None)
    assert report.rated == {"acc-1": 2} and fake.calls == 1
    request = fake.requests[0]
    assert request["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    prompt = request["messages"][0]["content"]
    assert "act-angry" in prompt and "Initech" not in prompt
    assert "great" not in prompt and "csm_pulse" not in prompt  # independent of the CSM's
    score, at, rationale = pulse_of(engine, "acc-1")
    assert score == 2 and at is not None and "other vendors" in rationale
    result = run_sweep(engine, NOW, dry_run=True)
    assert "pulse_divergence" in signals(result)
    card = next(c for c in result.cards if c.account == "acc-1")
    assert card.pulse.to_json()["ai"] == 2 and card.pulse.divergent is True
    # Nothing changed since: not due again, no call.
    assert due_accounts(engine, NOW + timedelta(minutes=1), 10) == []


def test_the_same_prompt_is_served_from_the_cache(engine: Engine) -> None:
    answer = rated(3, "They are evaluating other vendors.", ["act-angry"])
    with fake_anthropic(answer) as fake:
        refresh_ai_pulses(engine, config(fake), NOW, sleep=lambda _: None)
        with engine.begin() as conn:  # forget the pulse: the same prompt again
            conn.execute(
                Account.__table__.update()
                .where(Account.__table__.c.id == "acc-1")
                .values(ai_pulse_at=None)
            )
        again = refresh_ai_pulses(engine, config(fake), NOW, sleep=lambda _: None)
    assert fake.calls == 1 and again.cached == 1 and again.rated == {"acc-1": 3}


def test_an_ungrounded_rationale_is_dropped_but_the_score_kept(engine: Engine) -> None:
    answer = rated(3, "Jennifer said they will leave on 2027-01-31.", ["act-angry"])
    with fake_anthropic(answer) as fake:
        refresh_ai_pulses(engine, config(fake), NOW, sleep=lambda _: None)
    score, _, rationale = pulse_of(engine, "acc-1")
    assert score == 3 and rationale == DROPPED_RATIONALE


@pytest.mark.parametrize("reply", [error(529), tool_input({"score": 11, "rationale": "x"})])
def test_no_answer_stores_nothing(engine: Engine, reply: dict[str, Any]) -> None:
    before = pulse_of(engine, "acc-1")
    with fake_anthropic(reply, reply, reply) as fake:
        report = refresh_ai_pulses(engine, config(fake), NOW, sleep=lambda _: None)
    assert report.rated == {} and (report.failed or report.invalid == ["acc-1"])
    assert pulse_of(engine, "acc-1") == before


def test_a_round_rates_with_a_key_and_skips_without(engine: Engine) -> None:
    report = run_round(engine, None, NOW)
    assert report.ai_pulse is None and pulse_of(engine, "acc-1")[0] is None
    answer = rated(2, "They are evaluating other vendors.", ["act-angry"])
    with fake_anthropic(answer) as fake:
        report = run_round(engine, None, NOW + timedelta(minutes=1), ai=config(fake))
        again = run_round(engine, None, NOW + timedelta(minutes=2), ai=config(fake))
    assert report.ai_pulse == "1 rated (0 from the cache)" and fake.calls == 1
    assert again.ai_pulse == "0 rated (0 from the cache)"
    assert "AI Pulse: 1 rated (0 from the cache)" in report.lines()
