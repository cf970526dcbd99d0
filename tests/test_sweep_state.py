"""The incremental sweep's parts: the next check of crafted accounts, the time helpers it rests
on, what marks an account changed, and ``sweep --incremental`` on the command line."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from bot.db.models import AccountSweepState, Alert
from bot.engine import triage
from bot.engine.business_time import (
    BusinessHours,
    business_hours_between,
    business_instant,
    next_midnight,
)
from bot.engine.incremental import run_incremental_sweep
from bot.engine.rules import Lane, Severity
from bot.engine.scoring import action_score
from bot.engine.sweep import run_sweep
from bot.engine.sweep_state import due_accounts
from bot.engine.textfmt import ago, ago_changes_at, days_ago
from bot.importer import import_file
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, iso, ny

US = timedelta(microseconds=1)


# ---------------------------------------------------------------------- time helpers


def test_ago_reads_the_same_until_it_changes() -> None:
    rng = random.Random(3)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(3000):
        scale = rng.choice([100, 5_000, 200_000, 5e6, 1e8])
        now = start + timedelta(seconds=rng.expovariate(1 / scale))
        change = ago_changes_at(start, now)
        assert change > now
        assert ago(start, change - US) == ago(start, now)
    assert ago_changes_at(start, start + timedelta(days=3, hours=2)) == start + timedelta(days=4)
    assert ago(start, start + timedelta(days=4)) == "4 days"


def test_ago_in_a_zone_reads_the_same_until_it_changes() -> None:
    rng = random.Random(5)
    start = datetime(2026, 3, 1, 5, 17, tzinfo=UTC)
    for _ in range(3000):
        tz = rng.choice(["America/New_York", "Europe/London", "Asia/Kolkata", "UTC"])
        now = start + timedelta(seconds=rng.expovariate(1 / rng.choice([5_000, 200_000, 5e6])))
        change = ago_changes_at(start, now, tz)
        assert change > now
        assert ago(start, change - US, tz) == ago(start, now, tz)
        if now - start >= timedelta(hours=48):
            assert change == next_midnight(now, tz)  # from two days on: at a local midnight


def test_day_texts_count_local_midnights() -> None:
    shipped = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)  # Nov 15, 22:00 in New York
    assert days_ago(shipped, shipped + timedelta(hours=1), "America/New_York") == "today"
    assert days_ago(shipped, shipped + timedelta(hours=3), "America/New_York") == "yesterday"
    assert days_ago(shipped, shipped + timedelta(days=3), "America/New_York") == "3 days ago"
    # Sunday 22:00 to Wednesday 09:00 is three days in conversation, not two
    assert ago(shipped, ny(2026, 11, 18, 9, 0), "America/New_York") == "3 days"
    assert ago(shipped, ny(2026, 11, 18, 9, 0)) == "2 days"


def test_the_score_holds_all_day_and_moves_at_a_local_midnight() -> None:
    rng = random.Random(4)
    for _ in range(500):
        oldest = date(2026, 1, 1) + timedelta(days=rng.randrange(40))
        today = oldest + timedelta(days=rng.randrange(60))
        args = (Severity.HIGH, rng.uniform(0, 1e5), None)
        assert action_score(*args, today, Lane.OWE, oldest) < action_score(
            *args, today + timedelta(days=1), Lane.OWE, oldest
        )
        assert action_score(*args, today, Lane.STAY, oldest) == action_score(
            *args, today + timedelta(days=1), Lane.STAY, oldest
        )


def test_business_instant_inverts_business_hours() -> None:
    hours = BusinessHours()
    tz = "America/New_York"
    friday_9 = ny(2026, 11, 13, 9, 0)
    # 8 business hours after Friday 09:00 are reached at Friday 17:00, exceeded from Monday 09:00
    assert business_instant(friday_9, 8, tz, hours) == ny(2026, 11, 13, 17, 0)
    assert business_instant(friday_9, 8, tz, hours, beyond=True) == ny(2026, 11, 16, 9, 0)
    rng = random.Random(5)
    for _ in range(300):
        start = friday_9 + timedelta(hours=rng.uniform(-100, 100))
        needed = rng.uniform(0.5, 30)
        at = business_instant(start, needed, tz, hours)
        assert at is not None
        assert abs(business_hours_between(start, at, tz, hours) - needed) < 1e-6


# ------------------------------------------------------------- next checks of accounts


def _next_check(
    url: str, portfolio: Portfolio, tmp_path: Path, now: datetime, acc: str
) -> datetime:
    engine = _loaded(url, portfolio, tmp_path)
    try:
        run_sweep(engine, now, workers=1)
        with engine.connect() as conn:
            found = conn.execute(
                select(AccountSweepState.next_check_at).where(AccountSweepState.account_id == acc)
            ).scalar()
    finally:
        engine.dispose()
    assert found is not None
    return found


def _loaded(url: str, portfolio: Portfolio, tmp_path: Path) -> Engine:
    from bot.db.session import make_engine

    engine = make_engine(url)
    import_file(engine, portfolio.write(tmp_path / "p.json"), now=NOW)
    return engine


def test_an_unanswered_email_is_next_checked_when_its_sla_is_passed(
    db_url: str, tmp_path: Path
) -> None:
    p = Portfolio()
    p.quiet_account("acc-1")
    p.activity("acc-1", ny(2026, 11, 13, 16, 0), kind="email", direction="inbound", thread="t-1")
    # 1 business hour on Friday, then 7 on Monday: Monday 16:00 in New York
    at = _next_check(db_url, p, tmp_path, ny(2026, 11, 13, 16, 30), "acc-1")
    assert at == ny(2026, 11, 16, 16, 0)


def test_a_task_due_ahead_is_next_checked_when_due(db_url: str, tmp_path: Path) -> None:
    p = Portfolio()
    p.quiet_account("acc-1")
    due = NOW + timedelta(hours=5, minutes=7)
    p.add("tasks", id="t-1", account="acc-1", title="Call back", due_at=iso(due))
    assert _next_check(db_url, p, tmp_path, NOW, "acc-1") == due


def test_an_excluded_account_is_next_checked_when_its_exclusion_ends(
    db_url: str, tmp_path: Path
) -> None:
    p = Portfolio()
    p.quiet_account("acc-1")
    p.add("exclusions", account="acc-1", until="2026-11-20")
    # the org's zone is New York: back in from the start of November 21st there
    assert _next_check(db_url, p, tmp_path, NOW, "acc-1") == ny(2026, 11, 21, 0, 0)


def test_an_owe_card_is_next_checked_at_the_local_midnight_its_score_and_text_move(
    db_url: str, tmp_path: Path
) -> None:
    p = Portfolio()
    p.quiet_account("acc-1", mrr=5000)
    due = NOW - timedelta(days=3, hours=1)
    p.add("tasks", id="t-1", account="acc-1", title="Send", due_at=iso(due), priority="high")
    at = _next_check(db_url, p, tmp_path, NOW, "acc-1")
    # "overdue by 3 days" and the score's age points both count New York days
    assert at == ny(2026, 11, 17, 0, 0)
    score = action_score(Severity.HIGH, 5000, None, NOW.date(), Lane.OWE, due.date())
    later = action_score(Severity.HIGH, 5000, None, at.date(), Lane.OWE, due.date())
    assert later > score


# ------------------------------------------------------------------------ marks


def _portfolio() -> Portfolio:
    p = Portfolio()
    p.data["teams"].append({"id": "t-2", "name": "West"})
    p.data["users"].append({"id": "u-bo", "name": "Bo CSM", "role": "csm", "team": "t-2"})
    for acc in ("acc-1", "acc-2", "acc-3"):
        p.quiet_account(acc)
    p.quiet_account("acc-4", csm="u-bo")
    p.activity("acc-1", NOW - timedelta(days=4), kind="email", direction="inbound", thread="x")
    p.add("requests", id="r-1", accounts=["acc-2", "acc-3"], title="SSO", status="open")
    return p


def _due(engine: Engine, now: datetime) -> set[str]:
    with engine.connect() as conn:
        return set(due_accounts(conn, now))


def _import(engine: Engine, tmp_path: Path, data: dict[str, object], name: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"format": "followup-portfolio/1", **data}))
    import_file(engine, path, now=NOW)


def test_what_marks_accounts_changed(db_url: str, tmp_path: Path) -> None:
    engine = _loaded(db_url, _portfolio(), tmp_path)
    try:
        assert _due(engine, NOW) == {"acc-1", "acc-2", "acc-3", "acc-4"}  # never swept
        run_sweep(engine, NOW, workers=1)
        assert _due(engine, NOW) == set()

        _import(engine, tmp_path, {"contacts": [{"id": "c-9", "account": "acc-1"}]}, "c")
        assert _due(engine, NOW) == {"acc-1"}
        run_incremental_sweep(engine, NOW)
        assert _due(engine, NOW) == set()

        # a request shared by two accounts; an activity about it, logged on a third
        _import(engine, tmp_path, {"requests": [{"id": "r-1", "status": "planned"}]}, "r")
        assert _due(engine, NOW) == {"acc-2", "acc-3"}
        run_incremental_sweep(engine, NOW)
        activity = {
            "id": "a-r",
            "account": "acc-1",
            "at": iso(NOW - timedelta(hours=1)),
            "kind": "note",
            "direction": "internal",
            "request": "r-1",
        }
        _import(engine, tmp_path, {"activities": [activity]}, "a")
        assert _due(engine, NOW) == {"acc-1", "acc-2", "acc-3"}
        run_incremental_sweep(engine, NOW)

        team = {"teams": [{"id": "t-2", "name": "West", "rules": {"call_retry_hours": 12}}]}
        _import(engine, tmp_path, team, "t")
        assert _due(engine, NOW) == {"acc-4"}
        run_incremental_sweep(engine, NOW)
        user = {"users": [{"id": "u-bo", "name": "Bo CSM", "timezone": "Europe/Paris"}]}
        _import(engine, tmp_path, user, "u")
        assert _due(engine, NOW) == {"acc-4"}
        run_incremental_sweep(engine, NOW)
        org = {"org": {"name": "Test Org", "business_hours": {"start": "08:00", "end": "18:00"}}}
        _import(engine, tmp_path, org, "o")
        assert _due(engine, NOW) == {"acc-1", "acc-2", "acc-3", "acc-4"}
        run_incremental_sweep(engine, NOW)
        # the same file again changes nothing, so marks nothing
        _import(engine, tmp_path, org, "o")
        assert _due(engine, NOW) == set()

        with engine.begin() as conn:
            alert_id = (
                conn.execute(
                    select(Alert.id).where(Alert.account_id == "acc-1", Alert.cleared_at.is_(None))
                )
                .scalars()
                .first()
            )
            assert alert_id is not None
            triage.snooze(conn, alert_id, NOW + timedelta(hours=3), actor="u-ana", now=NOW)
        assert _due(engine, NOW) == {"acc-1"}
        run_incremental_sweep(engine, NOW)
        with engine.begin() as conn:
            triage.exclude_account(conn, "acc-2", reason=None, until=None, actor=None, now=NOW)
        assert _due(engine, NOW) == {"acc-2"}
        run_incremental_sweep(engine, NOW)
        # the snooze wakes up: acc-1 is due then, not before
        assert _due(engine, NOW + timedelta(hours=2)) <= {"acc-3", "acc-4"}
        assert "acc-1" in _due(engine, NOW + timedelta(hours=3))
        # a sweep as of an earlier time than the last one: everything it swept is due
        assert _due(engine, NOW - timedelta(hours=1)) >= {"acc-1", "acc-3", "acc-4"}
    finally:
        engine.dispose()


def test_sweep_incremental_on_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    p = _portfolio()
    assert (
        run_cli("--database-url", url, "import", str(p.write(tmp_path / "p.json"))).returncode == 0
    )
    full = run_cli("--database-url", url, "sweep", "--as-of", iso(NOW), "--format", "json")
    assert full.returncode == 0, full.stderr
    later = iso(NOW + timedelta(minutes=20))
    text = run_cli("--database-url", url, "sweep", "--incremental", "--as-of", later)
    assert text.returncode == 0, text.stderr
    assert "re-evaluated" in text.stdout and "of 4 accounts" in text.stdout
    inc = run_cli(
        "--database-url", url, "sweep", "--incremental", "--as-of", later, "--format", "json"
    )
    assert inc.returncode == 0, inc.stderr
    check = run_cli(
        "--database-url", url, "sweep", "--dry-run", "--as-of", later, "--format", "json"
    )
    assert json.loads(inc.stdout)["cards"] == json.loads(check.stdout)["cards"]
    mine = run_cli(
        "--database-url", url, "sweep", "--incremental", "--user", "u-bo", "--format", "json"
    )
    assert {c["csm"] for c in json.loads(mine.stdout)["cards"]} <= {"u-bo"}
    refused = run_cli("--database-url", url, "sweep", "--incremental", "--dry-run")
    assert refused.returncode != 0 and "--dry-run" in refused.stderr + refused.stdout
