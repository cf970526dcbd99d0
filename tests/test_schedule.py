"""The daily DM at each reader's ``send_at`` in their own time zone (followup-rules.md
"Schedule"): on business days, once per local day, caught up later the same day after
downtime, never twice — across time zones and DST changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select, update

from bot.db.models import Delivery, SweepRun, User
from bot.db.session import make_engine
from bot.engine.business_time import BusinessHours
from bot.engine.facts import OrgFacts, UserFacts
from bot.engine.rules import RulesBook
from bot.engine.schedule import due_digests, due_on
from bot.service.schedule import send_due_digests
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from tests.portfolio import Portfolio, iso, load
from tests.slack_fakes import TOKEN, FakeSlack

NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


def at(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)


def user(uid: str, tz: str, **digest: Any) -> UserFacts:
    return UserFacts(uid, uid, None, f"U{uid}", "csm", None, None, tz, True, dict(digest))


ORG = OrgFacts(
    "Org",
    "America/New_York",
    BusinessHours(),
    RulesBook(None, {}),
    None,
    {"send_at": "08:30"},
    "assisted",
    None,
    None,
)
HOURS = ORG.business_hours


# ------------------------------------------------------------------ who is due


def test_due_at_send_at_in_each_readers_own_zone() -> None:
    ana, bob = user("ana", "America/New_York"), user("bob", "Europe/Berlin")
    monday_0829_ny = at(NY, 2026, 11, 16, 8, 29)
    assert due_on(ana, ORG, HOURS, monday_0829_ny) is None
    assert due_on(bob, ORG, HOURS, monday_0829_ny) is not None  # 14:29 in Berlin
    due = due_on(ana, ORG, HOURS, at(NY, 2026, 11, 16, 8, 30))
    assert due is not None and due.at == at(NY, 2026, 11, 16, 8, 30)
    assert str(due.day) == "2026-11-16"


def test_a_users_own_send_at_wins_over_the_orgs() -> None:
    early = user("ana", "America/New_York", send_at="07:00")
    assert due_on(early, ORG, HOURS, at(NY, 2026, 11, 16, 7, 0)) is not None


def test_not_on_the_weekend_of_the_readers_zone() -> None:
    bob = user("bob", "Europe/Berlin")
    # Friday 22:00 in New York is Saturday 04:00 in Berlin: Bob's Saturday, no DM.
    assert due_on(bob, ORG, HOURS, at(NY, 2026, 11, 20, 22, 0)) is None
    assert due_on(bob, ORG, HOURS, at(BERLIN, 2026, 11, 23, 8, 30)) is not None  # Monday


def test_caught_up_later_the_same_day_never_twice() -> None:
    ana = user("ana", "America/New_York")
    afternoon = at(NY, 2026, 11, 16, 16, 0)
    [due] = due_digests([ana], ORG, afternoon, delivered=set())
    assert due.user.id == "ana"
    assert due_digests([ana], ORG, afternoon, delivered={("ana", due.day)}) == []
    assert due_digests([ana], ORG, at(NY, 2026, 11, 17, 8, 30), {("ana", due.day)}) != []


def test_opted_out_inactive_and_digest_off_are_never_due() -> None:
    now = at(NY, 2026, 11, 16, 9, 0)
    readers = [
        user("out", "America/New_York", opt_out=True),
        replace(user("gone", "America/New_York"), active=False),
    ]
    assert due_digests(readers, ORG, now, set()) == []
    off = replace(ORG, digest={"enabled": False})
    assert due_digests([user("ana", "America/New_York")], off, now, set()) == []


def test_the_same_local_hour_across_a_dst_change() -> None:
    ana = user("ana", "America/New_York")
    before = due_on(ana, ORG, HOURS, at(NY, 2027, 3, 12, 9, 0))  # Friday, winter time
    after = due_on(ana, ORG, HOURS, at(NY, 2027, 3, 15, 9, 0))  # Monday, summer time
    assert before is not None and before.at == datetime(2027, 3, 12, 13, 30, tzinfo=UTC)
    assert after is not None and after.at == datetime(2027, 3, 15, 12, 30, tzinfo=UTC)


EVERY_DAY = replace(HOURS, days=(1, 2, 3, 4, 5, 6, 7))  # DST changes fall on Sundays


def test_a_send_at_in_the_spring_forward_gap_is_due_an_hour_later() -> None:
    night = user("owl", "America/New_York", send_at="02:30")
    # 2027-03-14: 02:00 jumps to 03:00 in New York; 02:30 does not exist that day.
    assert due_on(night, ORG, EVERY_DAY, at(NY, 2027, 3, 14, 3, 15)) is None
    due = due_on(night, ORG, EVERY_DAY, at(NY, 2027, 3, 14, 3, 30))
    assert due is not None and due.at == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_a_send_at_in_the_fall_back_overlap_sends_once() -> None:
    early = user("early", "America/New_York", send_at="01:30")
    # 2026-11-01: 01:00–02:00 happens twice in New York.
    first = datetime(2026, 11, 1, 1, 30, tzinfo=NY)  # 05:30 UTC, summer time
    [due] = due_digests([early], replace(ORG, business_hours=EVERY_DAY), first, set())
    assert due.at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    again = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY)  # 06:30 UTC, winter time
    org = replace(ORG, business_hours=EVERY_DAY)
    assert due_digests([early], org, again, {("early", due.day)}) == []


# ------------------------------------------------------------------ the job


def portfolio(now: datetime) -> Portfolio:
    """Ana (New York) and Bob (Berlin, from Slack), each with an overdue task; Cy (New York)
    with nothing to do."""
    p = Portfolio()
    p.data["users"] += [
        {"id": "u-bob", "name": "Bob", "role": "csm", "team": "t-1", "email": "bob@example.com"},
        {"id": "u-cy", "name": "Cy", "role": "csm", "team": "t-1", "timezone": "America/New_York",
         "slack_user_id": "U0CY"},
    ]  # fmt: skip
    for acc, csm in (("acc-1", "u-ana"), ("acc-2", "u-bob")):
        p.quiet_account(acc, csm=csm, name=f"Account {acc}")
        p.add("tasks", id=f"t-{acc}", account=acc, title="Quote", priority="high",
              due_at=iso(now - timedelta(days=2)))  # fmt: skip
    p.quiet_account("acc-3", csm="u-cy", name="Quiet Co")
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        server.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
        server.add_user("U0CY", email="cy@example.com", tz="America/New_York")
        yield server


MONDAY = at(NY, 2026, 11, 16, 0, 0)


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, portfolio(MONDAY), tmp_path)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def tick(engine: Engine, fake: FakeSlack, now: datetime) -> dict[str, str]:
    client = make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))
    report = send_due_digests(
        engine, client, now, pacing=Pacing(per_channel=0, per_call=0), clock=lambda: now
    )
    return {o.user_id: o.status.value for o in report.outcomes}


def posted(fake: FakeSlack) -> list[str]:
    return [c.params["channel"] for c in fake.calls_to("chat.postMessage", ok=True)]


def sweeps(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SweepRun)).scalar_one())


def test_each_reader_gets_their_dm_at_their_hour_once(engine: Engine, fake: FakeSlack) -> None:
    assert tick(engine, fake, at(BERLIN, 2026, 11, 16, 8, 31)) == {"u-bob": "posted"}
    assert posted(fake) == ["U0BOB"]
    # New York's 08:31: Ana's turn; Cy has nothing to do and is skipped for the day.
    assert tick(engine, fake, at(NY, 2026, 11, 16, 8, 31)) == {
        "u-ana": "posted",
        "u-cy": "skipped",
    }
    assert posted(fake) == ["U0BOB", "U0ANA"]
    swept = sweeps(engine)
    for minutes in (5, 10, 300):  # later rounds the same day: nothing due, nothing swept
        assert tick(engine, fake, at(NY, 2026, 11, 16, 8, 31) + timedelta(minutes=minutes)) == {}
    assert posted(fake) == ["U0BOB", "U0ANA"] and sweeps(engine) == swept
    # The next local day, each gets the next DM.
    tick(engine, fake, at(NY, 2026, 11, 17, 9, 0))
    assert sorted(posted(fake)) == ["U0ANA", "U0ANA", "U0BOB", "U0BOB"]


def test_after_downtime_the_dm_is_caught_up_the_same_day(engine: Engine, fake: FakeSlack) -> None:
    assert tick(engine, fake, at(NY, 2026, 11, 16, 16, 45)) == {
        "u-ana": "posted",
        "u-bob": "posted",  # 22:45 in Berlin: still Bob's Monday
        "u-cy": "skipped",
    }
    assert tick(engine, fake, at(NY, 2026, 11, 16, 18, 10)) == {}  # Berlin's Tuesday 00:10
    assert sorted(posted(fake)) == ["U0ANA", "U0BOB"]


def test_a_refused_post_is_tried_again_at_most_three_times(engine: Engine, fake: FakeSlack) -> None:
    with engine.begin() as conn:
        conn.execute(update(User).where(User.id != "u-ana").values(active=False))
    fake.fail("chat.postMessage", "invalid_blocks", times=10)
    start = at(NY, 2026, 11, 16, 9, 0)
    outcomes = [tick(engine, fake, start + timedelta(minutes=5 * n)) for n in range(5)]
    assert outcomes[:3] == [{"u-ana": "failed"}] * 3
    assert outcomes[3:] == [{}, {}]  # given up for the day
    with engine.connect() as conn:
        attempts = conn.execute(select(Delivery.attempts)).scalar_one()
    assert attempts == 3
