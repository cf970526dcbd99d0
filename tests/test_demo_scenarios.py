"""The bundled sample portfolio: every scenario it was built for comes out of the real sweep."""

from __future__ import annotations

import gc
import json
from datetime import datetime
from pathlib import Path

from bot.db.session import make_engine
from bot.engine.sweep import run_sweep
from bot.importer import import_file

DATA = Path(__file__).resolve().parent.parent / "bot" / "data"


def test_sample_scenarios(db_url) -> None:
    scenarios = json.loads((DATA / "sample_scenarios.json").read_text())
    now = datetime.fromisoformat(scenarios["reference_time"].replace("Z", "+00:00"))
    engine = make_engine(db_url)
    import_file(engine, DATA / "sample_portfolio.json", now=now)
    result = run_sweep(engine, now, dry_run=True)
    engine.dispose()

    fired = {(c.account, r.signal) for c in result.cards for r in c.reasons}
    missing = [e for e in scenarios["expected"] if (e["account"], e["signal"]) not in fired]
    assert missing == []
    assert {s for s in {e["signal"] for e in scenarios["expected"]}} == {
        r.signal for c in result.cards for r in c.reasons
    }
    flagged = {c.account for c in result.cards}
    assert not flagged & set(scenarios["never_flagged"])
    suppressed = {(s.account, s.signal, s.evidence) for s in result.suppressed}
    for s in scenarios["suppressed"]:
        assert (s["account"], s["signal"], f"request:{s['request']}") in suppressed
    lanes = {c.lane.value for c in result.cards}
    assert lanes == {"owe_them_something", "bring_them_news", "stay_close"}


def test_many_small_sweeps_keep_the_process_the_same_size(sqlite_url: str) -> None:
    """The served app sweeps one CSM's accounts after every click. Hundreds of such sweeps in
    one process leave no more live objects behind than a few: the garbage collector, paused
    during each sweep, still gets to collect what the sweeps left (it once did not, and the
    process grew by about 4 MB per 100 sweeps)."""
    scenarios = json.loads((DATA / "sample_scenarios.json").read_text())
    now = datetime.fromisoformat(scenarios["reference_time"].replace("Z", "+00:00"))
    engine = make_engine(sqlite_url)
    import_file(engine, DATA / "sample_portfolio.json", now=now)
    with engine.connect() as conn:
        csms = list(conn.exec_driver_sql("SELECT DISTINCT csm_id FROM accounts").scalars())

    def sweeps(count: int) -> None:
        for i in range(count):
            run_sweep(engine, now, dry_run=i % 2 == 1, csm_id=csms[i % len(csms)])

    sweeps(30)
    gc.collect()
    before = len(gc.get_objects())
    sweeps(200)
    grown = len(gc.get_objects()) - before
    engine.dispose()
    assert grown < 5_000  # 200 sweeps each leaving ~180 objects for good would be 36,000
