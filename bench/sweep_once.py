"""One sweep in a fresh process: prints {"sweep_s", "rss_mb", "worker_rss_mb", "cards"} as JSON
(``worker_rss_mb``: the largest peak RSS of the sweep's worker processes, 0 without any).

python bench/sweep_once.py DATABASE_URL AS_OF [WORKERS | incremental | incremental-cold]

With ``incremental``: ``sweep --incremental`` instead ("cards" is then the number of accounts
it re-evaluated, "accounts" of those in scope), timed as the scheduler runs it — in a process
that has frozen its start-up heap and run a round before: before the clock starts, an
incremental sweep of 50 of the due accounts (rolled back) configures the ORM and compiles the
sweep's statements, which SQLAlchemy then keeps per engine (:func:`warm_up`).
``incremental-cold``: in a fresh process, as ``followup-bot sweep --incremental`` from cron
would.
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
from bot.engine.incremental import run_incremental_sweep, sweep_due
from bot.engine.sweep import run_sweep
from bot.engine.sweep_pool import POOL_FROM, SweepPool
from bot.engine.sweep_state import due_accounts
from bot.gc_pause import freeze_startup_heap


def warm_up(engine: Engine, as_of: datetime, pool: SweepPool) -> None:
    """What a scheduler process has done before its next round: frozen its start-up heap and
    started its sweep worker (``followup-bot scheduler`` does), and run a round — here an
    incremental sweep of POOL_FROM of the due accounts, shared with the worker and rolled back,
    which compiles the sweep's statements in both processes."""
    with engine.connect() as conn:
        due = due_accounts(conn, as_of)
        some = {acc: due[acc] for acc in sorted(due)[:POOL_FROM]}
        sweep_due(conn, as_of, some, accounts=len(due), started=as_of, pool=pool)
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
    pool = None
    if mode == "incremental":
        pool = SweepPool(url)
        freeze_startup_heap()
        warm_up(engine, as_of, pool)
    started = time.perf_counter()
    if incremental:
        done = run_incremental_sweep(engine, as_of, pool=pool)
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
