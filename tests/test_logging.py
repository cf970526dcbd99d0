"""Logging of the served app: LOG_FORMAT=json gives one JSON object per line, interactions say
who did what and how long it took, start-up is quiet, and no token is ever logged."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bot.db.session import make_engine
from bot.ids import ActionId
from bot.importer import import_file
from tests.bot_harness import Bot, add_fake_users, cli_env, portfolio, settings_for, start_serve
from tests.cli import BIN
from tests.portfolio import NOW
from tests.slack_fakes import SIGNING_SECRET, TOKEN, FakeSlack, SlackRequests
from tests.test_work_process import Served


def test_json_logs_carry_the_click_and_never_a_token(db_url: str, tmp_path: Path) -> None:
    with FakeSlack() as fake:
        add_fake_users(fake)
        engine = make_engine(db_url)
        import_file(engine, portfolio().write(tmp_path / "portfolio.json"), now=NOW)
        bot = Bot(engine, fake, SlackRequests(""), settings_for(fake, db_url), NOW)
        dm = bot.deliver()
        env = cli_env(
            fake,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            LOG_FORMAT="json",
            LOG_LEVEL="info",
        )
        args = ("--http", "--port", "0", "--no-scheduler", "--work-processes", "1")
        proc = start_serve(db_url, *args, env=env, cwd=tmp_path)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.search(r"Listening on (http://\S+/slack/events)", line)
            assert found, line + (proc.stderr.read() if proc.stderr else "")
            served = Served(proc, found.group(1).replace("0.0.0.0", "127.0.0.1"))
            bot.slack = SlackRequests(served.url)
            bot.click(dm, ActionId.CARD_DONE, "acc-2")
            fake.wait_for("chat.update", timeout=20)
            served.wait_log(r'"logger": "bot\.handlers\.cards"')
            served.wait_log(r'"logger": "bot\.interactions", "process": "followup-bot-work-1"')
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            engine.dispose()

    log = "".join(served.lines)
    assert TOKEN not in log and SIGNING_SECRET not in log
    entries = [json.loads(line) for line in served.lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "process", "message"} <= set(e) for e in entries)
    clicks = [e for e in entries if e["logger"] == "bot.interactions"]
    answered = [e for e in clicks if e["process"] == "MainProcess"]
    assert answered, log
    for entry in (answered[0], clicks[-1]):
        assert entry["user"] == "U0ANA"
        assert entry["action_id"] == ActionId.CARD_DONE
        assert entry["kind"] == "block_actions" and entry["status"] == 200
        assert isinstance(entry["latency_ms"], float) and entry["latency_ms"] >= 0
    # A quiet start: no Alembic steps, no Bolt notice about the token it was not given.
    assert not [e for e in entries if e["logger"].startswith("alembic")], log
    assert "will be unused" not in log


def test_a_bad_log_setting_is_named(tmp_path: Path) -> None:
    for variable, value, expected in (
        ("LOG_FORMAT", "xml", "LOG_FORMAT: expected text or json"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR"),
    ):
        done = subprocess.run(
            [str(BIN), "--database-url", f"sqlite:///{tmp_path}/x.db", "deliver"],
            capture_output=True,
            text=True,
            env={variable: value, "SLACK_BOT_TOKEN": TOKEN},
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 1
        assert expected in done.stderr and "Traceback" not in done.stderr


def test_a_first_start_migrates_the_database_without_alembic_chatter(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        done = subprocess.run(
            [str(BIN), "--database-url", f"sqlite:///{tmp_path}/fresh.db", "deliver"],
            capture_output=True,
            text=True,
            env=cli_env(fake, SLACK_BOT_TOKEN=TOKEN, LOG_LEVEL="INFO"),
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert "nobody to send to" in done.stdout
    assert "alembic" not in done.stderr and "Running upgrade" not in done.stderr, done.stderr
