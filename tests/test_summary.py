"""The ten-section account summary with the rules writer, on SQLite and PostgreSQL: the
sections and their JSON, the KPI inclusion rules, the period, hidden sections, activity
budgets, and bad input (no data, dangling links)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.db.models import Alert
from bot.engine import triage
from bot.engine.summary import Period, SectionId, Summary, UnknownAccount
from bot.engine.summary.budget import allot
from bot.engine.summary.data import gather
from bot.engine.summary.visibility import hidden_sections, set_hidden_sections
from bot.engine.sweep import run_sweep
from bot.importer import import_file
from bot.summarize import summarize
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, iso
from tests.summary_portfolio import summary_portfolio

IDS = [
    "account_highlights",
    "key_stakeholders",
    "executive_summary",
    "kpi_progress",
    "relational_health",
    "risks_and_blockers",
    "expansion_opportunities",
    "strategic_value_achievements",
    "strategic_next_steps",
    "immediate_actions",
]


def load(engine: Engine, portfolio: Portfolio, tmp_path: Path) -> None:
    import_file(engine, portfolio.write(tmp_path / "portfolio.json"), now=NOW)


def refs(summary: Summary, section: SectionId) -> set[str]:
    found = summary.section(section)
    assert found is not None, section
    return {r for b in found.bullets for r in b.refs}


def text(summary: Summary, section: SectionId | None = None) -> str:
    if section is None:
        return json.dumps(summary.to_json())
    found = summary.section(section)
    assert found is not None
    return " ".join(b.text for b in found.bullets)


def test_every_section_in_order_with_the_json_shape_of_cli_md(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, summary_portfolio(), tmp_path)
    doc = summarize(engine, "acc-1", NOW).to_json()
    assert set(doc) >= {
        "account",
        "generated_at",
        "generator",
        "cached",
        "ai_fallback",
        "period",
        "sections",
    }
    assert doc["generator"] == "rules" and doc["cached"] is False and doc["ai_fallback"] is None
    assert doc["period"] == {"since": None, "until": None}
    assert [s["id"] for s in doc["sections"]] == IDS
    for section in doc["sections"]:
        assert set(section) == {"id", "title", "content", "notice", "generator"}
        assert section["generator"] == "rules" and section["content"], section["id"]
        for bullet in section["content"]:
            assert bullet["text"] and isinstance(bullet["refs"], list)


def test_highlights_are_computed_from_the_records(engine: Engine, tmp_path: Path) -> None:
    load(engine, summary_portfolio(), tmp_path)
    s = summarize(engine, "acc-1", NOW)
    highlights = text(s, SectionId.ACCOUNT_HIGHLIGHTS)
    assert "$120,000 (MRR $10,000 × 12)" in highlights
    assert "Product family: Analytics Suite" in highlights
    assert "3 of 6 on track or completed" in highlights
    assert "Cases: 1 open, 1 escalated" in highlights
    assert "Projects: 2 active, 1 red: 'Data migration'" in highlights
    assert "2 open ($140,000 in total), 1 active expansion: 'More seats'" in highlights


def test_value_achievements_keep_only_significant_on_track_or_completed_kpis(
    engine: Engine, tmp_path: Path
) -> None:
    """Off track, blocked and not started KPIs never count, however far along their numbers
    are; on track ones count from half way; completed ones always."""
    load(engine, summary_portfolio(), tmp_path)
    s = summarize(engine, "acc-1", NOW)
    cited = refs(s, SectionId.STRATEGIC_VALUE_ACHIEVEMENTS)
    assert {"kpi-done", "kpi-on"} <= cited
    assert not cited & {"kpi-off", "kpi-blk", "kpi-ns", "kpi-slow"}
    assert {"kpi-off", "kpi-blk"} <= refs(s, SectionId.RISKS_AND_BLOCKERS)


def test_nothing_of_another_account_appears(engine: Engine, tmp_path: Path) -> None:
    load(engine, summary_portfolio(), tmp_path)
    doc = text(summarize(engine, "acc-1", NOW))
    for other in ("Other Co", "Zed", "c-9", "kpi-9", "sp-9", "act-9", "acc-2"):
        assert other not in doc


def test_expansion_signals_and_immediate_actions(engine: Engine, tmp_path: Path) -> None:
    p = summary_portfolio()
    p.add(
        "tasks",
        id="t-late",
        account="acc-1",
        title="Send the quote",
        due_at=iso(NOW - timedelta(days=3)),
        priority="high",
    )
    load(engine, p, tmp_path)
    s = summarize(engine, "acc-1", NOW)
    assert "act-exp" in refs(s, SectionId.EXPANSION_OPPORTUNITIES)
    assert "rollout to another team" in text(s, SectionId.EXPANSION_OPPORTUNITIES)
    assert "t-late" in refs(s, SectionId.IMMEDIATE_ACTIONS)
    assert "Send the quote" in text(s, SectionId.IMMEDIATE_ACTIONS)


def test_immediate_actions_are_the_stored_cards_open_reasons(
    engine: Engine, tmp_path: Path
) -> None:
    p = summary_portfolio()
    for task_id, title in (("t-late", "Send the quote"), ("t-later", "Book the QBR")):
        due = iso(NOW - timedelta(days=3))
        p.add("tasks", id=task_id, account="acc-1", title=title, due_at=due, priority="high")
    load(engine, p, tmp_path)
    run_sweep(engine, NOW)  # the stored queue
    with engine.begin() as conn:
        [alert_id] = conn.execute(
            select(Alert.id).where(Alert.evidence.like("task:t-late@%"))
        ).scalars()
        triage.dismiss(conn, alert_id, actor="u-ana", now=NOW, reason=None)
    s = summarize(engine, "acc-1", NOW + timedelta(minutes=5))
    assert "t-later" in refs(s, SectionId.IMMEDIATE_ACTIONS)
    assert "t-late" not in refs(s, SectionId.IMMEDIATE_ACTIONS)  # dismissed since


def test_the_period_limits_the_activities_read(engine: Engine, tmp_path: Path) -> None:
    load(engine, summary_portfolio(), tmp_path)
    whole = summarize(engine, "acc-1", NOW)
    assert "act-old" in refs(whole, SectionId.EXPANSION_OPPORTUNITIES)
    recent = summarize(engine, "acc-1", NOW, Period(since=NOW - timedelta(days=30)))
    assert "act-old" not in text(recent) and "act-exp" in text(recent)
    before = summarize(engine, "acc-1", NOW, Period(until=NOW - timedelta(days=100)))
    assert "act-exp" not in text(before) and "act-old" in text(before)
    assert before.to_json()["period"]["until"] is not None


def test_hidden_sections_are_left_out_and_an_unfed_section_says_so(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, summary_portfolio(), tmp_path)
    with engine.begin() as conn:
        set_hidden_sections(conn, [SectionId.KEY_STAKEHOLDERS], actor="u-admin", now=NOW)
    ids = [s.id for s in summarize(engine, "acc-1", NOW).sections]
    assert SectionId.KEY_STAKEHOLDERS not in ids and len(ids) == 9
    feeds = [
        SectionId.ACCOUNT_HIGHLIGHTS,
        SectionId.KPI_PROGRESS,
        SectionId.RELATIONAL_HEALTH,
        SectionId.RISKS_AND_BLOCKERS,
        SectionId.STRATEGIC_VALUE_ACHIEVEMENTS,
    ]
    with engine.begin() as conn:
        set_hidden_sections(conn, feeds, actor="u-admin", now=NOW)
        assert hidden_sections(conn) == frozenset(feeds)
    s = summarize(engine, "acc-1", NOW)
    executive = s.section(SectionId.EXECUTIVE_SUMMARY)
    assert executive is not None and executive.bullets == []
    assert executive.notice is not None and executive.notice.startswith("Insufficient data")
    steps = s.section(SectionId.STRATEGIC_NEXT_STEPS)  # still fed by stakeholders & co
    assert steps is not None and steps.bullets and steps.notice is None


def test_a_large_history_is_cut_to_each_sections_budget_with_a_notice(
    engine: Engine, tmp_path: Path
) -> None:
    p = summary_portfolio()
    for n in range(400):
        p.activity(
            "acc-1",
            NOW - timedelta(hours=n + 1),
            id=f"bulk-{n}",
            kind="email",
            direction="inbound",
            contact="c-1",
            subject=f"Question {n}",
            body="Could you help with the dashboard filters? " * 6,
        )
    load(engine, p, tmp_path)
    data = gather(engine, "acc-1", NOW, Period())
    share = allot(data, SectionId.RELATIONAL_HEALTH)
    assert 0 < len(share.rows) < 403
    assert share.notice is not None and "Includes activities from" in share.notice
    assert share.rows[-1].at.date().isoformat() in share.notice
    # A budget the section's own data already fills leaves no room for activities.
    none = allot(data, SectionId.KPI_PROGRESS, budget=100)
    assert none.rows == [] and none.notice is not None
    assert "No activities could be included" in none.notice


def test_an_account_with_no_data_says_what_is_missing(engine: Engine, tmp_path: Path) -> None:
    p = Portfolio()
    p.account("acc-empty", name="Empty Inc", mrr=None, csm=None)
    load(engine, p, tmp_path)
    s = summarize(engine, "acc-empty", NOW)
    assert [x.id.value for x in s.sections] == IDS
    assert "Annual revenue: not recorded" in text(s, SectionId.ACCOUNT_HIGHLIGHTS)
    assert "No customer contacts are recorded" in text(s, SectionId.KEY_STAKEHOLDERS)
    assert "Little is recorded for this account" in text(s, SectionId.EXECUTIVE_SUMMARY)
    assert "No objective KPIs" in text(s, SectionId.KPI_PROGRESS)
    with pytest.raises(UnknownAccount):
        summarize(engine, "acc-nope", NOW)


def test_dangling_links_are_ignored_and_named(engine: Engine, tmp_path: Path) -> None:
    p = summary_portfolio()
    # An activity of acc-1 linked to acc-2's KPI, and to a contact of acc-2.
    p.activity(
        "acc-1",
        NOW - timedelta(days=1),
        id="act-cross",
        kind="note",
        direction="internal",
        kpi="kpi-9",
        contact="c-9",
        body="Cross-linked note.",
    )
    load(engine, p, tmp_path)
    s = summarize(engine, "acc-1", NOW)
    highlights = s.section(SectionId.ACCOUNT_HIGHLIGHTS)
    assert highlights is not None and highlights.notice is not None
    assert "kpi-9" in highlights.notice and "ignored" in highlights.notice
    assert "Other KPI" not in text(s) and "Zed" not in text(s)


def test_cli_summary_json_text_blocks_and_save(sqlite_url: str, tmp_path: Path) -> None:
    from bot.db.session import make_engine

    engine = make_engine(sqlite_url)
    load(engine, summary_portfolio(), tmp_path)
    engine.dispose()
    base = ["--database-url", sqlite_url, "summary", "Northwind", "--as-of", iso(NOW)]
    done = run_cli(*base, "--format", "json", "--since", "2026-11-01", "--until", "2026-11-30")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # stdout holds the one JSON document
    assert doc["account"] == "acc-1" and [s["id"] for s in doc["sections"]] == IDS
    assert doc["period"]["since"].startswith("2026-11-01") and doc["period"]["until"]
    blocks = json.loads(run_cli(*base, "--format", "blocks").stdout)
    assert blocks["blocks"][0]["type"] == "header" and len(blocks["blocks"]) <= 50
    saved = run_cli(*base, "--save")
    assert saved.returncode == 0 and "EXECUTIVE SUMMARY" in saved.stdout
    assert "Saved as version 1" in saved.stderr
    bad = run_cli(*base, "--since", "yesterday")
    assert bad.returncode == 1 and "--since" in bad.stderr and "Traceback" not in bad.stderr
    unknown = run_cli("--database-url", sqlite_url, "summary", "Nowhere")
    assert unknown.returncode == 1 and "unknown account" in unknown.stderr
