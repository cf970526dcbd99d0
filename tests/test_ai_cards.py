"""AI enrichment of the daily DM's top cards against a fake Anthropic Messages API on
127.0.0.1: the tool-use answer becomes the card's hook, summary and next step (stored with the
day's list), the same evidence is served from the cache with no call, 429 / 529 / timeouts and
invalid answers leave the rules text, and nothing that is not in the card's evidence survives."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.ai.cards import TOOL_NAME, enrich_cards, evidence_prompt
from bot.ai.client import AiConfig
from bot.db.models import DeliveryCard, SummaryCache
from bot.db.session import make_engine
from bot.engine.results import Card
from bot.engine.sweep import run_sweep
from bot.service.daily_dm import deliver_digests
from tests.anthropic_fake import FakeAnthropic, error, fake_anthropic, slow, tool_input
from tests.portfolio import NOW, load
from tests.slack_fakes import FakeSlack
from tests.test_deliver import FAST, client_for, portfolio

KEY = "sk-ant-test-CARDS"
GOOD = {
    "hook": "The renewal quote is 2 days late — say when it comes",
    "summary": "They still wait for the renewal quote, overdue by 2 days.",
    "next_step": "Send the renewal quote today, or agree a new date with the customer.",
}


def config(fake: FakeAnthropic, **fields: Any) -> AiConfig:
    return AiConfig(api_key=KEY, model="claude-test", base_url=fake.url, backoff=0.01, **fields)


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, portfolio(extra_ana_accounts=3), tmp_path)  # Ana: 4 cards, Bob: 1
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def ana_cards(engine: Engine) -> list[Card]:
    result = run_sweep(engine, NOW, dry_run=True, csm_id="u-ana")
    return sorted(result.cards, key=lambda c: c.account)


def enrich(engine: Engine, fake: FakeAnthropic, cards: list[Card], **fields: Any) -> Any:
    return enrich_cards(engine, config(fake, **fields), cards, NOW, sleep=lambda _: None)


def test_the_tool_answer_becomes_the_top_cards_text(engine: Engine) -> None:
    cards = ana_cards(engine)
    with fake_anthropic() as fake:
        fake.default = lambda body: tool_input(GOOD)
        out, report = enrich(engine, fake, cards)
    assert fake.calls == 3 and report.written == 3 and report.cached == 0
    for card in out[:3]:
        assert card.text_by == "ai"
        assert (card.hook, card.summary, card.next_step) == (
            GOOD["hook"],
            GOOD["summary"],
            GOOD["next_step"],
        )
    assert out[3] == cards[3] and out[3].text_by is None  # beyond the top 3: untouched
    request = fake.requests[0]
    assert request["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    prompt = request["messages"][0]["content"]
    assert prompt == evidence_prompt(cards[0])
    assert "acc-1" in prompt and "acc-2" not in prompt and "acc-x00" not in prompt


def test_the_same_evidence_is_served_from_the_cache_and_new_evidence_calls(
    engine: Engine,
) -> None:
    cards = ana_cards(engine)[:2]
    with fake_anthropic() as fake:
        fake.default = lambda body: tool_input(GOOD)
        enrich(engine, fake, cards)
        assert fake.calls == 2
        again, report = enrich(engine, fake, cards)
        assert fake.calls == 2  # no call: same evidence
        assert report.cached == 2 and all(c.text_by == "ai" for c in again)
        changed = cards[0]
        changed.reasons[0].evidence = "task:t-acc-1@2026-11-15T20:00:00Z"  # re-dated task
        enrich(engine, fake, [changed])
        assert fake.calls == 3
        # A day later the same task reads "overdue by 3 days": its numbers are asked again.
        aged = cards[1]
        aged.reasons[0].detail = aged.reasons[0].detail + " (a day later)"
        enrich(engine, fake, [aged])
        assert fake.calls == 4
    with engine.connect() as conn:
        assert len(conn.execute(select(SummaryCache.key)).all()) == 4


@pytest.mark.parametrize("status", [429, 529])
def test_an_unavailable_api_leaves_the_rules_text(
    engine: Engine, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cards = ana_cards(engine)[:1]
    with fake_anthropic(error(status), error(status), error(status)) as fake:
        out, report = enrich(engine, fake, cards)
    assert fake.calls == 3  # retried, then given up
    assert out == cards and out[0].text_by is None
    assert report.written == 0 and f"answered {status} after 3 tries" in report.fallbacks[0]
    assert "AI card text for acc-1 not written" in caplog.text
    assert KEY not in caplog.text


def test_a_timeout_leaves_the_rules_text(engine: Engine) -> None:
    cards = ana_cards(engine)[:1]
    with fake_anthropic(slow(3), slow(3)) as fake:
        out, report = enrich(engine, fake, cards, timeout=0.5, attempts=2)
    assert fake.calls == 2 and out == cards
    assert "no answer within 0.5s" in report.fallbacks[0]


def test_an_invalid_answer_leaves_the_rules_text_and_is_not_cached(engine: Engine) -> None:
    cards = ana_cards(engine)[:1]
    with fake_anthropic(tool_input({"hook": None, "summary": ""})) as fake:
        out, report = enrich(engine, fake, cards)
    assert out == cards and "invalid" in report.fallbacks[0]
    with engine.connect() as conn:
        assert conn.execute(select(SummaryCache.key)).first() is None


def test_nothing_that_is_not_in_the_cards_evidence_survives(engine: Engine) -> None:
    cards = ana_cards(engine)[:1]
    invented = {
        "hook": "Jennifer from Finance wants a call",  # a name the evidence does not hold
        "summary": "The quote is overdue by 5 days and blocks a 45% expansion.",  # numbers
        "next_step": "Send the renewal quote today.",  # grounded
    }
    with fake_anthropic(tool_input(invented)) as fake:
        [out], report = enrich(engine, fake, cards)
    assert out.next_step == "Send the renewal quote today." and out.text_by == "ai"
    assert out.hook == cards[0].hook and out.summary == cards[0].summary  # the rules text
    all_invented = {
        "hook": None,
        "summary": "Renewal due 2027-01-31 for Globex.",
        "next_step": "Call Jennifer.",
    }
    other = ana_cards(engine)[1:2]
    with fake_anthropic(tool_input(all_invented)) as fake:
        [kept], report = enrich(engine, fake, other)
    assert kept == other[0] and kept.text_by is None
    assert "nothing the AI wrote was grounded" in report.fallbacks[0]


def test_the_daily_dm_shows_and_stores_the_ai_text(engine: Engine) -> None:
    with FakeSlack() as slack, fake_anthropic() as fake:
        slack.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        slack.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
        fake.default = lambda body: tool_input(GOOD)
        report = deliver_digests(
            engine,
            client_for(slack),
            as_of=NOW,
            pacing=FAST,
            clock=lambda: NOW,
            ai=config(fake),
        )
        posted = [c.params for c in slack.calls_to("chat.postMessage", ok=True)]
    assert {o.status.value for o in report.outcomes} == {"posted"}
    assert fake.calls == 4  # Ana's top 3 and Bob's only card
    with engine.connect() as conn:
        stored = [
            c
            for c in conn.execute(
                select(DeliveryCard.card).order_by(DeliveryCard.delivery_id, DeliveryCard.position)
            ).scalars()
        ]
    assert sorted(c.get("text_by") or "rules" for c in stored) == ["ai"] * 4 + ["rules"]
    assert {c["summary"] for c in stored if c.get("text_by") == "ai"} == {GOOD["summary"]}
    assert any(GOOD["summary"] in str(p) for p in posted)


def test_without_a_key_the_daily_dm_calls_nothing(engine: Engine) -> None:
    with FakeSlack() as slack, fake_anthropic() as fake:
        slack.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        deliver_digests(
            engine, client_for(slack), as_of=NOW, pacing=FAST, clock=lambda: NOW, user_id="u-ana"
        )
    assert fake.calls == 0
