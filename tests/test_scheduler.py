"""The scheduler as operators run it: ``followup-bot tick`` (cron), ``followup-bot scheduler``
(a process of its own) and ``serve``'s scheduler — the real console script against the fake
Slack Web API, each daily DM sent exactly once however many run at once."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.bot_harness import BIN, cli_env
from tests.cli import run_cli
from tests.portfolio import Portfolio, iso, load
from tests.slack_fakes import TOKEN, FakeSlack


def portfolio(now: datetime, users: int = 3) -> Portfolio:
    """``users`` CSMs in New York, each with an overdue task; DMs due every day from 00:00, so
    that any moment of a real run finds them due."""
    p = Portfolio()
    p.data["org"]["business_hours"] = {"days": [1, 2, 3, 4, 5, 6, 7]}
    p.data["org"]["digest"] = {"send_at": "00:00"}
    p.data["users"] = [
        {"id": f"u-{n}", "name": f"CSM {n}", "role": "csm", "timezone": "America/New_York",
         "slack_user_id": f"U0C{n}"}
        for n in range(users)
    ]  # fmt: skip
    p.data.pop("teams", None)
    p.data["org"].pop("fallback_csm", None)
    for n in range(users):
        p.quiet_account(f"acc-{n}", csm=f"u-{n}", name=f"Account {n}")
        p.add("tasks", id=f"t-{n}", account=f"acc-{n}", title="Quote", priority="high",
              due_at=iso(now - timedelta(days=2)))  # fmt: skip
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        for n in range(3):
            server.add_user(f"U0C{n}", email=f"c{n}@example.com", tz="America/New_York")
        yield server


def env(fake: FakeSlack) -> dict[str, str]:
    return cli_env(fake, SLACK_BOT_TOKEN=TOKEN)


def posted(fake: FakeSlack) -> list[str]:
    """The DM channels daily DMs were posted to (a round also sends action DMs)."""
    return sorted(
        c.params["channel"]
        for c in fake.calls_to("chat.postMessage", ok=True)
        if str(
            ((c.params.get("metadata") or {}).get("event_payload") or {}).get("key", "")
        ).startswith("daily:")
    )


NOON = "2026-11-16T12:00:00-05:00"


def test_tick_sends_the_due_dms_once(db_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    load(db_url, portfolio(datetime.fromisoformat(NOON)), tmp_path)
    first = run_cli("--database-url", db_url, "tick", "--as-of", NOON, env=env(fake))
    assert first.returncode == 0, first.stderr
    assert "daily DMs: 3 posted" in first.stdout
    assert posted(fake) == ["U0C0", "U0C1", "U0C2"]
    again = run_cli("--database-url", db_url, "tick", "--as-of", NOON, env=env(fake))
    assert again.returncode == 0 and "daily DMs: none due" in again.stdout
    assert len(posted(fake)) == 3


@pytest.mark.postgres
def test_two_ticks_at_once_send_each_dm_once(pg_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    load(pg_url, portfolio(datetime.fromisoformat(NOON)), tmp_path)
    fake.delay("chat.postMessage", 0.3)  # both rounds overlap
    results: list[subprocess.CompletedProcess[str]] = []

    def tick() -> None:
        results.append(run_cli("--database-url", pg_url, "tick", "--as-of", NOON, env=env(fake)))

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert posted(fake) == ["U0C0", "U0C1", "U0C2"]


def start_scheduler(url: str, fake: FakeSlack, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN), "--database-url", url, "scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(fake),
        cwd=cwd,
    )


def wait_for_posts(fake: FakeSlack, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(posted(fake)) < count and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.mark.postgres
def test_two_schedulers_on_one_postgresql_send_each_dm_once(
    pg_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    load(pg_url, portfolio(datetime.now(UTC)), tmp_path)
    procs = [start_scheduler(pg_url, fake, tmp_path) for _ in range(2)]
    try:
        wait_for_posts(fake, 3)
        time.sleep(2)  # time for a duplicate to show, if there were one
    finally:
        for proc in procs:
            proc.terminate()
        outputs = [proc.communicate(timeout=20) for proc in procs]
    assert posted(fake) == ["U0C0", "U0C1", "U0C2"], outputs
    for out, err in outputs:
        assert "Scheduler running" in out
        assert "Traceback" not in err


def test_serve_runs_the_scheduler_beside_it(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    load(sqlite_url, portfolio(datetime.now(UTC)), tmp_path)
    from tests.bot_harness import start_serve
    from tests.slack_fakes import SIGNING_SECRET

    proc = start_serve(
        sqlite_url,
        "--http",
        "--port",
        "0",
        env={**env(fake), "SLACK_SIGNING_SECRET": SIGNING_SECRET},
        cwd=tmp_path,
    )
    try:
        wait_for_posts(fake, 3)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert posted(fake) == ["U0C0", "U0C1", "U0C2"], err
    assert "Traceback" not in err
