"""The alert lifecycle: recording, idempotent reruns, snooze, dismiss, done, new evidence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from bot.db.models import Alert
from bot.db.session import make_engine
from bot.engine import triage
from bot.engine.alerts import AlertStateConflict
from tests.portfolio import NOW, Portfolio, iso, load, signals, sweep

D = timedelta(days=1)
H = timedelta(hours=1)


def alerts(url: str) -> list[tuple]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Alert.key,
                Alert.state,
                Alert.severity,
                Alert.first_fired_at,
                Alert.first_critical_at,
                Alert.snooze_until,
                Alert.cleared_at,
            ).order_by(Alert.key)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def alert_id(url: str, signal: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(select(Alert.id).where(Alert.signal == signal)).scalar_one()
    engine.dispose()
    return int(found)


def act(url: str, fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with engine.begin() as conn:
        fn(conn, *args, **kwargs)
    engine.dispose()


@pytest.fixture
def flagged(db_url, tmp_path) -> str:
    p = Portfolio()
    p.quiet_account()
    p.activity(
        "acc-1",
        NOW - 5 * D,
        kind="email",
        direction="inbound",
        thread="th",
        id="a-1",
        subject="Question",
    )
    p.add(
        "tasks",
        id="t-1",
        account="acc-1",
        title="Send deck",
        priority="urgent",
        due_at=iso(NOW - 1 * D),
    )
    load(db_url, p, tmp_path)
    return db_url


def test_sweep_records_alerts_and_a_rerun_changes_nothing(flagged) -> None:
    assert alerts(flagged) == []
    sweep(flagged, dry_run=True)
    assert alerts(flagged) == []  # a dry run writes nothing
    sweep(flagged, dry_run=False)
    first = alerts(flagged)
    assert {(k.split("|")[1], s) for k, s, *_ in first} == {
        ("unreplied_customer_email", "open"),
        ("overdue_task", "open"),
    }
    sweep(flagged, dry_run=False)
    assert alerts(flagged) == first


def test_new_alerts_get_their_own_ids_on_the_card_even_after_a_hand_made_alert(flagged) -> None:
    """The buttons of a card carry the ids of its alerts. A row someone inserted by hand with
    a high explicit id does not confuse which id belongs to which new alert."""
    engine = make_engine(flagged)
    with engine.begin() as conn:
        conn.execute(
            insert(Alert).values(
                id=1_000_000,
                key="acc-1|no_recent_touch|by-hand",
                account_id="acc-1",
                signal="no_recent_touch",
                evidence="by-hand",
                lane="stay_close",
                severity="info",
                state="open",
                first_fired_at=NOW - D,
            )
        )
    engine.dispose()
    result = sweep(flagged, dry_run=False)
    on_card = {r.signal: c.alert_ids[r.key_part] for c in result.cards for r in c.reasons}
    engine = make_engine(flagged)
    with engine.connect() as conn:
        stored = dict(
            conn.execute(select(Alert.signal, Alert.id).where(Alert.evidence != "by-hand")).all()
        )
    engine.dispose()
    assert on_card == stored
    assert set(stored) == {"unreplied_customer_email", "overdue_task"}


def test_dismissed_alert_stays_away_until_new_evidence(flagged, tmp_path) -> None:
    sweep(flagged, dry_run=False)
    act(
        flagged,
        triage.dismiss,
        alert_id(flagged, "unreplied_customer_email"),
        actor="u-ana",
        now=NOW,
        reason="spam",
    )
    later = NOW + 1 * H
    assert "unreplied_customer_email" not in signals(sweep(flagged, later, dry_run=False))
    # The customer writes again in the same thread: new evidence, a new alert.
    p = Portfolio()
    p.data.pop("teams"), p.data.pop("users")
    p.activity("acc-1", NOW - 4 * D, kind="email", direction="inbound", thread="th", id="a-2")
    load(flagged, p, tmp_path)
    reason = signals(sweep(flagged, later, dry_run=False))["unreplied_customer_email"]
    assert reason["evidence"] == "activity:a-2"


def test_snoozed_alert_returns_when_its_time_is_up(flagged) -> None:
    sweep(flagged, dry_run=False)
    until = NOW + 20 * H
    act(flagged, triage.snooze, alert_id(flagged, "overdue_task"), until, actor="u-ana", now=NOW)
    assert "overdue_task" not in signals(sweep(flagged, NOW + 1 * H, dry_run=False))
    back = sweep(flagged, until, dry_run=False)
    assert "overdue_task" in signals(back)
    states = {k.split("|")[1]: s for k, s, *_ in alerts(flagged)}
    assert states["overdue_task"] == "open"


def test_snooze_pauses_escalation(flagged) -> None:
    sweep(flagged, NOW, dry_run=False)  # Monday 15:00: the urgent task is critical from now
    act(
        flagged,
        triage.snooze,
        alert_id(flagged, "overdue_task"),
        NOW + 48 * H,
        actor="u-ana",
        now=NOW,
    )
    # Without the snooze, Wednesday 15:00 would be 2 + 8 + 6 = 16 business hours later.
    woken = sweep(flagged, NOW + 48 * H, dry_run=False)
    assert woken.cards[0].escalate is False


def test_done_on_a_touch_signal_records_a_touch(db_url, tmp_path) -> None:
    p = Portfolio()
    p.account(touch_policy="strategic")
    p.touch("acc-1", NOW - 20 * D)
    load(db_url, p, tmp_path)
    assert "no_recent_touch" in signals(sweep(db_url, dry_run=False))
    act(db_url, triage.mark_done, alert_id(db_url, "no_recent_touch"), actor="u-ana", now=NOW)
    after = sweep(db_url, NOW + 1 * H, dry_run=False)
    assert "no_recent_touch" not in signals(after)
    assert after.cards == [] or after.cards[0].last_touch_days == 0


def test_done_on_overdue_task_completes_it(flagged) -> None:
    sweep(flagged, dry_run=False)
    act(flagged, triage.mark_done, alert_id(flagged, "overdue_task"), actor="u-ana", now=NOW)
    assert "overdue_task" not in signals(sweep(flagged, NOW + 1 * H, dry_run=False))


def test_acting_on_a_changed_alert_is_a_conflict(flagged) -> None:
    sweep(flagged, dry_run=False)
    aid = alert_id(flagged, "overdue_task")
    act(flagged, triage.dismiss, aid, actor="u-ana", now=NOW)
    from bot.engine.alerts import AlertState, set_state

    with pytest.raises(AlertStateConflict):
        act(
            flagged,
            set_state,
            aid,
            AlertState.DONE,
            actor="u-mgr",
            now=NOW,
            expect=[AlertState.OPEN],
        )


def test_alerts_that_stop_firing_are_cleared(flagged, tmp_path) -> None:
    sweep(flagged, dry_run=False)
    p = Portfolio()
    p.data.pop("teams"), p.data.pop("users")
    p.activity("acc-1", NOW - 1 * H, kind="email", direction="outbound", thread="th")
    load(flagged, p, tmp_path)
    sweep(flagged, NOW + 1 * H, dry_run=False)
    cleared = {k.split("|")[1]: c for k, _s, _sev, _f, _fc, _sn, c in alerts(flagged)}
    assert cleared["unreplied_customer_email"] is not None
    assert cleared["overdue_task"] is None
