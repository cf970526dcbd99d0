"""Finding each user in Slack (users.lookupByEmail, users.info) and caching it, over real HTTP
against the fake Slack Web API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bot.db.models import User
from bot.db.session import make_engine
from bot.engine.facts import load_users
from bot.service.daily_dm import deliver_digests
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import Pacing
from bot.slack.users import resolve_users, user_for_slack_id
from tests.portfolio import NOW, Portfolio, load
from tests.slack_fakes import TOKEN, FakeSlack


def portfolio() -> Portfolio:
    p = Portfolio()  # u-ana: Slack id + time zone; u-mgr: Slack id, no time zone
    p.data["users"] += [
        {"id": "u-bob", "name": "Bob", "role": "csm", "team": "t-1", "email": "Bob@Example.com"},
        {"id": "u-nobody", "name": "Nobody", "role": "csm", "team": "t-1"},
        {"id": "u-gone", "name": "Gone", "role": "csm", "team": "t-1", "email": "gone@x.test"},
        {"id": "u-left", "name": "Left", "role": "csm", "team": "t-1", "email": "left@x.test"},
    ]
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        server.add_user("U0MGR", email="mia@example.com", tz="America/Chicago")
        server.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
        server.add_user("U0LEFT", email="left@x.test", deleted=True)
        yield server


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, portfolio(), tmp_path)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def client(fake: FakeSlack) -> Any:
    return make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url))


def row(engine: Engine, user_id: str) -> tuple[str | None, str | None]:
    with engine.connect() as conn:
        found = conn.execute(
            select(User.slack_user_id, User.slack_timezone).where(User.id == user_id)
        ).one()
    return found[0], found[1]


def test_lookup_by_email_is_used_once_and_cached(engine: Engine, fake: FakeSlack) -> None:
    found = resolve_users(engine, client(fake), ["u-bob"])["u-bob"]
    assert (found.slack_user_id, found.timezone, found.looked_up) == (
        "U0BOB",
        "Europe/Berlin",
        True,
    )
    [lookup] = fake.calls_to("users.lookupByEmail")
    assert lookup.params["email"] == "Bob@Example.com"
    # lookupByEmail returned the whole user, tz included: no users.info needed.
    assert fake.calls_to("users.info") == []
    assert row(engine, "u-bob") == ("U0BOB", "Europe/Berlin")

    again = resolve_users(engine, client(fake), ["u-bob"])["u-bob"]
    assert (again.slack_user_id, again.timezone, again.looked_up) == (
        "U0BOB",
        "Europe/Berlin",
        False,
    )
    assert len(fake.calls) == 1  # nothing asked the second time
    with engine.connect() as conn:
        assert load_users(conn, "UTC")["u-bob"].timezone == "Europe/Berlin"


def test_time_zone_from_users_info_when_the_import_gives_none(
    engine: Engine, fake: FakeSlack
) -> None:
    found = resolve_users(engine, client(fake), ["u-mgr", "u-ana"])
    assert found["u-mgr"].timezone == "America/Chicago"
    assert found["u-ana"].timezone == "America/New_York"  # imported: Slack not asked
    [info] = fake.calls_to("users.info")
    assert info.params["user"] == "U0MGR"
    assert row(engine, "u-mgr") == ("U0MGR", "America/Chicago")
    resolve_users(engine, client(fake), ["u-mgr"])
    assert len(fake.calls_to("users.info")) == 1  # cached


def test_the_imported_time_zone_wins_over_slack(engine: Engine, fake: FakeSlack) -> None:
    with engine.begin() as conn:
        conn.execute(update(User).where(User.id == "u-bob").values(timezone="Asia/Tokyo"))
    found = resolve_users(engine, client(fake), ["u-bob"])["u-bob"]
    assert found.timezone == "Asia/Tokyo"
    with engine.connect() as conn:
        assert load_users(conn, "UTC")["u-bob"].timezone == "Asia/Tokyo"


def test_unreachable_users_are_reported_with_a_warning(
    engine: Engine, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.users")
    found = resolve_users(engine, client(fake), ["u-nobody", "u-gone", "u-left", "u-missing"])
    assert "u-missing" not in found
    assert {uid: (i.slack_user_id, i.problem) for uid, i in found.items()} == {
        "u-nobody": (None, "no Slack user id and no email to look it up"),
        "u-gone": (None, "no Slack user has their email"),
        "u-left": (None, "their Slack account is deactivated"),
    }
    warned = " ".join(r.getMessage() for r in caplog.records)
    for uid in ("u-nobody", "u-gone", "u-left"):
        assert uid in warned
    assert row(engine, "u-gone") == (None, None)


def test_deliver_skips_and_reports_users_it_cannot_reach(
    engine: Engine, fake: FakeSlack, tmp_path: Path
) -> None:
    p = portfolio()
    p.account("acc-n", csm="u-nobody")
    p.add(
        "tasks", id="t-n", account="acc-n", title="Call back", priority="high", due_at="2026-11-10"
    )
    load(engine.url.render_as_string(hide_password=False), p, tmp_path)
    report = deliver_digests(
        engine, client(fake), as_of=NOW, user_id="u-nobody", pacing=Pacing(0, 0)
    )
    [outcome] = report.outcomes
    assert (outcome.status.value, outcome.reason) == (
        "skipped",
        "no Slack user id and no email to look it up",
    )
    assert fake.calls_to("chat.postMessage") == []


def test_a_slack_user_is_found_by_their_profile_email(engine: Engine, fake: FakeSlack) -> None:
    assert user_for_slack_id(engine, client(fake), "U0ANA") == "u-ana"  # by slack_user_id
    assert fake.calls == []
    assert user_for_slack_id(engine, client(fake), "U0BOB") == "u-bob"  # by email, then linked
    assert row(engine, "u-bob") == ("U0BOB", "Europe/Berlin")
    assert user_for_slack_id(engine, client(fake), "U0BOB") == "u-bob"
    assert len(fake.calls_to("users.info")) == 1
    fake.add_user("U0NEW", email="new@elsewhere.test")
    assert user_for_slack_id(engine, client(fake), "U0NEW") is None
    assert user_for_slack_id(engine, client(fake), "U0UNKNOWN") is None
