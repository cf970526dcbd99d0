"""One sweep in a fresh process: prints {"sweep_s", "rss_mb", "worker_rss_mb", "cards"} as JSON
(``worker_rss_mb``: the largest peak RSS of the sweep's worker processes, 0 without any).

python bench/sweep_once.py DATABASE_URL AS_OF [WORKERS | incremental | incremental-cold]

With ``incremental``: ``sweep --incremental`` instead ("cards" is then the number of accounts
it re-evaluated, "accounts" of those in scope), timed as the scheduler runs it — in a process
that has run a round before: before the clock starts, a read-only pass over 50 of the due
accounts (rolled back) configures the ORM and compiles the sweep's reading statements, which
SQLAlchemy then keeps per engine. The writing statements stay cold. ``incremental-cold``: in a
fresh process, as ``followup-bot sweep --incremental`` from cron would.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine

from bot.db.session import make_engine
from bot.engine.facts import Scope, load_portfolio
from bot.engine.incremental import run_incremental_sweep
from bot.engine.sweep import run_sweep, sweep_portfolio
from bot.engine.sweep_state import due_accounts
from bot.engine.writer import RulesWriter


def warm_up(engine: Engine, as_of: datetime) -> None:
    """What a scheduler process has done before its next round, read-only and rolled back."""
    with engine.connect() as conn:
        ids = sorted(due_accounts(conn, as_of))[:50]
        portfolio = load_portfolio(conn, as_of, account_ids=ids)
        sweep_portfolio(conn, portfolio, RulesWriter(), Scope(ids), checks=True)
        conn.rollback()


def peak_rss_mb() -> float:
    """This process's own peak RSS. ``ru_maxrss`` survives exec (it would report the forking
    parent's size), so read the memory map's high-water mark instead."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    url, as_of = sys.argv[1], datetime.fromisoformat(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else ""
    incremental = mode.startswith("incremental")
    workers = int(mode) if mode and not incremental else None
    engine = make_engine(url)
    with engine.connect() as conn:  # connect before timing: the sweep, not the handshake
        conn.exec_driver_sql("SELECT 1")
    if mode == "incremental":
        warm_up(engine, as_of)
    started = time.perf_counter()
    if incremental:
        done = run_incremental_sweep(engine, as_of)
        elapsed = time.perf_counter() - started
        out = {"sweep_s": elapsed, "rss_mb": peak_rss_mb(), "worker_rss_mb": 0.0}
        out |= {"cards": done.evaluated, "accounts": done.accounts, "full": done.full}
        print(json.dumps(out))
        return
    result = run_sweep(engine, as_of, dry_run=False, workers=workers)
    elapsed = time.perf_counter() - started
    rss_mb = peak_rss_mb()
    # ru_maxrss of the children waited for: the largest worker's peak (KiB on Linux).
    worker_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "sweep_s": elapsed,
                "rss_mb": rss_mb,
                "worker_rss_mb": worker_rss_mb,
                "cards": len(result.cards),
            }
        )
    )


if __name__ == "__main__":
    main()
