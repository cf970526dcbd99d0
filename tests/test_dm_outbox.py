"""The daily DM goes through the one outbox, on SQLite and PostgreSQL: each of its messages is an
outbox row posted by the outbox's code path — a lost answer found in the DM and not posted
twice, a refusal a failed row with an audit entry (claimed again by the next run), a round
killed mid-way resumed by the next one with every DM sent once — and the DM messages of an
earlier version are carried over by migration 0016."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, insert, select, text, update

from bot.db.models import AuditLog, Delivery, OutboxMessage
from bot.db.session import alembic_config, make_engine, upgrade
from bot.db.types import UTCDateTime
from bot.engine.business_time import local_date
from bot.service.outbox import MARK
from tests.bot_harness import BIN
from tests.portfolio import NOW, load
from tests.slack_fakes import FakeSlack
from tests.test_deliver import client_for, deliver, portfolio, statuses
from tests.test_scheduler import env, posted
from tests.test_scheduler import portfolio as round_portfolio

DAY = local_date(NOW, "America/New_York")
# The tables of revision 0013, which the models no longer describe.
DELIVERIES = sa.table(
    "deliveries",
    sa.column("id", sa.Integer),
    sa.column("user_id", sa.String),
    sa.column("local_date", sa.Date),
    sa.column("status", sa.String),
    sa.column("slack_user_id", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", UTCDateTime()),
)
DELIVERY_MESSAGES = sa.table(
    "delivery_messages",
    sa.column("delivery_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("channel", sa.String),
    sa.column("ts", sa.String),
    sa.column("posted_at", UTCDateTime()),
)
KEY = f"daily:u-ana:{DAY.isoformat()}:0"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        server.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
        yield server


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, portfolio(), tmp_path)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(OutboxMessage.__table__)
                .where(OutboxMessage.kind == "daily_dm")
                .order_by(OutboxMessage.id)
            )
        )


def daily_dms(fake: FakeSlack, slack_user_id: str) -> list[dict[str, Any]]:
    """The daily DM messages in a user's DM (a round also sends action DMs)."""
    return [
        m
        for m in fake.dms(slack_user_id)
        if str((m.get("metadata") or {}).get("event_payload", {}).get("key", "")).startswith(
            "daily:"
        )
    ]


def audit(engine: Engine) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    with engine.connect() as conn:
        return [
            (r.action, r.subject, r.details)
            for r in conn.execute(select(AuditLog.__table__).order_by(AuditLog.id))
        ]


def delivery_status(engine: Engine, user_id: str = "u-ana") -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(
            select(Delivery.status, Delivery.error).where(Delivery.user_id == user_id)
        ).one()
    return row.status, row.error


# ------------------------------------------------------------------ one message, one row


def test_each_dm_message_is_an_outbox_row_carrying_its_key(engine: Engine, fake: FakeSlack) -> None:
    report = deliver(engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "posted"}
    [message] = fake.dms("U0ANA")
    assert message["metadata"] == {"event_type": MARK, "event_payload": {"key": KEY}}
    [row] = rows(engine)
    assert (row.key, row.status, row.target, row.position) == (KEY, "sent", "u-ana", 0)
    assert (row.channel, row.ts, row.attempts) == (message["channel"], message["ts"], 1)
    assert row.payload["blocks"] == message["blocks"]


def test_a_lost_answer_is_found_through_the_outbox_and_not_posted_twice(
    engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", "drop")  # posted, but the connection closes unanswered
    report = deliver(engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "posted"}
    assert len(fake.calls_to("chat.postMessage")) == 1  # found: not posted again
    assert len(fake.calls_to("conversations.history", ok=True)) == 1
    [message] = fake.dms("U0ANA")
    [row] = rows(engine)
    assert (row.key, row.status, row.ts) == (KEY, "sent", message["ts"])
    assert audit(engine) == []
    again = deliver(engine, fake, user_id="u-ana")  # a rerun updates that very message
    assert statuses(again) == {"u-ana": "updated"}
    assert [m["ts"] for m in fake.dms("U0ANA")] == [message["ts"]]
    assert len(rows(engine)) == 1


def test_when_slack_cannot_tell_the_row_is_unknown_and_audited_once(
    engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", "drop")
    fake.fail("conversations.history", "missing_scope", times=2)
    report = deliver(engine, fake, user_id="u-ana")
    assert "not posted again today" in (report.outcomes[0].reason or "")
    assert [r.status for r in rows(engine)] == ["unknown"]
    assert delivery_status(engine)[0] == "unknown"
    assert deliver(engine, fake, user_id="u-ana").outcomes[0].status.value == "skipped"
    assert [(a, s) for a, s, _ in audit(engine)] == [("outbox.unknown", "delivery:1")]
    later = deliver(engine, fake, user_id="u-ana")  # Slack can tell again: found
    assert statuses(later) == {"u-ana": "updated"}
    assert [r.status for r in rows(engine)] == ["sent"]
    assert len(fake.calls_to("chat.postMessage")) == 1 and len(fake.dms("U0ANA")) == 1


@pytest.mark.parametrize(
    ("error", "explained"),
    [
        ("not_in_channel", "the bot is not a member of the channel (invite it)"),
        ("channel_not_found", "no such channel, or the bot cannot see it"),
    ],
)
def test_a_refused_dm_is_a_failed_outbox_row_with_an_audit_entry(
    engine: Engine, fake: FakeSlack, error: str, explained: str
) -> None:
    fake.fail("chat.postMessage", error)
    report = deliver(engine, fake, user_id="u-ana")
    [outcome] = report.outcomes
    assert (outcome.status.value, outcome.reason) == ("failed", f"Slack answered {error}")
    [row] = rows(engine)
    assert (row.key, row.status) == (KEY, "failed")
    assert row.error == f"Slack answered {error}: {explained}"
    [(action, subject, details)] = audit(engine)
    assert (action, subject) == ("outbox.failed", "delivery:1")
    assert details is not None and details["key"] == KEY and details["kind"] == "daily_dm"
    assert delivery_status(engine) == ("failed", f"slack: {error}")
    assert fake.dms("U0ANA") == []

    again = deliver(engine, fake, user_id="u-ana")  # the next run claims the same row again
    assert statuses(again) == {"u-ana": "posted"}
    [row] = rows(engine)
    assert (row.key, row.status, row.attempts, row.error) == (KEY, "sent", 2, None)
    assert len(fake.dms("U0ANA")) == 1
    assert delivery_status(engine) == ("sent", None)


def test_a_drain_never_sends_a_daily_dm_row(engine: Engine, fake: FakeSlack) -> None:
    from bot.service.drain import drain
    from tests.test_deliver import FAST

    fake.fail("chat.postMessage", "ratelimited", times=20, retry_after=0)  # gives up: pending
    deliver(engine, fake, user_id="u-ana")
    [row] = rows(engine)
    assert row.status == "pending"
    report = drain(engine, client_for(fake), clock=lambda: NOW + timedelta(days=1), pacing=FAST)
    assert report.sent == [] and rows(engine)[0].status == "pending"


def test_a_message_posted_anew_is_a_new_row_and_the_old_one_loses_its_position(
    engine: Engine, fake: FakeSlack
) -> None:
    deliver(engine, fake, user_id="u-ana")
    [old] = rows(engine)
    fake.forget_message(old.channel, old.ts)  # the user deleted it
    report = deliver(engine, fake, user_id="u-ana")
    assert report.outcomes[0].posted == 1
    first, second = rows(engine)
    assert (first.key, first.position, first.status) == (KEY, None, "sent")
    assert (second.key, second.position, second.status) == (f"{KEY}~2", 0, "sent")
    assert [m["ts"] for m in fake.dms("U0ANA")] == [second.ts]


# ------------------------------------------------------------------ a killed round


def test_a_round_killed_mid_way_is_resumed_and_every_dm_sent_once(
    db_url: str, tmp_path: Path
) -> None:
    noon = "2026-11-16T12:00:00-05:00"
    users = 8  # paced 0.2 s apart: the last ones have not started when the first is answered
    load(db_url, round_portfolio(datetime.fromisoformat(noon), users=users), tmp_path)
    everyone = [f"U0C{n}" for n in range(users)]
    with FakeSlack() as fake:
        for sid in everyone:
            fake.add_user(sid, email=f"{sid.lower()}@example.com", tz="America/New_York")
        fake.delay("chat.postMessage", 1.0)
        tick = [str(BIN), "--database-url", db_url, "tick", "--as-of", noon]
        proc = subprocess.Popen(
            tick,
            env=env(fake),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not posted(fake) and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        time.sleep(1.5)  # the posts in flight when it died land in Slack unanswered
        engine = make_engine(db_url)
        try:
            killed = rows(engine)
            in_flight = [r.key for r in killed if r.status == "claimed"]
            assert in_flight, [(r.key, r.status) for r in killed]
            assert len(posted(fake)) < users  # killed before it was done
            # The leases of the dead round run out (before the round's own time too).
            past = datetime.fromisoformat(noon) - timedelta(minutes=1)
            with engine.begin() as conn:
                conn.execute(update(Delivery).values(lease_until=past))
                conn.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.status == "claimed")
                    .values(lease_until=past)
                )
            fake.delay("chat.postMessage", 0)
            resumed = subprocess.run(
                tick, env=env(fake), cwd=tmp_path, capture_output=True, text=True, timeout=120
            )
            assert resumed.returncode == 0, resumed.stderr
            assert posted(fake) == everyone
            assert all(len(daily_dms(fake, sid)) == 1 for sid in everyone)
            after = {r.key: r for r in rows(engine)}
            assert {r.status for r in after.values()} == {"sent"} and len(after) == users
            assert len(fake.calls_to("conversations.history", ok=True)) >= len(in_flight)
            with engine.connect() as conn:
                states = conn.execute(select(Delivery.status)).scalars().all()
            assert states == ["sent"] * users
        finally:
            engine.dispose()


# ------------------------------------------------------------------ migration 0016


def test_the_dm_messages_of_an_earlier_version_become_outbox_rows(
    engine: Engine, fake: FakeSlack
) -> None:
    """A delivery with one message in Slack and one whose post was in flight, stored by 0013's
    delivery_messages: after the upgrade a rerun finds the in-flight one by the metadata it was
    posted with, updates the first in place and deletes the surplus — nothing posted again."""
    client = client_for(fake)
    command.downgrade(alembic_config(engine), "0013")
    sent = client.chat_postMessage(channel="U0ANA", text="earlier DM")
    with engine.begin() as conn:
        delivery_id = conn.execute(
            insert(DELIVERIES)
            .values(
                user_id="u-ana",
                local_date=DAY,
                status="unknown",
                slack_user_id="U0ANA",
                attempts=1,
                created_at=NOW,
            )
            .returning(DELIVERIES.c.id)
        ).scalar_one()
        conn.execute(
            insert(DELIVERY_MESSAGES),
            [
                {"delivery_id": delivery_id, "position": 0, "channel": sent["channel"],
                 "ts": sent["ts"], "posted_at": NOW},
                {"delivery_id": delivery_id, "position": 1, "channel": None, "ts": None,
                 "posted_at": NOW},
            ],
        )  # fmt: skip
    # The post in flight went through; its answer was lost.
    legacy = {"delivery": delivery_id, "position": 1}
    client.chat_postMessage(
        channel="U0ANA",
        text="earlier DM, part 2",
        metadata={"event_type": "followup_daily_dm", "event_payload": legacy},
    )
    upgrade(engine)
    migrated = rows(engine)
    assert [(r.key, r.status, r.position, r.ts) for r in migrated] == [
        (KEY, "sent", 0, sent["ts"]),
        (f"daily:u-ana:{DAY.isoformat()}:1", "unknown", 1, None),
    ]

    report = deliver(engine, fake, user_id="u-ana")
    [outcome] = report.outcomes
    assert (outcome.status.value, outcome.posted, outcome.updated, outcome.deleted) == (
        "updated",
        0,
        1,
        1,
    )
    assert [m["ts"] for m in fake.dms("U0ANA")] == [sent["ts"]]
    assert len(fake.calls_to("chat.postMessage")) == 2  # the two of the earlier version

    command.downgrade(alembic_config(engine), "0013")  # and back: the rows return
    with engine.connect() as conn:
        back = conn.execute(
            text("SELECT position, channel, ts FROM delivery_messages ORDER BY position")
        ).all()
    assert [tuple(r) for r in back] == [(0, sent["channel"], sent["ts"])]
    upgrade(engine)
