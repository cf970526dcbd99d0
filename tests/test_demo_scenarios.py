"""The bundled sample portfolio: every scenario it was built for comes out of the real sweep."""

from __future__ import annotations

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
