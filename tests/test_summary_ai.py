"""The ``ai`` summary writer against a fake Anthropic Messages API on 127.0.0.1: tool-use
parsing, retries then the rules fallback (429, 529, 5xx, timeouts), a wrong key, an invalid
answer, the cache (no call for the same inputs, one for changed data), grounding, the KPI
rule, hidden sections, another account's data, and a bounded prompt at 100,000 activities."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from bot.ai.client import AiConfig
from bot.ai.prompt import PROMPT_TOKEN_BUDGET, estimate_tokens
from bot.ai.writer import ai_request, asked_sections
from bot.db.models import Activity
from bot.db.session import make_engine
from bot.engine.summary import Period, SectionId, Summary
from bot.engine.summary.budget import allot_all
from bot.engine.summary.data import gather
from bot.engine.summary.sections import SECTION_ORDER
from bot.engine.summary.visibility import set_hidden_sections
from bot.importer import import_file
from bot.summarize import summarize
from tests.anthropic_fake import FakeAnthropic, error, fake_anthropic, slow, tool_answer
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, iso
from tests.summary_portfolio import summary_portfolio

KEY = "sk-ant-test-SECRET-123"
GOOD = {
    "relational_health": [
        {
            "text": "Nina Champion wrote warmly about a rollout to another team.",
            "refs": ["act-exp", "c-1"],
        }
    ],
    "strategic_value_achievements": [
        {"text": "Reports automated is completed at 100%.", "refs": ["kpi-done"]}
    ],
}


def load(engine: Engine, portfolio: Portfolio, tmp_path: Path, name: str = "p.json") -> None:
    import_file(engine, portfolio.write(tmp_path / name), now=NOW)


def config(fake: FakeAnthropic, **fields: Any) -> AiConfig:
    return AiConfig(api_key=KEY, model="claude-test", base_url=fake.url, backoff=0.01, **fields)


def run(engine: Engine, fake: FakeAnthropic, **fields: Any) -> Summary:
    return summarize(engine, "acc-1", NOW, ai=config(fake, **fields), sleep=lambda _: None)


def bullets(summary: Summary, section: SectionId) -> list[str]:
    found = summary.section(section)
    assert found is not None
    return [b.text for b in found.bullets]


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    load(engine, summary_portfolio(), tmp_path)
    return engine


def test_the_tool_answer_becomes_the_ai_sections(loaded: Engine) -> None:
    with fake_anthropic(tool_answer(GOOD)) as fake:
        s = run(loaded, fake)
    doc = s.to_json()
    assert doc["generator"] == "ai" and doc["cached"] is False and doc["ai_fallback"] is None
    by_id = {x["id"]: x for x in doc["sections"]}
    assert by_id["relational_health"]["generator"] == "ai"
    assert by_id["relational_health"]["content"] == [GOOD["relational_health"][0]]
    assert by_id["account_highlights"]["generator"] == "rules"  # numbers are ours
    assert by_id["immediate_actions"]["generator"] == "rules"
    assert by_id["key_stakeholders"]["generator"] == "rules"  # the model left it empty
    [request] = fake.requests
    assert request["model"] == "claude-test"
    assert request["tool_choice"] == {"type": "tool", "name": "write_account_summary"}
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
    asked = set(request["tools"][0]["input_schema"]["properties"]["sections"]["properties"])
    assert asked == {s.value for s in asked_sections(frozenset())}
    assert "account_highlights" not in asked and "immediate_actions" not in asked
    prompt = request["messages"][0]["content"]
    for other in ("Other Co", "Zed", "c-9", "kpi-9", "act-9", "acc-2"):
        assert other not in prompt  # nothing of another account in the prompt
    assert KEY not in json.dumps(doc)


@pytest.mark.parametrize("status", [429, 529, 500])
def test_retries_then_the_answer(loaded: Engine, status: int) -> None:
    with fake_anthropic(error(status), error(status, retry_after=0), tool_answer(GOOD)) as fake:
        s = run(loaded, fake)
    assert fake.calls == 3 and s.generator.value == "ai" and s.ai_fallback is None


@pytest.mark.parametrize("status", [429, 529, 503])
def test_retries_exhausted_fall_back_to_the_rules_text(loaded: Engine, status: int) -> None:
    rules = summarize(loaded, "acc-1", NOW)
    with fake_anthropic(error(status), error(status), error(status)) as fake:
        s = run(loaded, fake)
    assert fake.calls == 3
    assert s.generator.value == "rules" and s.cached is False
    assert s.ai_fallback is not None and f"answered {status} after 3 tries" in s.ai_fallback
    assert [x.to_json() for x in s.sections] == [x.to_json() for x in rules.sections]


def test_a_model_that_times_out_falls_back(loaded: Engine) -> None:
    with fake_anthropic(slow(3), slow(3)) as fake:
        s = run(loaded, fake, timeout=0.5, attempts=2)
    assert fake.calls == 2
    assert s.ai_fallback is not None and "no answer within 0.5s" in s.ai_fallback
    assert s.generator.value == "rules"


def test_a_wrong_key_names_the_setting_and_never_shows_the_key(
    loaded: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with fake_anthropic(error(401)) as fake:
        s = run(loaded, fake)
    assert fake.calls == 1  # not retried
    assert s.ai_fallback is not None and "ANTHROPIC_API_KEY" in s.ai_fallback
    assert KEY not in json.dumps(s.to_json()) and KEY not in caplog.text
    assert KEY not in repr(config(fake))


def test_an_answer_that_fails_validation_falls_back(loaded: Engine) -> None:
    with fake_anthropic(tool_answer({"kpi_progress": "not a list"})) as fake:  # type: ignore[dict-item]
        s = run(loaded, fake)
    assert s.ai_fallback is not None and "failed validation" in s.ai_fallback
    assert s.generator.value == "rules"


def test_the_same_inputs_are_served_from_the_cache_and_a_data_change_calls_again(
    loaded: Engine, tmp_path: Path
) -> None:
    with fake_anthropic(tool_answer(GOOD), tool_answer(GOOD)) as fake:
        first = run(loaded, fake)
        second = run(loaded, fake)
        assert fake.calls == 1  # the cache answered
        assert second.cached is True and second.generator.value == "ai"
        assert second.generated_at == first.generated_at  # when it was first written
        assert [x.to_json() for x in second.sections] == [x.to_json() for x in first.sections]
        p = Portfolio()
        p.data.pop("teams"), p.data.pop("users")
        p.data["org"] = {"name": "Test Org", "timezone": "America/New_York"}
        p.activity(
            "acc-1",
            NOW - timedelta(hours=1),
            id="act-new",
            kind="email",
            direction="inbound",
            contact="c-2",
            subject="New",
            body="A new message.",
        )
        load(loaded, p, tmp_path, "more.json")
        third = run(loaded, fake)
        assert fake.calls == 2 and third.cached is False


def test_grounding_drops_uncited_miscited_and_invented_bullets(loaded: Engine) -> None:
    answer = {
        "relational_health": [
            {"text": "Nina Champion is engaged.", "refs": ["c-1"]},
            {"text": "No citation here.", "refs": []},
            {"text": "Zed Outsider is unhappy.", "refs": ["c-9"]},  # another account's id
            {"text": "Bob Invented from Initech called.", "refs": ["c-1"]},  # names not in data
            {"text": "They met on 2024-02-30.", "refs": ["c-1"]},  # a date not in data
            {"text": "Usage grew 37% this year.", "refs": ["acc-1"]},  # a number not in data
        ],
        "strategic_value_achievements": [
            {"text": "Seats active is at 90%.", "refs": ["kpi-off"]},  # off track
            {"text": "SSO rollout is at 80%.", "refs": ["kpi-blk"]},  # blocked
            {"text": "Exec dashboard is at 70%.", "refs": ["kpi-ns"]},  # not started
            {"text": "Dashboards live is at 10%.", "refs": ["kpi-slow"]},  # no significant progress
            {"text": "Teams onboarded is at 60%, on track.", "refs": ["kpi-on"]},
        ],
    }
    with fake_anthropic(tool_answer(answer)) as fake:
        s = run(loaded, fake)
    assert bullets(s, SectionId.RELATIONAL_HEALTH) == ["Nina Champion is engaged."]
    assert bullets(s, SectionId.STRATEGIC_VALUE_ACHIEVEMENTS) == [
        "Teams onboarded is at 60%, on track."
    ]
    text = json.dumps(s.to_json())
    for invented in ("Zed", "Bob Invented", "Initech", "2024-02-30", "37%"):
        assert invented not in text


def test_hidden_sections_are_not_asked_for(loaded: Engine) -> None:
    with loaded.begin() as conn:
        set_hidden_sections(
            conn, [SectionId.RELATIONAL_HEALTH, SectionId.KEY_STAKEHOLDERS], actor=None, now=NOW
        )
    with fake_anthropic(tool_answer(GOOD)) as fake:
        s = run(loaded, fake)
    schema = fake.requests[0]["tools"][0]["input_schema"]["properties"]["sections"]
    assert "relational_health" not in schema["properties"]
    assert "key_stakeholders" not in schema["properties"]
    assert s.section(SectionId.RELATIONAL_HEALTH) is None


def test_an_account_with_no_data_asks_nothing_it_cannot_ground(
    engine: Engine, tmp_path: Path
) -> None:
    p = Portfolio()
    p.account("acc-1", name="Empty Inc")
    load(engine, p, tmp_path)
    answer = {
        "executive_summary": [{"text": "A thriving partnership with Acme.", "refs": ["acc-1"]}]
    }
    with fake_anthropic(tool_answer(answer)) as fake:
        s = run(engine, fake)
    assert "Acme" not in json.dumps(s.to_json())
    assert s.section(SectionId.EXECUTIVE_SUMMARY) is not None


def test_the_prompt_stays_bounded_at_100k_activities(sqlite_url: str, tmp_path: Path) -> None:
    engine = make_engine(sqlite_url)
    load(engine, summary_portfolio(), tmp_path)
    body = "We would like more seats for the analytics team; thanks for the help. " * 5
    rows = [
        {
            "id": f"bulk-{n}",
            "account_id": "acc-1",
            "at": NOW - timedelta(minutes=n + 1),
            "kind": "email" if n % 3 else "note",
            "direction": "inbound" if n % 3 else "internal",
            "contact_id": "c-1" if n % 3 else None,
            "kpi_id": "kpi-on" if n % 7 == 0 else None,
            "subject": f"Message {n}",
            "body": body,
        }
        for n in range(100_000)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    data = gather(engine, "acc-1", NOW, Period())
    assert data.activities.total == 100_003
    asked = asked_sections(frozenset())
    allotted = allot_all(data, list(SECTION_ORDER))
    request, prompt = ai_request(data, allotted, asked)
    tokens = estimate_tokens(prompt, json.dumps(request["system"]), json.dumps(request["tools"]))
    assert tokens <= PROMPT_TOKEN_BUDGET
    assert all(allotted[s].notice for s in allotted if allotted[s].rows)  # each says its cut
    engine.dispose()


def test_cli_summary_with_a_key_uses_the_ai_and_hides_the_key(
    sqlite_url: str, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    load(engine, summary_portfolio(), tmp_path)
    engine.dispose()
    args = [
        "--database-url",
        sqlite_url,
        "summary",
        "acc-1",
        "--as-of",
        iso(NOW),
        "--format",
        "json",
    ]
    with fake_anthropic(tool_answer(GOOD)) as fake:
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": fake.url}
        done = run_cli(*args, env=env)
        assert done.returncode == 0, done.stderr
        doc = json.loads(done.stdout)
        assert doc["generator"] == "ai" and doc["cached"] is False
        again = json.loads(run_cli(*args, env=env).stdout)
        assert again["cached"] is True and fake.calls == 1
    with fake_anthropic(error(401)) as fake:  # another model: not in the cache
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_MODEL": "m2"}
        done = run_cli(*args[:-2], env=env)
    assert done.returncode == 0 and "ANTHROPIC_API_KEY" in done.stdout
    assert KEY not in done.stdout + done.stderr
    empty = run_cli(*args, env={"ANTHROPIC_API_KEY": ""})
    assert json.loads(empty.stdout)["generator"] == "rules"


def test_account_summary_in_slack_shows_a_placeholder_at_once_then_the_ai_summary(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The model takes 3 s: the placeholder is visible within a second, then replaced."""
    import time

    from bot.ids import ActionId, Command
    from tests.bot_harness import add_fake_users, find_element, portfolio, running_bot
    from tests.slack_fakes import FakeSlack

    answer = {"risks_and_blockers": [{"text": "Globex is waiting on a quote.", "refs": ["acc-1"]}]}
    with (
        FakeSlack() as slack,
        fake_anthropic(tool_answer(answer, delay=3)) as model,
    ):
        add_fake_users(slack)
        settings = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": model.url}
        with running_bot(sqlite_url, tmp_path, slack, portfolio(), settings=settings) as bot:
            started = time.monotonic()
            bot.command(Command.ACCOUNT_SUMMARY, "globex")
            [first] = bot.wait("response_url", 1)
            assert time.monotonic() - started < 1.0
            assert "Writing the account summary of *Globex*" in json.dumps(first.params)
            second = bot.wait("response_url", 2, timeout=15)[1].params
    assert second["replace_original"] is True
    text = json.dumps(second["blocks"])
    assert "Globex is waiting on a quote." in text and "written by AI" in text
    find_element(second["blocks"], ActionId.SUMMARY_SAVE)
    assert model.calls == 1
