"""A big sweep split between worker processes gives exactly what one process gives: the same
cards and suppressions, and the same alerts recorded (on both backends)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, func, select

from bot.db.models import Account, Alert
from bot.db.session import make_engine
from bot.engine.facts import scope_ranges
from bot.engine.sweep import run_sweep
from bot.engine.triage import exclude_account
from bot.importer import import_file
from tests.test_demo_scenarios import DATA


def test_a_sweep_split_between_processes_matches_one_process(db_url: str) -> None:
    sample = json.loads((DATA / "sample_portfolio.json").read_text())
    now = datetime.fromisoformat(sample["reference_time"].replace("Z", "+00:00"))
    engine = make_engine(db_url)
    import_file(engine, DATA / "sample_portfolio.json", now=now)

    alone = run_sweep(engine, now, dry_run=True, workers=1)
    split = run_sweep(engine, now, dry_run=True, workers=3, parallel_from=1)
    assert alone.cards and split.to_json() == alone.to_json()
    assert split.accounts == alone.accounts

    recorded = run_sweep(engine, now, workers=3, parallel_from=1)  # records the alerts
    assert recorded.alerts_new == len(
        {(c.account, r.key_part) for c in alone.cards for r in c.reasons}
    )
    again = run_sweep(engine, now, workers=1)  # one process finds nothing to change
    assert (again.alerts_new, again.alerts_cleared) == (0, 0)
    assert again.to_json() == recorded.to_json()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Alert)).scalar() == recorded.alerts_new
        count, ranges = scope_ranges(conn, 3)
        in_scope = sorted(
            conn.execute(
                select(Account.id).where(
                    Account.status.is_(None) | Account.status.not_in(["churned", "inactive"])
                )
            ).scalars()
        )
    # three ranges of about as many accounts each, covering every account in scope (the
    # excluded ones too: the sweep of their range skips them)
    assert count == len(in_scope) and len(ranges) == 3
    assert ranges[0][0] == in_scope[0] and ranges[-1][1] == in_scope[-1]
    sizes = [sum(1 for a in in_scope if first <= a <= last) for first, last in ranges]
    assert sum(sizes) == count and max(sizes) - min(sizes) <= 1

    # Excluded accounts' alerts clear, whether the account's id lies inside a worker's range
    # or before the first one.
    flagged = sorted({c.account for c in recorded.cards})
    gone = [flagged[0], flagged[len(flagged) // 2]]
    with engine.begin() as conn:
        for account in gone:
            exclude_account(conn, account, reason="test", until=None, actor=None, now=now)
    open_alerts = {account: _uncleared(engine, account) for account in gone}
    assert all(open_alerts.values())
    later = run_sweep(engine, now, workers=3, parallel_from=1)
    assert later.alerts_cleared == sum(open_alerts.values())
    assert [_uncleared(engine, account) for account in gone] == [0, 0]
    assert not {c.account for c in later.cards} & set(gone)
    engine.dispose()


def _uncleared(engine: Engine, account: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(Alert)
                .where(Alert.account_id == account, Alert.cleared_at.is_(None))
            ).scalar()
            or 0
        )
