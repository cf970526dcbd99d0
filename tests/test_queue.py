"""The stored queue (followup-rules.md "Surfaces"): a recording sweep stores each flagged
account's card, exactly the sweep JSON card; a dry run stores nothing; a later sweep replaces
the cards of the accounts it looked at; surfaces read the cards with the alerts' states now."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from bot.db.models import Alert, QueueCard, Task
from bot.db.session import make_engine
from bot.engine import triage
from bot.engine.facts import load_org
from bot.engine.incremental import run_incremental_sweep
from bot.engine.queue import load_queue
from bot.engine.sweep import run_sweep
from tests.portfolio import NOW, Portfolio, iso, load

D = timedelta(days=1)


def portfolio() -> Portfolio:
    p = Portfolio()
    p.data["users"].append(
        {"id": "u-bob", "name": "Bob CSM", "role": "csm", "team": "t-1", "timezone": "UTC"}
    )
    for acc, csm in (("acc-1", "u-ana"), ("acc-2", "u-ana"), ("acc-3", "u-bob")):
        p.quiet_account(acc, name=f"Account {acc}", csm=csm)
        p.add(
            "tasks",
            id=f"t-{acc}",
            account=acc,
            title=f"Quote for {acc}",
            priority="high",
            due_at=iso(NOW - 2 * D),
        )
    p.quiet_account("acc-4", name="Quiet Co")
    return p


@pytest.fixture
def engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    load(db_url, portfolio(), tmp_path)
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def stored(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        return {a: dict(c) for a, c in conn.execute(select(QueueCard.account_id, QueueCard.card))}


def queue(engine: Engine, user_id: str | None, now=NOW) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        org = load_org(conn)
        return [c.account for c in load_queue(conn, org, user_id, now, now.date()).cards]


def test_a_recording_sweep_stores_each_flagged_accounts_sweep_json_card(engine: Engine) -> None:
    result = run_sweep(engine, NOW)
    cards = stored(engine)
    assert sorted(cards) == ["acc-1", "acc-2", "acc-3"]  # Quiet Co is not flagged
    for card in result.cards:
        kept = cards[card.account]
        want = card.to_json()
        assert {k: kept[k] for k in want if k != "reasons"} == {
            k: v for k, v in want.items() if k != "reasons"
        }
        assert [{k: r[k] for k in ("signal", "group", "severity", "detail", "evidence")}
                for r in kept["reasons"]] == want["reasons"]  # fmt: skip
        assert kept["alert_ids"] == card.alert_ids and card.alert_ids  # the buttons' alerts


def test_a_dry_run_stores_nothing(engine: Engine) -> None:
    run_sweep(engine, NOW, dry_run=True)
    assert stored(engine) == {}


def test_a_later_sweep_drops_the_cards_of_accounts_no_longer_flagged(engine: Engine) -> None:
    run_sweep(engine, NOW)
    with engine.begin() as conn:
        conn.execute(update(Task).where(Task.id == "t-acc-2").values(status="done"))
    run_sweep(engine, NOW + timedelta(hours=1))
    assert sorted(stored(engine)) == ["acc-1", "acc-3"]


def test_a_sweep_of_one_csm_replaces_only_their_cards(engine: Engine) -> None:
    run_sweep(engine, NOW)
    with engine.begin() as conn:
        conn.execute(update(Task).where(Task.id.in_(["t-acc-2", "t-acc-3"])).values(status="done"))
    run_sweep(engine, NOW + timedelta(hours=1), csm_id="u-ana")
    assert sorted(stored(engine)) == ["acc-1", "acc-3"]  # Bob's card waits for his sweep


def test_the_queue_is_as_of_the_last_sweep_that_vouched_for_it(engine: Engine) -> None:
    def as_of(user_id: str) -> object:
        with engine.connect() as conn:
            return load_queue(conn, load_org(conn), user_id, later, later.date()).as_of

    later = NOW + timedelta(hours=3)
    run_sweep(engine, NOW)
    # an incremental sweep an hour later finds nothing to re-evaluate, yet the Home and
    # /followup today say the queue is as of then: every card was shown not to change
    assert run_incremental_sweep(engine, NOW + timedelta(hours=1)).evaluated == 0
    assert as_of("u-ana") == as_of("u-bob") == NOW + timedelta(hours=1)
    # Ana's Refresh re-sweeps her accounts only: her queue is newer, Bob's is not
    run_sweep(engine, NOW + timedelta(hours=2), csm_id="u-ana")
    assert as_of("u-ana") == NOW + timedelta(hours=2)
    assert as_of("u-bob") == NOW + timedelta(hours=1)


def test_the_queue_leaves_out_what_was_handled_since_and_excluded_accounts(engine: Engine) -> None:
    run_sweep(engine, NOW)
    assert queue(engine, "u-ana") == ["acc-1", "acc-2"]
    assert queue(engine, None) == ["acc-1", "acc-2", "acc-3"]
    with engine.begin() as conn:
        [alert_id] = conn.execute(select(Alert.id).where(Alert.account_id == "acc-1")).scalars()
        triage.snooze(conn, alert_id, NOW + 2 * D, actor="u-ana", now=NOW)
        triage.exclude_account(conn, "acc-3", actor=None, now=NOW, reason=None, until=None)
    assert queue(engine, "u-ana") == ["acc-2"]
    assert queue(engine, "u-ana", NOW + 3 * D) == ["acc-1", "acc-2"]  # the snooze is over
    assert queue(engine, None) == ["acc-2"]


def test_concurrent_recording_sweeps_both_succeed_as_if_one_after_the_other(
    engine: Engine,
) -> None:
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            run_sweep(engine, NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        keys = list(conn.execute(select(Alert.key)).scalars())
    assert len(keys) == len(set(keys)) == 3
    assert sorted(stored(engine)) == ["acc-1", "acc-2", "acc-3"]
