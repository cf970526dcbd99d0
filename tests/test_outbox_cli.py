"""``followup-bot outbox`` and ``outbox retry`` — the installed console script in a subprocess,
on SQLite and PostgreSQL: the messages not sent are listed (text and JSON) with why; retried
ones go back to pending and the next drain sends them once; an unknown one only with --force;
unknown ids and messages that cannot be retried are refused and nothing changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, update

from bot.db.models import AuditLog, OutboxMessage
from bot.db.session import make_engine
from bot.service.drain import drain
from bot.service.outbox import Kind, Message, enqueue
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, load
from tests.slack_fakes import TOKEN, FakeSlack

FAST = Pacing(per_channel=0, per_call=0)
LATER = NOW + timedelta(minutes=10)  # when the drain ran


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com")
        server.add_user("U0MGR", email="mia@example.com")
        yield server


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    p = Portfolio()
    p.data["users"].append({"id": "u-bob", "name": "Bob CSM", "role": "csm", "team": "t-1"})
    p.account("acc-1")
    load(db_url, p, tmp_path)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def client_for(fake: FakeSlack) -> Any:
    return make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))


def run_drain(engine: Engine, fake: FakeSlack, at: datetime = NOW) -> Any:
    return drain(engine, client_for(fake), clock=lambda: at, pacing=FAST)


def outbox(engine: Engine, *args: str) -> Any:
    """``followup-bot --database-url URL outbox ARGS``."""
    url = engine.url.render_as_string(hide_password=False)
    return run_cli("--database-url", url, "outbox", *args)


def ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {key: id_ for key, id_ in conn.execute(select(OutboxMessage.key, OutboxMessage.id))}


def status_of(engine: Engine, key: str) -> tuple[str, int, str | None]:
    with engine.connect() as conn:
        row = conn.execute(
            select(OutboxMessage.status, OutboxMessage.attempts, OutboxMessage.error).where(
                OutboxMessage.key == key
            )
        ).one()
    return row.status, row.attempts, row.error


@pytest.fixture
def troubled(engine: Engine, fake: FakeSlack) -> Engine:
    """One message in each state: a post the bot may not make (failed, not_in_channel), a DM
    to a user with no Slack account (failed), a parked post, an unknown reply in a thread,
    a sent DM and a pending one."""
    messages = [
        Message("post:spec", Kind.POST, "C0SPEC", {"text": "Hi"}, subject="action_run:1"),
        Message("dm:bob", Kind.DM, "u-bob", {"text": "Hello Bob"}),
        Message("dm:ana", Kind.DM, "u-ana", {"text": "Hello Ana"}),
        Message("post:parked", Kind.POST, "C0OPS", {"text": "Ops"}),
        Message(
            "reminder:7", Kind.POST, "C0APPROVALS", {"text": "Still waiting", "thread_ts": "1.2"}
        ),
    ]
    with engine.begin() as conn:
        for message in messages:
            enqueue(conn, message, NOW)
    with engine.begin() as conn:  # parked and unknown as a drain leaves them after many tries
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "post:parked")
            .values(status="parked", attempts=5, error="Slack answered internal_error (gave up)")
        )
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "reminder:7")
            .values(status="unknown", attempts=1, error="no answer from Slack; it may have posted")
        )
    fake.fail("chat.postMessage", "not_in_channel")
    report = run_drain(engine, fake, LATER)
    assert sorted(k for k, _ in report.failed) == ["dm:bob", "post:spec"]
    assert report.sent == ["dm:ana"]
    with engine.begin() as conn:
        enqueue(conn, Message("dm:later", Kind.DM, "u-ana", {"text": "Later"}), NOW)
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == "dm:later")
            .values(next_attempt_at=NOW + timedelta(hours=1))
        )
    return engine


# ----------------------------------------------------------------------------- listing


def test_the_messages_not_sent_are_listed_as_json(troubled: Engine) -> None:
    done = outbox(troubled, "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["status"] == "not-sent" and data["total"] == 4
    listed = {m["key"]: m for m in data["messages"]}
    assert list(listed) == ["reminder:7", "post:parked", "dm:bob", "post:spec"]  # newest first
    spec = listed["post:spec"]
    assert spec["id"] == ids(troubled)["post:spec"]
    assert (spec["kind"], spec["target"], spec["status"], spec["attempts"]) == (
        "post",
        "C0SPEC",
        "failed",
        1,
    )
    assert "not_in_channel" in spec["error"] and "invite" in spec["error"]
    assert (spec["created_at"], spec["updated_at"]) == (iso(NOW), iso(LATER))  # failed LATER
    assert listed["post:parked"]["updated_at"] == iso(NOW)  # no audit entry: its creation
    assert spec["subject"] == "action_run:1"
    assert "has no Slack user" in listed["dm:bob"]["error"]
    assert listed["reminder:7"]["thread_ts"] == "1.2"
    assert listed["reminder:7"]["status"] == "unknown"
    assert listed["post:parked"]["attempts"] == 5


def test_the_text_listing_is_a_table_with_a_way_out(troubled: Engine) -> None:
    done = outbox(troubled)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "4 message(s) not sent (failed, parked, unknown)" in text
    for key in ("post:spec", "dm:bob", "post:parked", "reminder:7"):
        assert key in text
    assert "dm:ana" not in text and "dm:later" not in text
    assert "Slack answered not_in_channel" in text and "DM u-bob" in text
    assert "C0APPROVALS (thread 1.2)" in text
    assert "followup-bot outbox retry ID" in text and "--force" in text


@pytest.mark.parametrize(
    ("status", "keys"),
    [
        ("failed", ["dm:bob", "post:spec"]),
        ("parked", ["post:parked"]),
        ("unknown", ["reminder:7"]),
        ("pending", ["dm:later"]),
        ("sent", ["dm:ana"]),
        ("all", ["dm:later", "reminder:7", "post:parked", "dm:ana", "dm:bob", "post:spec"]),
    ],
)
def test_the_listing_filters_by_status(troubled: Engine, status: str, keys: list[str]) -> None:
    done = outbox(troubled, "--status", status, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [m["key"] for m in json.loads(done.stdout)["messages"]] == keys
    if status == "pending":
        [later] = json.loads(done.stdout)["messages"]
        assert later["next_attempt_at"] == iso(NOW + timedelta(hours=1))


def test_limit_shows_the_newest_and_says_how_many_are_left(troubled: Engine) -> None:
    data = json.loads(outbox(troubled, "--limit", "1", "--format", "json").stdout)
    assert data["total"] == 4 and [m["key"] for m in data["messages"]] == ["reminder:7"]
    text = outbox(troubled, "--limit", "2").stdout
    assert "2 of 4 message(s)" in text and "2 older one(s) not shown" in text


def test_an_empty_outbox_says_so(engine: Engine) -> None:
    done = outbox(engine)
    assert done.returncode == 0, done.stderr
    assert "No outbox messages not sent" in done.stdout
    bad = outbox(engine, "--status", "lost")
    assert bad.returncode == 2 and "not-sent" in bad.stderr


# ------------------------------------------------------------------------------- retry


def test_a_retried_message_is_sent_once_by_the_next_drain(
    troubled: Engine, fake: FakeSlack
) -> None:
    row_ids = ids(troubled)
    done = outbox(troubled, "retry", str(row_ids["post:spec"]), str(row_ids["post:parked"]))
    assert done.returncode == 0, done.stderr
    assert "Back in the queue:" in done.stdout and "post:spec" in done.stdout
    assert status_of(troubled, "post:spec") == ("pending", 0, None)
    assert status_of(troubled, "post:parked") == ("pending", 0, None)
    with troubled.connect() as conn:
        entries = conn.execute(
            select(AuditLog.actor, AuditLog.subject, AuditLog.details)
            .where(AuditLog.action == "outbox.retry")
            .order_by(AuditLog.id)
        ).all()
    assert [(a, s) for a, s, _ in entries] == [
        ("cli", "action_run:1"),
        ("cli", "outbox:post:parked"),
    ]
    assert entries[0].details["was"] == "failed" and "not_in_channel" in entries[0].details["error"]
    # The next drain (now that the bot was invited) sends both, once.
    # (retried now by the real clock; dm:later, due an hour after NOW, is sent as well)
    at = max(datetime.now(UTC), NOW + timedelta(hours=2)).replace(microsecond=0)
    report = run_drain(troubled, fake, at)
    assert sorted(report.sent) == ["dm:later", "post:parked", "post:spec"]
    keys = [
        c.params["metadata"]["event_payload"]["key"]
        for c in fake.calls_to("chat.postMessage", ok=True)
    ]
    assert sorted(keys) == ["dm:ana", "dm:later", "post:parked", "post:spec"]
    assert run_drain(troubled, fake, at + timedelta(days=1)).sent == []
    # the listing shows them sent, updated when they were sent
    data = json.loads(outbox(troubled, "--status", "sent", "--format", "json").stdout)
    assert {m["key"] for m in data["messages"]} == {
        "dm:ana",
        "dm:later",
        "post:parked",
        "post:spec",
    }
    assert json.loads(outbox(troubled, "--format", "json").stdout)["total"] == 2


def test_all_parked_puts_every_parked_message_back(troubled: Engine) -> None:
    done = outbox(troubled, "retry", "--all-parked")
    assert done.returncode == 0, done.stderr
    assert status_of(troubled, "post:parked") == ("pending", 0, None)
    assert status_of(troubled, "post:spec")[0] == "failed"  # only the parked ones
    again = outbox(troubled, "retry", "--all-parked")
    assert again.returncode == 0 and "No parked messages" in again.stdout


def test_an_unknown_message_is_retried_only_with_force(troubled: Engine) -> None:
    row_ids = ids(troubled)
    unknown, failed = str(row_ids["reminder:7"]), str(row_ids["post:spec"])
    refused = outbox(troubled, "retry", failed, unknown)
    assert refused.returncode == 1
    assert "may have been posted already" in refused.stderr and "--force" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert status_of(troubled, "reminder:7")[0] == "unknown"
    assert status_of(troubled, "post:spec")[0] == "failed"  # all or nothing
    forced = outbox(troubled, "retry", "--force", unknown)
    assert forced.returncode == 0, forced.stderr
    assert status_of(troubled, "reminder:7") == ("pending", 0, None)
    with troubled.connect() as conn:
        details = conn.execute(
            select(AuditLog.details).where(AuditLog.action == "outbox.retry")
        ).scalar_one()
    assert details["forced"] is True and details["was"] == "unknown"


def test_bad_ids_are_refused_and_nothing_changes(troubled: Engine) -> None:
    row_ids = ids(troubled)
    missing = str(max(row_ids.values()) + 100)
    done = outbox(troubled, "retry", str(row_ids["post:spec"]), missing)
    assert done.returncode == 1
    assert f"{missing}: no outbox message has this id" in done.stderr
    assert status_of(troubled, "post:spec")[0] == "failed"
    sent = outbox(troubled, "retry", str(row_ids["dm:ana"]))
    assert sent.returncode == 1 and "was sent already" in sent.stderr
    pending = outbox(troubled, "retry", str(row_ids["dm:later"]))
    assert pending.returncode == 0 and "Pending already" in pending.stdout
    assert outbox(troubled, "retry", "twelve").returncode == 2
    nothing = outbox(troubled, "retry")
    assert nothing.returncode == 1 and "--all-parked" in nothing.stderr


def test_retry_help_warns_that_an_unknown_message_may_post_twice() -> None:
    done = run_cli("outbox", "retry", "--help", env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "may have been posted already" in done.stdout
    assert "--force" in done.stdout and "posted twice" in done.stdout


def test_a_daily_dm_message_is_left_to_its_days_delivery(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(OutboxMessage).values(
                key="daily:u-ana:2026-11-16:0",
                kind=Kind.DAILY_DM.value,
                target="u-ana",
                payload={},
                status="failed",
                attempts=1,
                error="Slack answered not_in_channel",
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
    listed = json.loads(outbox(engine, "--format", "json").stdout)
    assert [m["key"] for m in listed["messages"]] == ["daily:u-ana:2026-11-16:0"]
    result = outbox(engine, "retry", str(ids(engine)["daily:u-ana:2026-11-16:0"]))
    assert result.returncode == 1
    assert "followup-bot deliver --user u-ana" in result.stderr
    assert status_of(engine, "daily:u-ana:2026-11-16:0")[0] == "failed"  # nothing changed
