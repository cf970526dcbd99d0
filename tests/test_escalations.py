"""Escalations and snooze wake-ups as a scheduler round sends them, against the fake Slack Web
API on SQLite and PostgreSQL: when (business hours in the CSM's zone, across nights, weekends
and a DST change), once (two rounds; two rounds at once on PostgreSQL), where (the escalation
channel, the manager's DM, the fallback CSM, the admins), what fails visibly (a manager with no
Slack user, a channel the bot is not in), the one reminder in the thread, and the "snoozed
follow-ups are back" DM."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.db.models import Alert, AuditLog, Escalation
from bot.db.session import make_engine
from bot.engine.alerts import AlertState, set_state
from bot.engine.business_time import local_date
from bot.engine.queue import load_queue
from bot.service.people import load_people
from bot.service.rounds import RoundReport, run_round
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.portfolio import Portfolio, iso, load, ny
from tests.slack_fakes import TOKEN, Call, FakeSlack

FAST = Pacing(per_channel=0, per_call=0)
H = timedelta(hours=1)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        server.add_user("U0MGR", email="mia@example.com", tz="America/Chicago")
        server.add_user("U0ADA", email="ada@example.com", tz="America/Los_Angeles")
        server.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
        yield server


def portfolio(due: datetime, *, priority: str = "urgent", accounts: int = 1) -> Portfolio:
    """Ana (New York) owns Globex (and more accounts), each with an open task due at ``due``
    (urgent: a critical alert); Mia manages the team; Ada is an admin."""
    p = Portfolio()
    p.data["users"].append(
        {"id": "u-ada", "name": "Ada Admin", "role": "admin", "slack_user_id": "U0ADA"}
    )
    names = ["Globex", "Initech", "Umbrella"]
    for n in range(accounts):
        acc = f"acc-{n + 1}"
        p.quiet_account(acc, name=names[n])
        p.add("tasks", id=f"t-{n + 1}", account=acc, title="Send the renewal quote",
              priority=priority, due_at=iso(due))  # fmt: skip
    return p


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def client_for(fake: FakeSlack) -> Any:
    return make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))


def tick(engine: Engine, fake: FakeSlack, now: datetime) -> RoundReport:
    report = run_round(engine, client_for(fake), now, pacing=FAST, clock=lambda: now)
    assert report.failed == {}, report.failed
    return report


def posts(fake: FakeSlack, prefix: str) -> list[Call]:
    """The successful posts whose outbox key starts with ``prefix``."""
    return [
        c
        for c in fake.calls_to("chat.postMessage", ok=True)
        if str(
            ((c.params.get("metadata") or {}).get("event_payload") or {}).get("key", "")
        ).startswith(prefix)
    ]


def escalations(fake: FakeSlack) -> list[Call]:
    return posts(fake, "escalation:")


def text_of(call: Call) -> str:
    return str(call.params.get("text")) + str(call.params.get("blocks"))


def audit(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(AuditLog.subject, AuditLog.details).where(AuditLog.action == action)
            )
        )


# ------------------------------------------------------------------ when


FRIDAY = ny(2026, 11, 20, 15, 0)  # first seen critical: Friday 15:00 in New York
TUESDAY = ny(2026, 11, 24, 15, 0)  # 2 h Friday + 8 h Monday + 6 h Tuesday = 16 business hours


def test_escalates_after_16_business_hours_across_the_weekend_once(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    load(db_url, portfolio(FRIDAY - 24 * H), tmp_path)
    for moment in (
        FRIDAY,
        ny(2026, 11, 20, 23, 0),  # Friday night
        ny(2026, 11, 22, 12, 0),  # Sunday
        ny(2026, 11, 23, 17, 0),  # Monday close: 10 business hours
        TUESDAY - timedelta(minutes=1),
    ):
        tick(engine, fake, moment)
    assert escalations(fake) == []

    report = tick(engine, fake, TUESDAY)
    tick(engine, fake, TUESDAY + timedelta(minutes=1))
    tick(engine, fake, ny(2026, 11, 25, 10, 0))

    [sent] = escalations(fake)
    assert sent.response["channel"] == "D0MGR"  # Mia's DM: Ana's team's manager
    assert "Globex" in text_of(sent) and "Ana CSM" in text_of(sent)
    for button in ("Acknowledge", "Reassign", "Nudge CSM"):
        assert button in text_of(sent)
    assert any("escalated Globex" in line for line in report.lines())
    with engine.connect() as conn:
        assert (
            conn.execute(select(Alert.escalated_at).where(Alert.signal == "overdue_task")).scalar()
            == TUESDAY
        )
        assert conn.execute(select(Escalation.reason)).scalars().all() == ["sla"]


def test_business_hours_count_in_the_csm_zone_across_dst(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    # Friday 12 March 2027 15:00 EST; New York moves to EDT on Sunday 14 March. 16 business
    # hours run out on Tuesday 16 March 15:00 EDT = 19:00 UTC (20:00 UTC under a fixed offset).
    first = ny(2027, 3, 12, 15, 0)
    load(db_url, portfolio(first - 24 * H), tmp_path)
    tick(engine, fake, first)
    tick(engine, fake, datetime(2027, 3, 16, 18, 59, tzinfo=UTC))
    assert escalations(fake) == []
    tick(engine, fake, datetime(2027, 3, 16, 19, 0, tzinfo=UTC))
    assert len(escalations(fake)) == 1


def test_a_snoozed_alert_does_not_escalate_and_its_clock_pauses(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    load(db_url, portfolio(FRIDAY - 24 * H), tmp_path)
    tick(engine, fake, FRIDAY)
    monday = ny(2026, 11, 23, 9, 0)
    with engine.begin() as conn:
        alert_id = conn.execute(select(Alert.id).where(Alert.signal == "overdue_task")).scalar()
        assert alert_id is not None
        set_state(conn, alert_id, AlertState.SNOOZED, actor="u-ana", now=monday,
                  snooze_until=monday + 24 * H)  # fmt: skip
    tick(engine, fake, TUESDAY)  # 16 business hours since Friday, but 8 of them snoozed
    assert escalations(fake) == []
    tick(engine, fake, ny(2026, 11, 25, 15, 0))  # Wednesday 15:00: 16 unsnoozed hours
    assert len(escalations(fake)) == 1


def test_a_tier_drop_escalates_at_once(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(FRIDAY, priority="low")
    p.add("health_scores", account="acc-1", at=iso(FRIDAY - 240 * H), score=85)
    p.add("health_scores", account="acc-1", at=iso(FRIDAY - 24 * H), score=65)
    load(db_url, p, tmp_path)
    tick(engine, fake, FRIDAY)
    [sent] = escalations(fake)
    assert "health tier just dropped" in text_of(sent)
    with engine.connect() as conn:
        assert conn.execute(select(Escalation.reason)).scalars().all() == ["tier_drop"]


@pytest.mark.postgres
def test_two_rounds_at_once_escalate_once(pg_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    load(pg_url, portfolio(FRIDAY - 24 * H), tmp_path)
    engines = [make_engine(pg_url) for _ in range(2)]
    try:
        tick(engines[0], fake, FRIDAY)
        fake.delay("chat.postMessage", 0.2)  # the rounds overlap
        threads = [threading.Thread(target=tick, args=(e, fake, TUESDAY)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(escalations(fake)) == 1
        with engines[0].connect() as conn:
            assert len(conn.execute(select(Escalation.id)).all()) == 1
    finally:
        for e in engines:
            e.dispose()


# ------------------------------------------------------------------ where


def test_the_escalation_channel_gets_it_with_the_manager_mentioned(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(FRIDAY - 24 * H)
    p.data["org"]["escalation_channel"] = "C0ESC"
    load(db_url, p, tmp_path)
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY)
    [sent] = escalations(fake)
    assert sent.response["channel"] == "C0ESC"
    assert "<@U0MGR>" in text_of(sent)
    assert fake.dms("U0MGR") == []


def test_an_account_with_no_csm_goes_to_the_fallback_csm_then_the_admins(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(FRIDAY - 24 * H)
    p.data["accounts"][0]["csm"] = None
    p.data["org"].pop("fallback_csm")
    load(db_url, p, tmp_path)
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY)
    [sent] = escalations(fake)
    assert sent.response["channel"] == "D0ADA"  # no CSM and no fallback CSM: the admins


def test_an_account_with_no_csm_goes_to_the_fallback_csm(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(FRIDAY - 24 * H)
    p.data["accounts"][0]["csm"] = None
    load(db_url, p, tmp_path)  # the org's fallback CSM is Ana
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY)
    [sent] = escalations(fake)
    assert sent.response["channel"] == "D0ANA"
    assert "no CSM" in text_of(sent)
    assert "Nudge CSM" not in text_of(sent)


def test_a_manager_with_no_slack_user_fails_visibly_and_is_audited(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(FRIDAY - 24 * H)
    p.data["users"][0].pop("slack_user_id")  # Mia: no Slack id, no email
    load(db_url, p, tmp_path)
    tick(engine, fake, FRIDAY)
    report = tick(engine, fake, TUESDAY)
    assert escalations(fake) == []
    assert any("u-mgr has no Slack user" in line for line in report.lines())
    [(subject, details)] = audit(engine, "outbox.failed")
    assert subject.startswith("escalation:") and "u-mgr has no Slack user" in details["error"]
    tick(engine, fake, TUESDAY + H)  # failed for good: not tried again, not escalated again
    assert len(audit(engine, "outbox.failed")) == 1


def test_a_channel_the_bot_is_not_in_fails_visibly_and_is_audited(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    p = portfolio(FRIDAY - 24 * H)
    p.data["org"]["escalation_channel"] = "C0ESC"
    load(db_url, p, tmp_path)
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY - H)  # the day's DM goes out
    fake.fail("chat.postMessage", "not_in_channel")
    report = tick(engine, fake, TUESDAY)
    assert any("not_in_channel" in line and "invite it" in line for line in report.lines())
    [(_, details)] = audit(engine, "outbox.failed")
    assert "not_in_channel" in details["error"]


# ------------------------------------------------------------------ the reminder


def test_one_reminder_in_the_thread_eight_business_hours_later(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    load(db_url, portfolio(FRIDAY - 24 * H), tmp_path)
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY)
    [parent] = escalations(fake)
    ts = parent.response["ts"]
    tick(engine, fake, ny(2026, 11, 25, 14, 59))  # 7h59 of business time later
    assert posts(fake, "escalation-reminder:") == []
    tick(engine, fake, ny(2026, 11, 25, 15, 0))  # Wednesday 15:00: 8 business hours
    tick(engine, fake, ny(2026, 11, 26, 15, 0))
    [reminder] = posts(fake, "escalation-reminder:")
    assert reminder.params["thread_ts"] == ts and reminder.response["channel"] == "D0MGR"
    assert "nobody has acknowledged" in text_of(reminder)


def test_an_acknowledged_escalation_gets_no_reminder(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    from bot.service.escalations import acknowledge

    load(db_url, portfolio(FRIDAY - 24 * H), tmp_path)
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY)
    with engine.connect() as conn:
        esc_id = conn.execute(select(Escalation.id)).scalar()
    assert esc_id is not None
    acknowledge(engine, esc_id, "u-mgr", TUESDAY + H)
    tick(engine, fake, ny(2026, 11, 26, 15, 0))
    assert posts(fake, "escalation-reminder:") == []


def test_a_follow_up_handled_since_gets_no_reminder(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    load(db_url, portfolio(FRIDAY - 24 * H), tmp_path)
    tick(engine, fake, FRIDAY)
    tick(engine, fake, TUESDAY)
    with engine.begin() as conn:
        alert_id = conn.execute(select(Escalation.alert_id)).scalar()
        assert alert_id is not None
        set_state(conn, alert_id, AlertState.DONE, actor="u-ana", now=TUESDAY + H)
    tick(engine, fake, ny(2026, 11, 26, 15, 0))
    assert posts(fake, "escalation-reminder:") == []


# ------------------------------------------------------------------ snooze wake-ups


def test_snoozed_follow_ups_come_back_with_one_dm_per_csm(
    db_url: str, engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    monday = ny(2026, 11, 16, 15, 0)
    p = portfolio(monday - 24 * H, priority="high", accounts=3)
    p.data["users"].append(
        {"id": "u-bob", "name": "Bob CSM", "role": "csm", "team": "t-1", "slack_user_id": "U0BOB"}
    )
    p.data["accounts"][2]["csm"] = "u-bob"  # Umbrella is Bob's
    load(db_url, p, tmp_path)
    tick(engine, fake, monday)
    with engine.begin() as conn:
        for alert_id in conn.execute(
            select(Alert.id).where(Alert.signal == "overdue_task")
        ).scalars():
            set_state(conn, alert_id, AlertState.SNOOZED, actor="u-ana", now=monday,
                      snooze_until=monday + H)  # fmt: skip

    def queue(now: datetime) -> list[str]:
        with engine.connect() as conn:
            people = load_people(conn)
            view = load_queue(conn, people.org, "u-ana", now, local_date(now, "America/New_York"))
        return [
            c.account_name for c in view.cards if any(r.signal == "overdue_task" for r in c.reasons)
        ]

    tick(engine, fake, monday + 30 * timedelta(minutes=1))
    assert posts(fake, "wakeup:") == [] and queue(monday + 30 * timedelta(minutes=1)) == []
    back = monday + H + timedelta(minutes=1)
    tick(engine, fake, back)
    tick(engine, fake, back + timedelta(minutes=1))
    [dm, bobs] = sorted(posts(fake, "wakeup:"), key=lambda c: str(c.response["channel"]))
    assert (dm.response["channel"], bobs.response["channel"]) == ("D0ANA", "D0BOB")
    assert "2 snoozed follow-ups are back" in text_of(dm)
    assert "1 snoozed follow-up is back" in text_of(bobs) and "Umbrella" in text_of(bobs)
    assert "Globex" in text_of(dm) and "Initech" in text_of(dm)
    assert sorted(queue(back)) == ["Globex", "Initech"]
