"""The outbox against the fake Slack Web API and a local webhook receiver, on SQLite and
PostgreSQL: every message sent once — with two drains at once, after a drain died mid-way, after
a lost answer — refusals marked failed and audited, webhooks signed, retried with backoff and
parked after repeated failure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bot.db.models import AuditLog, OutboxMessage
from bot.db.session import make_engine
from bot.service.drain import DrainReport, drain
from bot.service.outbox import MARK, MAX_ATTEMPTS, Kind, Message, backoff, enqueue
from bot.service.webhook import WebhookConfig, verify
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from bot.slack.posted import HISTORY_LOOKBACK
from tests.portfolio import NOW, Portfolio, load
from tests.slack_fakes import TOKEN, FakeSlack
from tests.webhook_receiver import Receiver

FAST = Pacing(per_channel=0, per_call=0)
SECRET = "whsec-test"


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


def dm(key: str, user: str = "u-ana", text: str = "Hello") -> Message:
    return Message(key, Kind.DM, user, {"text": text, "blocks": None}, subject=f"test:{key}")


def put(engine: Engine, *messages: Message, now: datetime = NOW) -> list[bool]:
    with engine.begin() as conn:
        return [enqueue(conn, m, now) for m in messages]


def run(
    engine: Engine, fake: FakeSlack, now: datetime = NOW, webhook: WebhookConfig | None = None
) -> DrainReport:
    return drain(engine, client_for(fake), webhook=webhook, clock=lambda: now, pacing=FAST)


def posted_keys(fake: FakeSlack) -> list[str]:
    return [
        c.params["metadata"]["event_payload"]["key"]
        for c in fake.calls_to("chat.postMessage", ok=True)
    ]


def row(engine: Engine, key: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(OutboxMessage.__table__).where(OutboxMessage.key == key)).one()


def audit(engine: Engine) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    with engine.connect() as conn:
        return [
            (r.action, r.subject, r.details)
            for r in conn.execute(select(AuditLog.__table__).order_by(AuditLog.id))
        ]


# ------------------------------------------------------------------ exactly once


def test_a_message_is_enqueued_once_and_sent_once(engine: Engine, fake: FakeSlack) -> None:
    assert put(engine, dm("k1"), dm("k1")) == [True, False]
    report = run(engine, fake)
    assert report.sent == ["k1"]
    [message] = fake.dms("U0ANA")
    assert message["text"] == "Hello"
    assert message["metadata"] == {"event_type": MARK, "event_payload": {"key": "k1"}}
    stored = row(engine, "k1")
    assert (stored.status, stored.channel, stored.ts) == ("sent", "D0ANA", message["ts"])
    put(engine, dm("k1"))  # enqueued again later: still the one message
    assert run(engine, fake).sent == []
    assert len(fake.dms("U0ANA")) == 1


def test_two_drains_at_once_send_each_message_once(engine: Engine, fake: FakeSlack) -> None:
    keys = [f"k{i:02d}" for i in range(12)]
    put(engine, *(dm(k) for k in keys))
    fake.delay("chat.postMessage", 0.05)
    reports: list[DrainReport] = []
    start = threading.Barrier(3)

    def one() -> None:
        start.wait()
        reports.append(run(engine, fake))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(posted_keys(fake)) == keys
    assert sorted(k for r in reports for k in r.sent) == keys
    assert len(fake.dms("U0ANA")) == 12


# ------------------------------------------------------------- a drain that died


def _as_if_a_drain_died(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.key == key)
            .values(
                status="claimed",
                lease_token="dead",
                lease_until=NOW - timedelta(seconds=1),
                attempts=1,
            )
        )


def test_a_dead_drains_post_is_found_in_the_dm_and_not_sent_again(
    engine: Engine, fake: FakeSlack
) -> None:
    put(engine, dm("k1"), dm("k2"))
    _as_if_a_drain_died(engine, "k1")
    # The dead drain had posted k1 before it could record it.
    client_for(fake).chat_postMessage(
        channel="U0ANA", text="Hello", metadata={"event_type": MARK, "event_payload": {"key": "k1"}}
    )
    report = run(engine, fake)
    assert sorted(report.sent) == ["k1", "k2"]
    assert sorted(posted_keys(fake)) == ["k1", "k2"]  # k1 once (by the dead drain), k2 now
    assert len(fake.dms("U0ANA")) == 2
    assert row(engine, "k1").ts == fake.dms("U0ANA")[0]["ts"]


def test_a_dead_drains_row_is_posted_when_absent(engine: Engine, fake: FakeSlack) -> None:
    put(engine, dm("k1"))
    _as_if_a_drain_died(engine, "k1")
    assert run(engine, fake).sent == ["k1"]
    assert posted_keys(fake) == ["k1"]


def test_a_row_whose_lease_still_runs_is_left_to_its_drain(engine: Engine, fake: FakeSlack) -> None:
    put(engine, dm("k1"))
    _as_if_a_drain_died(engine, "k1")
    with engine.begin() as conn:
        conn.execute(update(OutboxMessage).values(lease_until=NOW + timedelta(minutes=1)))
    assert run(engine, fake).sent == []
    assert fake.calls_to("chat.postMessage") == []


def test_when_slack_cannot_tell_the_row_is_unknown_and_never_posted(
    engine: Engine, fake: FakeSlack
) -> None:
    put(engine, dm("k1"))
    _as_if_a_drain_died(engine, "k1")
    fake.fail("conversations.history", status=500, times=5)
    report = run(engine, fake)
    assert [k for k, _ in report.unknown] == ["k1"]
    assert fake.calls_to("chat.postMessage") == []
    assert row(engine, "k1").status == "unknown"
    assert audit(engine)[-1][:2] == ("outbox.unknown", "test:k1")
    assert run(engine, fake).sent == []  # never again


def test_a_lost_answer_is_looked_up_and_not_posted_twice(engine: Engine, fake: FakeSlack) -> None:
    put(engine, dm("k1"))
    fake.fail("chat.postMessage", "drop")
    report = run(engine, fake)
    assert report.sent == ["k1"]
    assert len(fake.dms("U0ANA")) == 1
    assert row(engine, "k1").ts == fake.dms("U0ANA")[0]["ts"]


def test_a_server_error_before_posting_is_retried_later(engine: Engine, fake: FakeSlack) -> None:
    put(engine, dm("k1"))
    fake.fail("chat.postMessage", status=500)
    report = run(engine, fake)
    assert [k for k, _ in report.retrying] == ["k1"] and fake.dms("U0ANA") == []
    assert run(engine, fake).sent == []  # not due yet
    assert run(engine, fake, NOW + backoff(1)).sent == ["k1"]
    assert len(fake.dms("U0ANA")) == 1


# --------------------------------------------------------- a reply in a thread


APPROVALS = "C0APPROVALS"


def thread_parent(fake: FakeSlack) -> str:
    """A message in the approvals channel (an approval request); its ts."""
    posted = client_for(fake).chat_postMessage(channel=APPROVALS, text="Approve the discount?")
    return str(posted["ts"])


def reply(key: str, thread_ts: str) -> Message:
    payload = {"text": "Still waiting for a decision", "thread_ts": thread_ts}
    return Message(key, Kind.POST, APPROVALS, payload, subject=f"test:{key}")


def replies_of(fake: FakeSlack, thread_ts: str) -> list[dict[str, Any]]:
    with fake._lock:
        found = [m for m in fake.messages.values() if m.get("thread_ts") == thread_ts]
    return sorted(found, key=lambda m: float(m["ts"]))


@pytest.mark.parametrize(
    "lost",
    [{"error": "drop"}, {"status": 500, "carried_out": True}],
    ids=["no-answer", "posted-then-500"],
)
def test_a_threaded_reply_whose_answer_was_lost_is_posted_once(
    engine: Engine, fake: FakeSlack, lost: dict[str, Any]
) -> None:
    parent = thread_parent(fake)
    for n in range(3):  # other replies in the thread before ours
        client_for(fake).chat_postMessage(channel=APPROVALS, text=f"reply {n}", thread_ts=parent)
    put(engine, reply("r1", parent))
    fake.fail("chat.postMessage", **lost)
    report = run(engine, fake)
    assert report.sent == ["r1"] and report.unknown == []
    [ours] = [m for m in replies_of(fake, parent) if m.get("metadata")]
    assert ours["metadata"] == {"event_type": MARK, "event_payload": {"key": "r1"}}
    assert len(replies_of(fake, parent)) == 4  # the three, and ours once
    stored = row(engine, "r1")
    assert (stored.status, stored.channel, stored.ts) == ("sent", APPROVALS, ours["ts"])
    # It was found in the thread: the channel's history does not show replies.
    [looked] = fake.calls_to("conversations.replies", ok=True)
    assert looked.params["ts"] == parent and looked.params["include_all_metadata"] in ("1", True)
    assert fake.calls_to("conversations.history") == []
    assert run(engine, fake, NOW + timedelta(days=1)).sent == []
    assert len(replies_of(fake, parent)) == 4


def test_a_threaded_reply_is_searched_in_a_long_thread_page_after_page(
    engine: Engine, fake: FakeSlack
) -> None:
    parent = thread_parent(fake)
    client = client_for(fake)
    for n in range(2 * HISTORY_LOOKBACK + 5):
        client.chat_postMessage(channel=APPROVALS, text=f"reply {n}", thread_ts=parent)
    put(engine, reply("r1", parent))
    fake.fail("chat.postMessage", "drop")
    assert run(engine, fake).sent == ["r1"]
    assert len(fake.calls_to("conversations.replies", ok=True)) == 3  # ours: the 3rd page
    [ours] = [m for m in replies_of(fake, parent) if m.get("metadata")]
    assert ours["ts"] == row(engine, "r1").ts


def test_a_threaded_reply_not_in_its_thread_is_posted_after_a_lost_answer(
    engine: Engine, fake: FakeSlack
) -> None:
    parent = thread_parent(fake)
    put(engine, reply("r1", parent))
    fake.fail("chat.postMessage", status=500)  # refused before posting (not carried out)
    fake.fail("chat.postMessage", "drop")  # then the retry's answer is lost
    report = run(engine, fake)
    assert [k for k, _ in report.retrying] == ["r1"] and replies_of(fake, parent) == []
    assert run(engine, fake, NOW + backoff(1)).sent == ["r1"]
    assert len(replies_of(fake, parent)) == 1


def test_a_dead_drains_threaded_reply_is_found_in_its_thread(
    engine: Engine, fake: FakeSlack
) -> None:
    parent = thread_parent(fake)
    put(engine, reply("r1", parent), reply("r2", parent))
    _as_if_a_drain_died(engine, "r1")
    _as_if_a_drain_died(engine, "r2")
    # The dead drain had posted r1 (not r2) before it could record it.
    client_for(fake).chat_postMessage(
        channel=APPROVALS,
        text="Still waiting for a decision",
        thread_ts=parent,
        metadata={"event_type": MARK, "event_payload": {"key": "r1"}},
    )
    report = run(engine, fake)
    assert sorted(report.sent) == ["r1", "r2"]
    keys = [m["metadata"]["event_payload"]["key"] for m in replies_of(fake, parent)]
    assert keys == ["r1", "r2"]


def test_when_the_thread_cannot_be_read_a_lost_reply_is_unknown(
    engine: Engine, fake: FakeSlack
) -> None:
    parent = thread_parent(fake)
    put(engine, reply("r1", parent))
    fake.fail("chat.postMessage", "drop")
    fake.fail("conversations.replies", "missing_scope")
    report = run(engine, fake)
    assert [k for k, _ in report.unknown] == ["r1"]
    assert len(replies_of(fake, parent)) == 1  # posted once, never again
    assert run(engine, fake, NOW + timedelta(days=1)).sent == []
    assert len(replies_of(fake, parent)) == 1


# ------------------------------------------------------------------ refusals


def test_not_in_channel_fails_the_row_and_audits_it(engine: Engine, fake: FakeSlack) -> None:
    put(engine, Message("p1", Kind.POST, "C0SPEC", {"text": "Hi"}, subject="action_run:1"))
    fake.fail("chat.postMessage", "not_in_channel")
    report = run(engine, fake)
    [(key, error)] = report.failed
    assert key == "p1" and "not_in_channel" in error and "invite" in error
    assert row(engine, "p1").status == "failed"
    action, subject, details = audit(engine)[-1]
    assert (action, subject) == ("outbox.failed", "action_run:1")
    assert details is not None and "not_in_channel" in details["error"]
    assert run(engine, fake).failed == []  # not retried
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_a_user_without_slack_is_a_failed_row(engine: Engine, fake: FakeSlack) -> None:
    put(engine, dm("k-bob", user="u-bob"))
    [(key, error)] = run(engine, fake).failed
    assert key == "k-bob" and "u-bob has no Slack user" in error
    assert audit(engine)[-1][0] == "outbox.failed"
    assert fake.calls_to("chat.postMessage") == []


def test_a_missing_channel_is_a_failed_row(engine: Engine, fake: FakeSlack) -> None:
    put(engine, Message("p1", Kind.POST, "", {"text": "Hi"}))
    [(_, error)] = run(engine, fake).failed
    assert error == "no channel is set"


# ------------------------------------------------------------------- webhook


def hook(key: str, url: str) -> Message:
    return Message(key, Kind.WEBHOOK, url, {"id": key, "action": "notify_owner_slack"})


def test_a_webhook_is_signed_and_sent_once(engine: Engine, fake: FakeSlack) -> None:
    with Receiver() as receiver:
        put(engine, hook("w1", receiver.url))
        report = run(engine, fake, webhook=WebhookConfig(receiver.url, SECRET))
        assert report.sent == ["w1"]
        [got] = receiver.received
        assert got.json == {"id": "w1", "action": "notify_owner_slack"}
        assert got.headers["content-type"] == "application/json"
        assert got.headers["x-followup-event"] == "w1"
        ts, sig = got.headers["x-followup-timestamp"], got.headers["x-followup-signature"]
        assert int(ts) == int(NOW.timestamp()) and sig.startswith("sha256=")
        assert verify(SECRET, ts, got.body, sig, now=NOW.timestamp())
        assert not verify("other", ts, got.body, sig, now=NOW.timestamp())
        assert not verify(SECRET, ts, got.body + b" ", sig, now=NOW.timestamp())
        assert not verify(SECRET, ts, got.body, sig, now=NOW.timestamp() + 3600)  # replayed
        assert run(engine, fake, webhook=WebhookConfig(receiver.url, SECRET)).sent == []


def test_a_webhook_answering_500_is_retried_with_backoff(engine: Engine, fake: FakeSlack) -> None:
    with Receiver() as receiver:
        config = WebhookConfig(receiver.url, SECRET)
        receiver.statuses = [500]
        put(engine, hook("w1", receiver.url))
        report = run(engine, fake, webhook=config)
        assert report.retrying == [("w1", "HTTP 500")]
        assert run(engine, fake, NOW + backoff(1) / 2, webhook=config).sent == []
        assert run(engine, fake, NOW + backoff(1), webhook=config).sent == ["w1"]
        assert [r.status for r in receiver.received] == [500, 200]


def test_a_webhook_failing_again_and_again_is_parked(engine: Engine, fake: FakeSlack) -> None:
    with Receiver() as receiver:
        config = WebhookConfig(receiver.url, SECRET)
        receiver.statuses = [503] * MAX_ATTEMPTS
        put(engine, hook("w1", receiver.url))
        at = NOW
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report = run(engine, fake, at, webhook=config)
            at += backoff(attempt)
        assert [k for k, _ in report.parked] == ["w1"]
        assert row(engine, "w1").status == "parked"
        assert len(receiver.received) == MAX_ATTEMPTS
        action, _, details = audit(engine)[-1]
        assert action == "outbox.parked" and details is not None
        assert f"gave up after {MAX_ATTEMPTS} attempts" in details["error"]
        assert run(engine, fake, at + timedelta(days=1), webhook=config).sent == []


def test_webhooks_wait_while_no_webhook_is_configured(engine: Engine, fake: FakeSlack) -> None:
    with Receiver() as receiver:
        put(engine, hook("w1", receiver.url))
        assert run(engine, fake).sent == []
        assert row(engine, "w1").status == "pending" and receiver.received == []
