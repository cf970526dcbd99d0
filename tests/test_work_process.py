"""``followup-bot serve`` answers Slack in one process and does the listeners' work after
``ack()`` in its work process: the real command over real HTTP, the fake Slack on the other side.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.db.models import SlackEvent
from bot.db.session import make_engine
from bot.ids import ActionId, CallbackId
from bot.importer import import_file
from bot.slack.dedupe import claim_event
from tests.bot_harness import Bot, add_fake_users, cli_env, portfolio, settings_for, start_serve
from tests.portfolio import NOW
from tests.slack_fakes import SIGNING_SECRET, TOKEN, FakeSlack, SlackRequests


class Served:
    """A running ``followup-bot serve --http``: its URL and its log (stderr), read as it comes."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_log(self, pattern: str, timeout: float = 20.0, after: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                found = re.search(pattern, line)
                if found:
                    return found
            time.sleep(0.05)
        raise AssertionError(f"no log line like {pattern!r} in:\n{''.join(self.lines)}")


@contextmanager
def serving(db_url: str, fake: FakeSlack, cwd: Path, processes: int) -> Iterator[Served]:
    env = cli_env(fake, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    args = ("--http", "--port", "0", "--no-scheduler", "--work-processes", str(processes))
    proc = start_serve(db_url, *args, env=env, cwd=cwd)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"Listening on (http://\S+/slack/events)", line)
        assert found, line + (proc.stderr.read() if proc.stderr else "")
        yield Served(proc, found.group(1).replace("0.0.0.0", "127.0.0.1"))
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=60)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs. A process that ended but was not waited for yet does not, once all
    its threads are gone (its parent can tell only then)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z" or threads > 1


STARTED = r"work process (followup-bot-work-\d) started \(pid (\d+)\)"


@dataclass
class Setup:
    """A served bot: the fake Slack, the test-side bot (its requests go to the served app), the
    CSM's delivered DM, the served process and the pids of its work processes by name."""

    fake: FakeSlack
    bot: Bot
    dm: dict[str, Any]
    served: Served
    work_pids: dict[str, int]


@contextmanager
def served_bot(db_url: str, tmp_path: Path, processes: int) -> Iterator[Setup]:
    with FakeSlack() as fake:
        add_fake_users(fake)
        engine = make_engine(db_url)
        import_file(engine, portfolio().write(tmp_path / "portfolio.json"), now=NOW)
        bot = Bot(engine, fake, SlackRequests(""), settings_for(fake, db_url), NOW)
        dm = bot.deliver()
        try:
            with serving(db_url, fake, tmp_path, processes) as served:
                bot.slack = SlackRequests(served.url)
                for n in range(1, processes + 1):
                    served.wait_log(rf"work process followup-bot-work-{n} started")
                pids = {m[1]: int(m[2]) for m in re.finditer(STARTED, "".join(served.lines))}
                yield Setup(fake, bot, dm, served, pids)
            log = "".join(served.lines)
            assert TOKEN not in log and SIGNING_SECRET not in log
            assert "Traceback" not in log
        finally:
            engine.dispose()


def test_serve_answers_slack_and_does_the_work_in_its_work_processes(
    db_url: str, tmp_path: Path
) -> None:
    with served_bot(db_url, tmp_path, processes=2) as setup:
        fake, bot, dm, served = setup.fake, setup.bot, setup.dm, setup.served
        assert len(set(setup.work_pids.values()) - {served.proc.pid}) == 2

        # Done: answered at once; the change, the DM update and the receipt follow, made by
        # a work process (the one all of this user's requests go to).
        bot.click(dm, ActionId.CARD_DONE, "acc-2")
        fake.wait_for("chat.update", timeout=20)
        fake.wait_for("response_url", timeout=20)  # the receipt, with Undo
        assert bot.states("acc-2") == ["done"]
        done = served.wait_log(r"\[(followup-bot-work-\d)\] bot\.handlers\.cards: u-ana done acc-2")
        name = done.group(1)

        # A modal's input is checked where Slack is answered: a past date is refused in the
        # answer itself.
        bot.click(dm, ActionId.CARD_SNOOZE, "acc-1", option=lambda o: "pick" in o["value"])
        view = fake.wait_for("views.open", timeout=20)[0].params["view"]
        answer = bot.submit(
            view,
            {"snooze_date": {"snooze_date": {"type": "datepicker", "selected_date": "2020-01-01"}}},
        )
        assert json.loads(answer.body)["response_action"] == "errors"
        assert view["callback_id"] == CallbackId.SNOOZE_PICK_DATE

        # A work process that died is replaced (by the watcher, or at the next request), and
        # the user's next click is worked on by the new one.
        seen = len(served.lines)
        os.kill(setup.work_pids[name], signal.SIGKILL)
        while alive(setup.work_pids[name]):
            time.sleep(0.05)
        bot.click(dm, ActionId.CARD_DISMISS, "acc-1")
        assert len(fake.wait_for("views.open", 2, timeout=30)) == 2
        served.wait_log(rf"work process {name} is gone", after=seen)
        started = served.wait_log(rf"work process {name} started \(pid (\d+)\)", after=seen)
        pids = {**setup.work_pids, name: int(started.group(1))}

        # SIGTERM stops every process.
        served.proc.terminate()
        assert served.proc.wait(timeout=60) == 0
        assert not any(alive(pid) for pid in pids.values())


def test_an_app_home_event_a_dead_work_process_had_claimed_is_published_by_the_next_one(
    db_url: str, tmp_path: Path
) -> None:
    """The work process claims an App Home event (its lease keeps Slack's retries from running
    it twice) and dies before publishing: the next work process takes the claim over and
    publishes the Home, instead of taking the event for one under way."""
    with served_bot(db_url, tmp_path, processes=1) as setup:
        fake, bot, served = setup.fake, setup.bot, setup.served
        work_pid = setup.work_pids["followup-bot-work-1"]
        os.kill(work_pid, signal.SIGSTOP)
        seen = len(served.lines)
        assert bot.slack.app_home_opened("U0ANA", event_id="EvDIED").status == 200
        # where the frozen work process would have got to: the event claimed, nothing published
        assert claim_event(bot.engine, "EvDIED", "app_home_opened", datetime.now(UTC))
        os.kill(work_pid, signal.SIGKILL)

        served.wait_log(r"sending the new work process 1 unfinished request", after=seen)
        published = fake.wait_for("views.publish", timeout=30)
        assert published[0].params["user_id"] == "U0ANA"
        # marked processed just after the Home is published
        deadline = time.monotonic() + 30
        while True:
            with bot.engine.connect() as conn:
                query = select(SlackEvent.processed_at).where(SlackEvent.event_id == "EvDIED")
                processed_at = conn.execute(query).scalar_one()
            if processed_at is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert processed_at is not None


def test_requests_a_dead_work_process_did_not_finish_are_done_by_the_next_one(
    db_url: str, tmp_path: Path
) -> None:
    with served_bot(db_url, tmp_path, processes=1) as setup:
        fake, bot, served = setup.fake, setup.bot, setup.served
        work_pid = setup.work_pids["followup-bot-work-1"]

        # The click is answered and queued for a work process that is frozen, then dies.
        os.kill(work_pid, signal.SIGSTOP)
        seen = len(served.lines)
        assert bot.click(setup.dm, ActionId.CARD_DONE, "acc-2").status == 200
        time.sleep(0.3)
        assert bot.states("acc-2") == ["open"] and not fake.calls_to("chat.update")
        os.kill(work_pid, signal.SIGKILL)

        # The next work process gets it, without another click, and does it once.
        served.wait_log(r"work process followup-bot-work-1 is gone", after=seen)
        served.wait_log(r"sending the new work process 1 unfinished request", after=seen)
        fake.wait_for("chat.update", timeout=30)
        fake.wait_for("response_url", timeout=30)
        assert bot.states("acc-2") == ["done"]
        time.sleep(1.0)  # (a second run would show up by now)
        assert len(fake.calls_to("chat.update")) == 1
        assert len(fake.calls_to("response_url")) == 1
