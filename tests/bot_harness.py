"""The Slack app served for real against the fake Slack Web API, with a small portfolio, for the
interaction tests (clicks, commands, App Home actions).

:class:`Bot` wraps the served app: it delivers today's DM through the real delivery code, then
"clicks" the buttons of the messages and views the fake holds — signed ``block_actions`` and
``view_submission`` payloads shaped like Slack's, with the real button values.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from bot.app import build_app
from bot.db.models import Alert, AuditLog, Task
from bot.db.session import make_engine
from bot.engine.sweep import run_sweep
from bot.importer import import_file
from bot.service.daily_dm import deliver_digests
from bot.service.surfaces import dm_render, latest_dm
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.cli import BIN
from tests.portfolio import NOW, Portfolio, iso
from tests.slack_fakes import (
    SIGNING_SECRET,
    TEAM_ID,
    TOKEN,
    Call,
    FakeSlack,
    Response,
    SlackRequests,
    serve_app,
)

FAST = Pacing(per_channel=0, per_call=0)
D = timedelta(days=1)
SLACK_IDS = {"u-ana": "U0ANA", "u-bob": "U0BOB", "u-mgr": "U0MGR", "u-ada": "U0ADA"}


def cli_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    """The environment for running ``followup-bot`` against ``fake``: none of the caller's
    SLACK_* or DATABASE_URL, ``SLACK_API_URL`` on the fake, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["SLACK_API_URL"] = fake.base_url
    env.update(extra)
    return env


def start_serve(db_url: str, *args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """``followup-bot --database-url DB_URL serve ARGS…`` running, its output piped."""
    return subprocess.Popen(
        [str(BIN), "--database-url", db_url, "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def portfolio(now: datetime = NOW) -> Portfolio:
    """Ana (CSM, New York) owns Globex and Initech, each with an overdue task; Bob (another
    CSM, Berlin) owns Umbrella Corp; Mia manages the team; Ada is an admin."""
    p = Portfolio()
    p.data["users"] += [
        {
            "id": "u-bob",
            "name": "Bob CSM",
            "role": "csm",
            "team": "t-1",
            "timezone": "Europe/Berlin",
            "slack_user_id": "U0BOB",
        },
        {
            "id": "u-ada",
            "name": "Ada Admin",
            "role": "admin",
            "timezone": "America/Los_Angeles",
            "slack_user_id": "U0ADA",
        },
    ]
    for acc, name, csm in (
        ("acc-1", "Globex", "u-ana"),
        ("acc-2", "Initech", "u-ana"),
        ("acc-3", "Umbrella Corp", "u-bob"),
    ):
        p.quiet_account(acc, name=name, csm=csm)
        p.add(
            "tasks",
            id=f"t-{acc}",
            account=acc,
            title=f"Send {name} the renewal quote",
            priority="high",
            due_at=iso(now - 2 * D),
        )
    return p


def add_fake_users(fake: FakeSlack) -> None:
    fake.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
    fake.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
    fake.add_user("U0MGR", email="mia@example.com", tz="America/Chicago")
    fake.add_user("U0ADA", email="ada@example.com", tz="America/Los_Angeles")
    fake.add_user("U0STRANGER", email="nobody@elsewhere.test")


def settings_for(fake: FakeSlack, url: str, **extra: str) -> Settings:
    """The bot's settings against ``fake``; ``extra`` adds settings by variable name."""
    return Settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.base_url,
        **extra,
    )


_seq = itertools.count(1)


@dataclass
class Bot:
    engine: Engine
    fake: FakeSlack
    slack: SlackRequests
    settings: Settings
    now: datetime = NOW
    sent: list[float] = field(default_factory=list)

    # ------------------------------------------------------------------ set-up

    def deliver(self, user_id: str = "u-ana", *, as_of: datetime | None = None) -> dict[str, Any]:
        """The DM of ``user_id`` (of the day of ``as_of``, default the bot's now) through the
        real delivery code; its first message (the newest DM's)."""
        report = deliver_digests(
            self.engine,
            make_client(self.settings),
            as_of=as_of or self.now,
            user_id=user_id,
            pacing=FAST,
            clock=lambda: self.now,
        )
        assert report.outcomes[0].status.value in ("posted", "updated"), report.outcomes
        firsts = [
            m for m in self.fake.dms(SLACK_IDS[user_id]) if m["blocks"][0]["type"] == "header"
        ]
        return firsts[-1]

    def expected_dm(self, user_id: str = "u-ana") -> list[dict[str, Any]]:
        """The payloads of ``user_id``'s latest DM rendered from its stored list now."""
        with self.engine.connect() as conn:
            delivery_id = latest_dm(conn, user_id)
        assert delivery_id is not None
        rendered = dm_render(self.engine, delivery_id, self.now)
        assert rendered is not None
        return [message.to_dict() for message in rendered[1]]

    # ------------------------------------------------------------- interactions

    def response_url(self) -> str:
        return self.fake.response_url(f"r{next(_seq)}")

    def click(
        self,
        message: dict[str, Any],
        action_id: str,
        account: str | None = None,
        *,
        user: str = "U0ANA",
        option: Callable[[dict[str, Any]], bool] | None = None,
        ephemeral: bool = False,
        response_url: str | None = "auto",
    ) -> Response:
        """Click the ``action_id`` element of ``message`` (in the block of ``account``'s card
        when given); a select picks the first option for which ``option`` is true."""
        block, element = find_element(message["blocks"], action_id, account)
        action = _action(block, element, option)
        channel = message.get("channel") or "D0EPHEMERAL"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "team_id": TEAM_ID},
            "trigger_id": f"trigger-{next(_seq)}",
            "container": {
                "type": "message",
                "message_ts": message.get("ts") or "0.0",
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "channel": {"id": channel},
            "actions": [action],
        }
        if not ephemeral:
            payload["message"] = {"ts": message.get("ts"), "blocks": message["blocks"]}
        if response_url is not None:
            payload["response_url"] = (
                self.response_url() if response_url == "auto" else response_url
            )
        return self._send(payload)

    def open_home(self, user: str = "U0ANA") -> dict[str, Any]:
        """Open the App Home (an app_home_opened event); the view published for it."""
        count = len(self.fake.calls_to("views.publish"))
        self.slack.app_home_opened(user, event_id=f"Ev{user}{count}")
        view: dict[str, Any] = self.wait("views.publish", count + 1)[-1].params["view"]
        return view

    def click_home(
        self,
        action_id: str,
        account: str | None = None,
        *,
        user: str = "U0ANA",
        option: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Response:
        """Click in the App Home the fake holds for ``user``."""
        view = self.fake.home[user]
        block, element = find_element(view["blocks"], action_id, account)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": TEAM_ID},
            "trigger_id": f"trigger-{next(_seq)}",
            "container": {"type": "view", "view_id": view["id"]},
            "view": view,
            "actions": [_action(block, element, option)],
        }
        return self._send(payload)

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, user: str = "U0ANA"
    ) -> Response:
        """Submit a modal the bot opened (its callback_id and private_metadata)."""
        return self.slack.view_submission(
            view["callback_id"],
            values,
            private_metadata=view.get("private_metadata", ""),
            user_id=user,
        )

    def command(self, command: str, text: str = "", *, user: str = "U0ANA") -> Response:
        return self.slack.command(
            command,
            text,
            user_id=user,
            channel_id="C0GENERAL",
            response_url=self.response_url(),
            trigger_id=f"trigger-{next(_seq)}",
        )

    def _send(self, payload: dict[str, Any]) -> Response:
        self.sent.append(time.monotonic())
        answer = self.slack.interactive(payload)
        assert answer.status == 200, answer
        return answer

    # -------------------------------------------------------------- observing

    def wait(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        return self.fake.wait_for(method, count, timeout=timeout)

    def settle(self, seconds: float = 0.3) -> None:
        """Give the listener (which runs after the HTTP answer) time to do nothing more."""
        time.sleep(seconds)

    def alerts(self, account: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(
                        Alert.id,
                        Alert.signal,
                        Alert.state,
                        Alert.snooze_until,
                        Alert.state_changed_by,
                        Alert.dismiss_reason,
                    )
                    .where(Alert.account_id == account, Alert.cleared_at.is_(None))
                    .order_by(Alert.id)
                )
            )

    def states(self, account: str) -> list[str]:
        return [a.state for a in self.alerts(account)]

    def task_status(self, task_id: str) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(select(Task.status).where(Task.id == task_id)).scalar())

    def audit(self, action: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(AuditLog.actor, AuditLog.subject, AuditLog.details)
                    .where(AuditLog.action == action)
                    .order_by(AuditLog.id)
                )
            )


def find_element(
    blocks: list[dict[str, Any]], action_id: str, account: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if account is not None and not block_id.endswith(f":{account}"):
            continue
        elements = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if block.get(key):
                elements.append(block[key])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no {action_id} for {account} in {json.dumps(blocks)[:400]}")


def _action(
    block: dict[str, Any],
    element: dict[str, Any],
    option: Callable[[dict[str, Any]], bool] | None,
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block.get("block_id", ""),
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action["value"] = element.get("value")
    else:
        chosen = next(o for o in element["options"] if option is None or option(o))
        action["selected_option"] = chosen
    return action


def option_value(key: str, value: str) -> Callable[[dict[str, Any]], bool]:
    """Select the option whose JSON value has ``key`` == ``value``."""

    def pick(option: dict[str, Any]) -> bool:
        return bool(json.loads(option["value"]).get(key) == value)

    return pick


@contextmanager
def running_bot(
    db_url: str,
    tmp_path: Path,
    fake: FakeSlack,
    p: Portfolio | None = None,
    *,
    now: datetime = NOW,
    work_slots: int | None = None,
    swept: bool = True,
    settings: dict[str, str] | None = None,
) -> Iterator[Bot]:
    """Import ``p`` (default :func:`portfolio`), sweep it at ``now`` (recording, as the
    scheduler would; not when ``swept`` is false) and serve the app with its clock at ``now``
    (and ``work_slots``, if given: listeners working after their ``ack()`` at once)."""
    engine = make_engine(db_url)
    import_file(engine, (p or portfolio(now)).write(tmp_path / "portfolio.json"), now=now)
    if swept:
        run_sweep(engine, now)
    bot_settings = settings_for(fake, db_url, **(settings or {}))
    slots = {} if work_slots is None else {"work_slots": work_slots}
    app = build_app(bot_settings, engine, clock=lambda: now, **slots)
    try:
        with serve_app(app) as base:
            yield Bot(engine, fake, SlackRequests(base + "/slack/events"), bot_settings, now)
    finally:
        # Listeners run after the HTTP answer: let them finish before the database goes.
        app.listener_runner.listener_executor.shutdown(wait=True)
        engine.dispose()


def blocks_text(blocks: Any) -> str:
    return json.dumps(blocks)


def handled_accounts(blocks: list[dict[str, Any]]) -> list[str]:
    """The accounts a day's list shows as handled (one line each), in order."""
    return [
        str(b["block_id"]).split(":", 1)[1]
        for b in blocks
        if str(b.get("block_id", "")).startswith("card_handled:")
    ]


def card_accounts(blocks: list[dict[str, Any]]) -> list[str]:
    """The accounts whose cards a message or view shows, in order."""
    return [
        str(b["block_id"]).split(":", 1)[1]
        for b in blocks
        if str(b.get("block_id", "")).startswith("card:")
    ]
