"""The Slack app served for real (waitress on port 0) against the fake Slack Web API: request
signatures, the App Home, Events API retries; and the ``serve`` command in a subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from bot.app import build_app
from bot.db.models import SlackEvent, User
from bot.db.session import make_engine
from bot.engine.sweep import run_sweep
from bot.settings import Settings
from tests.bot_harness import BIN, cli_env, start_serve
from tests.portfolio import NOW, Portfolio, iso, load, sweep
from tests.slack_fakes import (
    SIGNING_SECRET,
    TEAM_ID,
    TOKEN,
    FakeSlack,
    SlackRequests,
    http_get,
    serve_app,
)
from tests.socket_mode_fake import FakeSocketMode


def slack_settings(fake: FakeSlack, url: str) -> Settings:
    return Settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.base_url,
    )


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        server.add_user("U0MGR", email="mia@example.com", tz="America/Chicago")
        yield server


def home_portfolio() -> Portfolio:
    p = Portfolio()
    p.quiet_account("acc-1", name="Globex")
    p.add(
        "tasks",
        id="t-1",
        account="acc-1",
        title="Send the renewal quote",
        priority="high",
        due_at=iso(NOW - timedelta(days=2)),
    )
    return p


@pytest.fixture
def loaded(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, home_portfolio(), tmp_path)
    engine = make_engine(db_url)
    run_sweep(engine, NOW)  # the stored queue the App Home shows
    yield engine
    engine.dispose()


@pytest.fixture
def served(fake: FakeSlack, loaded: Engine) -> Iterator[SlackRequests]:
    url = loaded.url.render_as_string(hide_password=False)
    app = build_app(slack_settings(fake, url), loaded, clock=lambda: NOW)
    with serve_app(app) as base:
        yield SlackRequests(base + "/slack/events")


# ----------------------------------------------------------------- verification


def test_bad_signature_is_refused(served: SlackRequests, fake: FakeSlack) -> None:
    answer = served.post(
        json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}),
        "application/json",
        signature="v0=" + "0" * 64,
    )
    assert answer.status == 401
    time.sleep(0.2)
    assert fake.calls_to("views.publish") == []


def test_old_timestamp_is_refused(served: SlackRequests, fake: FakeSlack) -> None:
    stale = int(time.time()) - 6 * 60
    answer = served.app_home_opened("U0ANA", timestamp=stale)  # correctly signed, but old
    assert answer.status == 401
    time.sleep(0.2)
    assert fake.calls_to("views.publish") == []


def test_signed_by_another_secret_is_refused(served: SlackRequests) -> None:
    other = SlackRequests(served.url, signing_secret="not-the-secret")
    assert other.app_home_opened("U0ANA").status == 401


def test_url_verification_and_health(served: SlackRequests) -> None:
    answer = served.post(
        json.dumps({"type": "url_verification", "challenge": "c-123", "token": "legacy"}),
        "application/json",
    )
    assert answer.status == 200 and "c-123" in answer.body
    base = served.url.removesuffix("/slack/events")
    assert http_get(base + "/healthz").status == 200
    assert http_get(base + "/elsewhere").status == 404


# ---------------------------------------------------------------------- App Home


def test_app_home_opened_publishes_the_home_view(served: SlackRequests, fake: FakeSlack) -> None:
    answer = served.app_home_opened("U0ANA", event_id="EvHOME1")
    assert answer.status == 200
    publish = fake.wait_for("views.publish", ok=True)[0]
    assert publish.params["user_id"] == "U0ANA"
    view = publish.params["view"]
    assert view["type"] == "home"
    block_ids = [b.get("block_id", "") for b in view["blocks"]]
    assert "home_header" in block_ids
    assert any(b.startswith("card:acc-1") for b in block_ids)
    assert "Globex" in json.dumps(view)
    # The token travels in the Authorization header only.
    assert publish.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_retried_event_publishes_once(
    served: SlackRequests, fake: FakeSlack, loaded: Engine
) -> None:
    assert served.app_home_opened("U0ANA", event_id="EvRETRY").status == 200
    fake.wait_for("views.publish", ok=True)
    again = served.app_home_opened("U0ANA", event_id="EvRETRY", retry_num=1)
    assert again.status == 200
    time.sleep(0.5)
    assert len(fake.calls_to("views.publish")) == 1
    with loaded.connect() as conn:
        row = conn.execute(select(SlackEvent).where(SlackEvent.event_id == "EvRETRY")).one()
    assert row.processed_at is not None and row.event_type == "app_home_opened"
    # A new event (a new event_id) is published again.
    served.app_home_opened("U0ANA", event_id="EvOTHER")
    fake.wait_for("views.publish", 2, ok=True)


def test_a_retry_is_processed_when_the_first_delivery_failed(
    served: SlackRequests, fake: FakeSlack
) -> None:
    fake.fail("views.publish", "internal_error")  # ok:false — the first processing fails
    served.app_home_opened("U0ANA", event_id="EvFAIL")
    fake.wait_for("views.publish", 1)
    time.sleep(0.2)  # the listener releases the event after the failed call
    served.app_home_opened("U0ANA", event_id="EvFAIL", retry_num=1)
    published = fake.wait_for("views.publish", 1, ok=True)
    assert len(published) == 1
    assert len(fake.calls_to("views.publish")) == 2


def test_only_the_home_tab_publishes(served: SlackRequests, fake: FakeSlack) -> None:
    served.app_home_opened("U0ANA", event_id="EvMSG", tab="messages")
    served.app_home_opened("U0ANA", event_id="EvHOME")
    fake.wait_for("views.publish", ok=True)
    time.sleep(0.2)
    assert len(fake.calls_to("views.publish")) == 1


def test_an_unknown_slack_user_gets_the_not_set_up_home(
    served: SlackRequests, fake: FakeSlack
) -> None:
    fake.add_user("U0STRANGER", email="nobody@elsewhere.test")
    served.app_home_opened("U0STRANGER", event_id="EvSTRANGER")
    view = fake.wait_for("views.publish", ok=True)[0].params["view"]
    assert view["type"] == "home"
    assert "not set up yet" in json.dumps(view)
    assert fake.home["U0STRANGER"]["blocks"] == view["blocks"]


def test_a_slack_user_is_linked_by_email_on_first_visit(
    served: SlackRequests, fake: FakeSlack, loaded: Engine
) -> None:
    with loaded.begin() as conn:
        conn.execute(User.__table__.update().where(User.id == "u-ana").values(slack_user_id=None))
        conn.execute(
            User.__table__.update().where(User.id == "u-ana").values(email="Ana@Example.com")
        )
    served.app_home_opened("U0ANA", event_id="EvLINK")
    view = fake.wait_for("views.publish", ok=True)[0].params["view"]
    assert "Globex" in json.dumps(view)
    with loaded.connect() as conn:
        assert conn.execute(select(User.slack_user_id).where(User.id == "u-ana")).scalar() == (
            "U0ANA"
        )


# ----------------------------------------------------------------- build_app


def test_build_app_needs_the_signing_secret_in_http_mode(fake: FakeSlack, sqlite_url: str) -> None:
    from bot.settings import SettingsError

    settings = Settings(DATABASE_URL=sqlite_url, SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url)
    engine = make_engine(sqlite_url)
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        build_app(settings, engine)
    app = build_app(settings, engine, socket_mode=True)  # Socket Mode requests are not signed
    assert app.client.base_url == fake.base_url
    engine.dispose()


def test_build_app_reports_a_refused_token(fake: FakeSlack, sqlite_url: str) -> None:
    from bot.settings import SettingsError

    settings = Settings(
        DATABASE_URL=sqlite_url,
        SLACK_BOT_TOKEN="xoxb-wrong",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.base_url,
    )
    engine = make_engine(sqlite_url)
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        build_app(settings, engine)
    engine.dispose()


def test_each_app_has_its_own_client(fake: FakeSlack, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    one = build_app(slack_settings(fake, sqlite_url), engine)
    two = build_app(slack_settings(fake, sqlite_url), engine)
    assert one is not two and one.client is not two.client
    assert len(fake.calls_to("auth.test", ok=True)) == 2
    engine.dispose()


# --------------------------------------------------------------- serve command


def test_serve_names_a_missing_variable(fake: FakeSlack, sqlite_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN), "--database-url", sqlite_url, "serve", "--http", "--port", "0"],
        capture_output=True,
        text=True,
        env=cli_env(fake),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1
    assert "SLACK_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run(
        [str(BIN), "--database-url", sqlite_url, "serve", "--http", "--port", "0"],
        capture_output=True,
        text=True,
        env=cli_env(fake, SLACK_BOT_TOKEN=TOKEN),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1
    assert "SLACK_SIGNING_SECRET" in done.stderr and "Traceback" not in done.stderr


def test_serve_http_answers_signed_requests_only(
    fake: FakeSlack, sqlite_url: str, tmp_path: Path
) -> None:
    env = cli_env(fake, SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    proc = start_serve(
        sqlite_url, "--http", "--port", "0", "--host", "127.0.0.1", env=env, cwd=tmp_path
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        port = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"Listening on http://127\.0\.0\.1:(\d+)/slack/events", line)
            if found:
                port = int(found.group(1))
                break
        assert port, "".join(lines)
        requests = SlackRequests(f"http://127.0.0.1:{port}/slack/events")
        assert requests.app_home_opened("U0ANA", signature="v0=" + "1" * 64).status == 401
        answer = requests.post(
            json.dumps({"type": "url_verification", "challenge": "c-9", "token": "legacy"}),
            "application/json",
        )
        assert answer.status == 200 and "c-9" in answer.body
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert TOKEN not in err and SIGNING_SECRET not in err


def test_serve_uses_socket_mode_with_an_app_token(
    fake: FakeSlack, sqlite_url: str, tmp_path: Path
) -> None:
    env = cli_env(fake, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN="xapp-1-A0TEST-refused")
    done = subprocess.run(
        [str(BIN), "--database-url", sqlite_url, "serve", "--no-scheduler"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Socket Mode" in done.stdout and "scheduler" not in done.stdout
    assert "SLACK_APP_TOKEN" in done.stderr and "invalid_auth" in done.stderr
    assert "Traceback" not in done.stderr and "xapp-1-A0TEST-refused" not in done.stderr
    # No signing secret needed in Socket Mode; the app-level token went to apps.connections.open.
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == "Bearer xapp-1-A0TEST-refused"


def test_serve_over_socket_mode_answers_commands_and_events(
    fake: FakeSlack, sqlite_url: str, tmp_path: Path
) -> None:
    load(sqlite_url, home_portfolio(), tmp_path)
    sweep(sqlite_url, NOW, dry_run=False)
    app_token = "xapp-1-A0TEST-socket"
    with FakeSocketMode() as socket_mode:
        fake.app_token, fake.socket_url = app_token, socket_mode.url
        env = cli_env(fake, SLACK_BOT_TOKEN=TOKEN, SLACK_APP_TOKEN=app_token)
        proc = start_serve(sqlite_url, "--no-scheduler", env=env, cwd=tmp_path)
        try:
            assert socket_mode.connected.wait(30), "serve never connected over Socket Mode"
            command = {
                "team_id": TEAM_ID,
                "channel_id": "D0ANA",
                "user_id": "U0ANA",
                "api_app_id": "A0TEST",
                "trigger_id": "trigger-1",
            }
            # /followup help: answered in the acknowledgement itself.
            help_id = socket_mode.send(
                "slash_commands",
                {
                    **command,
                    "command": "/followup",
                    "text": "help",
                    "response_url": fake.response_url("help"),
                },
                response_payload=True,
            )
            ack = socket_mode.wait_ack(help_id)
            assert "/followup today" in ack["payload"]["text"]

            # /account-summary: acknowledged at once, the summary follows on the response_url.
            sent = time.monotonic()
            summary_id = socket_mode.send(
                "slash_commands",
                {
                    **command,
                    "command": "/account-summary",
                    "text": "globex",
                    "response_url": fake.response_url("summary"),
                },
                response_payload=True,
            )
            socket_mode.wait_ack(summary_id)
            assert time.monotonic() - sent < 3.0  # Slack's limit, with a wide margin here
            [answer] = fake.wait_for("response_url", timeout=20)
            assert "Globex" in json.dumps(answer.params)

            # Events arrive on the same socket: opening the App Home publishes it.
            event_id = socket_mode.send(
                "events_api",
                {
                    "team_id": TEAM_ID,
                    "api_app_id": "A0TEST",
                    "type": "event_callback",
                    "event_id": "EvSOCKET1",
                    "event_time": int(time.time()),
                    "event": {
                        "type": "app_home_opened",
                        "user": "U0ANA",
                        "channel": "D0ANA",
                        "tab": "home",
                        "event_ts": f"{time.time():.6f}",
                    },
                },
            )
            socket_mode.wait_ack(event_id)
            [published] = fake.wait_for("views.publish", timeout=20)
            assert published.params["user_id"] == "U0ANA"
            assert "Globex" in json.dumps(published.params["view"])
        finally:
            proc.terminate()
            out, err = proc.communicate(timeout=10)
    assert "Socket Mode" in out
    assert "Traceback" not in err, err
    assert TOKEN not in err and app_token not in err
