"""The daily DM against the fake Slack Web API over real HTTP: one DM per CSM and local day,
updated in place on a rerun, retried on 429 / 5xx without duplicates, re-posted when the
message is gone, split into two messages and back; and ``followup-bot deliver`` end to end."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from bot.blocks.digest import digest_payloads
from bot.db.models import Alert, Delivery, Org, OutboxMessage, Task, User
from bot.db.session import make_engine
from bot.engine.digest import select_digest
from bot.engine.facts import load_org, load_users
from bot.engine.sweep import run_sweep
from bot.service.daily_dm import deliver_digests
from bot.settings import Settings
from bot.slack.client import make_client
from bot.slack.delivery import DeliveryReport, Pacer, Pacing, Status
from tests.bot_harness import card_accounts, handled_accounts
from tests.cli import BIN
from tests.portfolio import NOW, Portfolio, iso, load
from tests.slack_fakes import TOKEN, FakeSlack

D = timedelta(days=1)
FAST = Pacing(per_channel=0, per_call=0)


def portfolio(extra_ana_accounts: int = 0) -> Portfolio:
    """Ana (Slack id and time zone imported) and Bob (an email only) with one overdue task
    each; ``extra_ana_accounts`` more accounts with overdue tasks for Ana."""
    p = Portfolio()
    p.data["users"].append(
        {"id": "u-bob", "name": "Bob CSM", "role": "csm", "team": "t-1", "email": "bob@example.com"}
    )
    owners = [("acc-1", "u-ana"), ("acc-2", "u-bob")]
    owners += [(f"acc-x{i:02d}", "u-ana") for i in range(extra_ana_accounts)]
    for acc, csm in owners:
        p.quiet_account(acc, csm=csm, name=f"Account {acc}")
        p.add(
            "tasks",
            id=f"t-{acc}",
            account=acc,
            title="Send the renewal quote",
            priority="high",
            due_at=iso(NOW - 2 * D),
        )
    return p


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("U0ANA", email="ana@example.com", tz="America/New_York")
        server.add_user("U0BOB", email="bob@example.com", tz="Europe/Berlin")
        server.add_user("U0MGR", email="mia@example.com", tz="America/Chicago")
        yield server


def _engine(url: str, p: Portfolio, tmp_path: Path) -> Iterator[Engine]:
    load(url, p, tmp_path)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(db_url, portfolio(), tmp_path)


@pytest.fixture
def sqlite_engine(sqlite_url: str, tmp_path: Path) -> Iterator[Engine]:
    yield from _engine(sqlite_url, portfolio(), tmp_path)


def client_for(fake: FakeSlack) -> Any:
    settings = Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=fake.base_url)
    return make_client(settings)


def deliver(engine: Engine, fake: FakeSlack, as_of: Any = NOW, **kwargs: Any) -> DeliveryReport:
    return deliver_digests(
        engine, client_for(fake), as_of=as_of, pacing=FAST, clock=lambda: as_of, **kwargs
    )


def statuses(report: DeliveryReport) -> dict[str, str]:
    return {o.user_id: o.status.value for o in report.outcomes}


def posts(fake: FakeSlack, channel: str | None = None) -> list[Any]:
    calls = fake.calls_to("chat.postMessage", ok=True)
    return [c for c in calls if channel is None or c.params["channel"] == channel]


def stored(engine: Engine, user_id: str) -> list[tuple[int, str | None, str | None]]:
    """(position, channel, ts) of the user's DM messages that are (or may be) in Slack: their
    outbox rows sent, or whose post is in flight (no ts yet)."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(OutboxMessage.position, OutboxMessage.channel, OutboxMessage.ts)
                .join(Delivery, Delivery.id == OutboxMessage.delivery_id)
                .where(
                    Delivery.user_id == user_id,
                    OutboxMessage.position.is_not(None),
                    OutboxMessage.status.in_(("sent", "claimed", "unknown")),
                )
                .order_by(Delivery.local_date, OutboxMessage.position)
            )
        ]


def expected_payloads(engine: Engine, user_id: str, as_of: Any = NOW) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        org = load_org(conn)
        users = load_users(conn, org.timezone)
    result = run_sweep(engine, as_of, dry_run=True)
    names = {u.id: u.name for u in users.values()}
    return digest_payloads(select_digest(result, users[user_id], org), names=names)


# --------------------------------------------------------------------- first run


def test_deliver_posts_one_dm_per_csm(engine: Engine, fake: FakeSlack) -> None:
    report = deliver(engine, fake)
    assert statuses(report) == {"u-ana": "posted", "u-bob": "posted"}
    assert report.summary() == "2 posted, 0 updated, 0 skipped, 0 failed"
    assert len(posts(fake)) == 2
    for user_id, slack_id in (("u-ana", "U0ANA"), ("u-bob", "U0BOB")):
        [post] = posts(fake, slack_id)
        [want] = expected_payloads(engine, user_id)
        assert post.params["blocks"] == want["blocks"]
        assert post.params["text"] == want["text"] and "follow-ups" in post.params["text"]
        assert post.headers["authorization"] == f"Bearer {TOKEN}"
        # The D… channel chat.postMessage returned is what is stored for chat.update.
        assert stored(engine, user_id) == [(0, fake.dm_channel(slack_id), post.response["ts"])]
    with engine.connect() as conn:
        rows = conn.execute(select(Delivery.user_id, Delivery.local_date, Delivery.status)).all()
    # Bob's local day comes from his Slack time zone (Berlin: already the 16th, 21:00).
    assert sorted(rows) == [
        ("u-ana", NOW.date(), "sent"),
        ("u-bob", NOW.date(), "sent"),
    ]


def test_a_rerun_the_same_local_day_updates_instead_of_posting(
    engine: Engine, fake: FakeSlack
) -> None:
    deliver(engine, fake)
    first = {c.params["channel"]: c.response for c in posts(fake)}
    later = NOW + timedelta(hours=2)  # 17:00 in New York, 23:00 in Berlin: the same local days
    report = deliver(engine, fake, as_of=later)
    assert statuses(report) == {"u-ana": "updated", "u-bob": "updated"}
    assert len(posts(fake)) == 2  # nothing new
    updates = fake.calls_to("chat.update", ok=True)
    assert sorted((u.params["channel"], u.params["ts"]) for u in updates) == sorted(
        (r["channel"], r["ts"]) for r in first.values()
    )
    for slack_id, user_id in (("U0ANA", "u-ana"), ("U0BOB", "u-bob")):
        [want] = expected_payloads(engine, user_id, later)
        [message] = fake.dms(slack_id)
        assert message["blocks"] == want["blocks"]


def test_the_next_local_day_gets_a_new_dm(engine: Engine, fake: FakeSlack) -> None:
    deliver(engine, fake, user_id="u-ana")
    report = deliver(engine, fake, as_of=NOW + D, user_id="u-ana")
    assert statuses(report) == {"u-ana": "posted"}
    assert len(posts(fake, "U0ANA")) == 2
    assert fake.calls_to("chat.update") == []
    assert [p for p, _, _ in stored(engine, "u-ana")] == [0, 0]


def test_two_runs_at_once_never_post_twice(engine: Engine, fake: FakeSlack) -> None:
    run_sweep(engine, NOW)  # alerts recorded once, so both runs only read them
    deliver(engine, fake, user_id="u-bob")  # Bob's Slack id is known from here on
    fake.delay("chat.postMessage", 0.3)
    reports: list[DeliveryReport] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        other = make_engine(engine.url.render_as_string(hide_password=False))
        barrier.wait()
        reports.append(deliver(other, fake, user_id="u-ana"))
        other.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(reports) == 2
    assert len(posts(fake, "U0ANA")) == 1
    outcomes = sorted(r.outcomes[0].status.value for r in reports)
    assert outcomes in (["posted", "skipped"], ["posted", "updated"])


# ----------------------------------------------------------------- Slack failing


def test_a_429_is_retried_after_retry_after_without_a_duplicate(
    sqlite_engine: Engine, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack")
    fake.fail("chat.postMessage", "ratelimited", retry_after=1)
    report = deliver(sqlite_engine, fake)
    # The fan-out's pacer waited it out (holding that DM only), not the client on its own.
    assert "rate limited; retrying in 1 s" in caplog.text
    assert statuses(report) == {"u-ana": "posted", "u-bob": "posted"}
    attempts = fake.calls_to("chat.postMessage")
    assert sorted(c.status for c in attempts) == [200, 200, 429]
    refused = next(c for c in attempts if c.status == 429)
    retry = [c for c in attempts if c.params["channel"] == refused.params["channel"]][1]
    assert retry.params == refused.params  # the same post, sent again
    assert len(fake.dms("U0ANA")) == 1 and len(fake.dms("U0BOB")) == 1


def test_a_server_error_before_posting_is_looked_up_then_posted_again(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", status=500)
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "posted"}
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [500, 200]
    assert len(fake.calls_to("conversations.history", ok=True)) == 1  # not there: post again
    assert len(fake.dms("U0ANA")) == 1


def test_a_server_error_after_posting_never_doubles_the_dm(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", status=500, carried_out=True)  # posted, then a 500
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "posted"}
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [500]  # found: not re-sent
    [dm] = fake.dms("U0ANA")
    assert stored(sqlite_engine, "u-ana") == [(0, dm["channel"], dm["ts"])]
    again = deliver(sqlite_engine, fake, user_id="u-ana")  # a rerun updates that very message
    assert statuses(again) == {"u-ana": "updated"}
    assert [m["ts"] for m in fake.dms("U0ANA")] == [dm["ts"]]


def test_invalid_blocks_is_not_retried_and_a_later_run_posts(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", "invalid_blocks")
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "failed"}
    assert report.outcomes[0].reason == "Slack answered invalid_blocks"
    assert len(fake.calls_to("chat.postMessage")) == 1  # never retried by the client
    assert stored(sqlite_engine, "u-ana") == []
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Delivery.status, Delivery.error)).one() == (
            "failed",
            "slack: invalid_blocks",
        )
    again = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(again) == {"u-ana": "posted"}
    assert len(fake.dms("U0ANA")) == 1


def test_a_lost_answer_is_found_in_the_dm_and_never_posted_again(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", "drop")  # posted, but the connection closes unanswered
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "posted"}
    assert len(fake.calls_to("chat.postMessage")) == 1  # no retry of a post that went through
    [dm] = fake.dms("U0ANA")
    assert stored(sqlite_engine, "u-ana") == [(0, dm["channel"], dm["ts"])]


def test_when_slack_cannot_tell_nothing_is_posted_until_it_can(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    fake.fail("chat.postMessage", "drop")
    fake.fail("conversations.history", "missing_scope")  # e.g. installed without im:history
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "failed"}
    assert "not posted again today" in (report.outcomes[0].reason or "")
    fake.fail("conversations.history", "missing_scope")
    again = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(again) == {"u-ana": "skipped"}
    assert len(fake.calls_to("chat.postMessage")) == 1 and len(fake.dms("U0ANA")) == 1
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Delivery.status)).scalar() == "unknown"

    later = deliver(sqlite_engine, fake, user_id="u-ana")  # Slack can tell again: found
    assert statuses(later) == {"u-ana": "updated"}
    assert len(fake.calls_to("chat.postMessage")) == 1
    [dm] = fake.dms("U0ANA")
    assert stored(sqlite_engine, "u-ana") == [(0, dm["channel"], dm["ts"])]


def test_a_post_left_in_flight_by_a_dead_run_is_posted_when_absent(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    deliver(sqlite_engine, fake, user_id="u-ana")
    [(_, channel, ts)] = stored(sqlite_engine, "u-ana")
    fake.forget_message(channel or "", ts or "")
    with sqlite_engine.begin() as conn:  # as if a run died between claiming and posting
        conn.execute(
            update(OutboxMessage).values(
                status="claimed",
                lease_token="dead",
                lease_until=NOW - timedelta(minutes=1),
                channel=None,
                ts=None,
            )
        )
        conn.execute(update(Delivery).values(status="unknown"))
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "updated"} and report.outcomes[0].posted == 1
    assert len(fake.dms("U0ANA")) == 1


def test_an_unreachable_slack_fails_cleanly_and_a_later_run_posts(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    deliver(sqlite_engine, fake, user_id="u-bob")  # Bob's Slack id is cached from here on
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    offline = make_client(Settings(SLACK_BOT_TOKEN=TOKEN, SLACK_API_URL=dead))
    report = deliver_digests(
        sqlite_engine, offline, as_of=NOW + D, user_id="u-bob", pacing=FAST, clock=lambda: NOW
    )
    [outcome] = report.outcomes
    assert outcome.status is Status.FAILED and "URLError" in (outcome.reason or "")
    assert "not posted again" not in (outcome.reason or "")  # refused: surely not posted
    again = deliver(sqlite_engine, fake, as_of=NOW + D, user_id="u-bob")
    assert statuses(again) == {"u-bob": "posted"}
    assert len(fake.dms("U0BOB")) == 2  # yesterday's and today's


def test_message_not_found_on_update_posts_anew(engine: Engine, fake: FakeSlack) -> None:
    deliver(engine, fake, user_id="u-ana")
    [(_, channel, ts)] = stored(engine, "u-ana")
    fake.forget_message(channel or "", ts or "")  # the user deleted it
    report = deliver(engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "updated"}
    assert report.outcomes[0].posted == 1 and report.outcomes[0].updated == 0
    assert [c.response.get("error") for c in fake.calls_to("chat.update")] == ["message_not_found"]
    [(_, new_channel, new_ts)] = stored(engine, "u-ana")
    assert new_channel == channel and new_ts != ts
    assert [m["ts"] for m in fake.dms("U0ANA")] == [new_ts]


def test_a_rate_limited_update_is_retried(sqlite_engine: Engine, fake: FakeSlack) -> None:
    deliver(sqlite_engine, fake, user_id="u-ana")
    fake.fail("chat.update", "ratelimited", retry_after=0)
    report = deliver(sqlite_engine, fake, user_id="u-ana")
    assert statuses(report) == {"u-ana": "updated"}
    assert [c.status for c in fake.calls_to("chat.update")] == [429, 200]
    assert len(posts(fake)) == 1


# ---------------------------------------------------------- one message or two


def _set_max_per_lane(engine: Engine, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(Org).values(digest={"max_per_lane": n}))


def _set_alert_states(engine: Engine, state: str, accounts: list[str]) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Alert)
            .where(Alert.account_id.in_(accounts))
            .values(state=state, state_changed_by="u-ana", state_changed_at=NOW)
        )


def test_a_list_that_shrinks_and_grows_again_updates_deletes_and_posts(
    sqlite_url: str, tmp_path: Path, fake: FakeSlack
) -> None:
    for engine in _engine(sqlite_url, portfolio(extra_ana_accounts=17), tmp_path):
        _set_max_per_lane(engine, 18)  # 18 cards × 3 blocks: two messages
        first = deliver(engine, fake, user_id="u-ana")
        assert first.outcomes[0].posted == 2
        assert len(fake.dms("U0ANA")) == 2
        assert [p for p, _, _ in stored(engine, "u-ana")] == [0, 1]
        listed = [a for m in fake.dms("U0ANA") for a in card_accounts(m["blocks"])]

        # Most cards done: each is one line now, and the list fits one message.
        _set_alert_states(engine, "done", listed[3:])
        shorter = deliver(engine, fake, user_id="u-ana", as_of=NOW + timedelta(minutes=5))
        out = shorter.outcomes[0]
        assert (out.status, out.posted, out.updated, out.deleted) == (Status.UPDATED, 0, 1, 1)
        assert len(fake.calls_to("chat.delete", ok=True)) == 1
        assert [p for p, _, _ in stored(engine, "u-ana")] == [0]
        [message] = fake.dms("U0ANA")
        assert card_accounts(message["blocks"]) == listed[:3]  # the same list, in its order
        assert handled_accounts(message["blocks"]) == listed[3:]

        _set_alert_states(engine, "open", listed[3:])  # undone: two messages again
        longer = deliver(engine, fake, user_id="u-ana", as_of=NOW + timedelta(minutes=10))
        out = longer.outcomes[0]
        assert (out.posted, out.updated, out.deleted) == (1, 1, 0)
        assert len(fake.dms("U0ANA")) == 2
        assert [a for m in fake.dms("U0ANA") for a in card_accounts(m["blocks"])] == listed
        assert len(posts(fake)) == 3


def test_a_rerun_the_same_day_keeps_that_days_list(engine: Engine, fake: FakeSlack) -> None:
    deliver(engine, fake, user_id="u-ana")
    [first] = fake.dms("U0ANA")
    day = first["blocks"][0]["text"]["text"]
    # Later that day a new card would come up and another is handled: the DM keeps its list.
    later = NOW + timedelta(hours=2)
    with engine.begin() as conn:
        conn.execute(update(Alert).where(Alert.account_id == "acc-1").values(state="dismissed"))
    report = deliver(engine, fake, user_id="u-ana", as_of=later)
    assert statuses(report) == {"u-ana": "updated"}
    [again] = fake.dms("U0ANA")
    assert again["blocks"][0]["text"]["text"] == day
    assert card_accounts(again["blocks"]) == [
        a for a in card_accounts(first["blocks"]) if a != "acc-1"
    ]
    assert handled_accounts(again["blocks"]) == ["acc-1"]
    assert "Dismissed" in json.dumps(again["blocks"])


# ------------------------------------------------------------------ who gets one


def test_opted_out_users_and_a_disabled_digest_get_nothing(engine: Engine, fake: FakeSlack) -> None:
    with engine.begin() as conn:
        conn.execute(update(User).where(User.id == "u-bob").values(digest={"opt_out": True}))
    report = deliver(engine, fake)
    assert statuses(report) == {"u-ana": "posted", "u-bob": "skipped"}
    bob = next(o for o in report.outcomes if o.user_id == "u-bob")
    assert bob.reason == "opted out of the daily DM"
    assert posts(fake, "U0BOB") == [] and fake.calls_to("users.lookupByEmail") == []

    with engine.begin() as conn:
        conn.execute(update(Org).values(digest={"enabled": False}))
    report = deliver(engine, fake, as_of=NOW + D)
    assert {o.reason for o in report.outcomes} == {"the org's daily DM is off"}
    assert len(posts(fake)) == 1


def test_a_user_without_cards_gets_no_dm(engine: Engine, fake: FakeSlack) -> None:
    with engine.begin() as conn:
        conn.execute(update(Task).where(Task.id == "t-acc-2").values(status="done"))
    report = deliver(engine, fake)
    bob = next(o for o in report.outcomes if o.user_id == "u-bob")
    assert (bob.status, bob.reason) == (Status.SKIPPED, "no cards today")
    assert posts(fake, "U0BOB") == []


def clocked_pacer() -> tuple[Pacer, list[float]]:
    """A pacer (1 s per channel, 0.25 s overall) on a fake clock, and the sleeps it asks for."""
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    pacer = Pacer(Pacing(per_channel=1.0, per_call=0.25), sleep=sleep, monotonic=lambda: now[0])
    return pacer, slept


def test_pacing_spaces_writes_per_channel_and_overall() -> None:
    pacer, slept = clocked_pacer()
    pacer.wait("U1")
    pacer.wait("U2")  # another channel: the overall spacing only
    pacer.wait("U1")  # the same channel: a second after its last write
    assert slept == [0.25, 0.75]


def test_a_429_holds_its_channel_only() -> None:
    pacer, slept = clocked_pacer()
    pacer.wait("U1")
    pacer.hold("U1", 5)  # Slack: 429, Retry-After: 5
    pacer.wait("U2")  # other DMs go on meanwhile
    pacer.wait("U3")
    pacer.wait("U1")  # U1's retry waits out the five seconds
    assert slept == [0.25, 0.25, 4.5]


def test_tokens_are_never_logged(
    sqlite_engine: Engine, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail("chat.postMessage", "invalid_blocks")
    deliver(sqlite_engine, fake)
    assert caplog.records  # something was logged …
    assert TOKEN not in caplog.text  # … never the token


# --------------------------------------------------------------------- the CLI


def _cli(fake: FakeSlack, url: str, *args: str, token: str | None = TOKEN) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["SLACK_API_URL"] = fake.base_url
    if token:
        env["SLACK_BOT_TOKEN"] = token
    return subprocess.run(
        [str(BIN), "--database-url", url, "deliver", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_cli_deliver_posts_then_updates(sqlite_url: str, tmp_path: Path, fake: FakeSlack) -> None:
    load(sqlite_url, portfolio(), tmp_path)
    done = _cli(fake, sqlite_url, "--as-of", iso(NOW))
    assert done.returncode == 0, done.stderr
    assert "2 posted, 0 updated, 0 skipped, 0 failed" in done.stdout
    assert "Ana CSM (u-ana)" in done.stdout
    again = _cli(fake, sqlite_url, "--as-of", iso(NOW + timedelta(hours=1)), "--user", "u-ana")
    assert again.returncode == 0, again.stderr
    assert "0 posted, 1 updated" in again.stdout
    assert len(posts(fake)) == 2
    assert TOKEN not in done.stdout + done.stderr + again.stdout + again.stderr


def test_cli_deliver_needs_the_bot_token(sqlite_url: str, fake: FakeSlack) -> None:
    done = _cli(fake, sqlite_url, token=None)
    assert done.returncode == 1
    assert "SLACK_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr
    assert fake.calls == []
