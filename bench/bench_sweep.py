"""Benchmark: import rate, sweep wall time and peak RSS, against a floor of two plain aggregate
queries over the activity table, on SQLite and PostgreSQL (issue 2's performance section).

    .venv/bin/python bench/bench_sweep.py                      # the full table (tens of minutes)
    .venv/bin/python bench/bench_sweep.py --sizes 10000 --backends sqlite   # a quick look

Datasets come from bench/generate.py and are cached in bench/.cache/. Each sweep runs in a
fresh subprocess (bench/sweep_once.py) so its peak RSS is the bot process's own; "sweep time"
covers computing the cards and recording the alerts, not printing them. From 20,000 accounts
the sweep shares its loading and evaluating with worker processes (one per CPU): "worker RSS"
is the largest worker's peak (forked, it counts the pages it shares with the sweep process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.generate import cached_dataset  # noqa: E402
from bot.db.session import ensure_schema, make_engine  # noqa: E402
from bot.importer import import_file  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402

REFERENCE = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)
FLOOR_QUERIES = (
    # latest inbound / outbound activity per account
    "SELECT account_id, direction, MAX(at) FROM activities "
    "WHERE direction IN ('inbound', 'outbound') GROUP BY account_id, direction",
    # latest message per email thread
    "SELECT account_id, thread, MAX(at) FROM activities "
    "WHERE kind = 'email' GROUP BY account_id, thread",
)


@dataclass
class Row:
    backend: str
    accounts: int
    per_account: int
    records: int
    import_s: float
    sweep_s: float
    rss_mb: float
    worker_rss_mb: float
    cards: int
    floor_s: float

    @property
    def import_rate(self) -> float:
        return self.records / self.import_s


@contextmanager
def database(backend: str, pg_server: str | None) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="followup-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    assert pg_server is not None
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(backend: str, url: str, accounts: int, per_account: int, console: Console) -> Row:
    shards = cached_dataset(ROOT / "bench" / ".cache", accounts, per_account)
    engine = make_engine(url)
    ensure_schema(engine)
    records = 0
    started = time.perf_counter()
    for shard in shards:
        report = import_file(engine, shard, now=REFERENCE)
        records += report.records
    import_s = time.perf_counter() - started
    if backend == "postgres":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    floor_s = time_floor(engine)
    engine.dispose()
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sweep_once.py"), url, REFERENCE.isoformat()],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout)
    row = Row(
        backend,
        accounts,
        per_account,
        records,
        import_s,
        result["sweep_s"],
        result["rss_mb"],
        result.get("worker_rss_mb", 0.0),
        result["cards"],
        floor_s,
    )
    console.log(
        f"{backend} {accounts}×{per_account}: import {row.import_rate:,.0f} rec/s, "
        f"sweep {row.sweep_s:.2f}s, RSS {row.rss_mb:.0f} MB (largest worker "
        f"{row.worker_rss_mb:.0f} MB), floor {floor_s:.2f}s"
    )
    return row


def time_floor(engine) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(2):
        with engine.connect() as conn:
            started = time.perf_counter()
            for q in FLOOR_QUERIES:
                conn.execute(text(q)).fetchall()
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--per-account", type=int, default=50)
    parser.add_argument("--history-growth", type=int, default=10, help="0 to skip the 10× run")
    args = parser.parse_args()
    console = Console(stderr=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[Row] = []
    for backend in args.backends.split(","):
        cluster = throwaway_cluster() if backend == "postgres" else nullcluster()
        with cluster as server:
            plan = [(n, args.per_account) for n in sizes]
            if args.history_growth:
                plan.append((sizes[0], args.per_account * args.history_growth))
            for accounts, per in plan:
                with database(backend, server) as url:
                    rows.append(measure(backend, url, accounts, per, console))
    print_table(rows, sizes[0], args.per_account)


@contextmanager
def nullcluster() -> Iterator[None]:
    yield None


def print_table(rows: list[Row], base_accounts: int, base_per: int) -> None:
    console = Console(width=200)
    table = Table(title="Sweep benchmark (2-core machine)")
    for col in (
        "backend",
        "accounts × activities",
        "records",
        "import rec/s",
        "sweep s",
        "peak RSS MB",
        "worker RSS MB",
        "cards",
        "floor s",
        "sweep / floor",
        "vs base",
    ):
        table.add_column(col, justify="right")
    base = {r.backend: r for r in rows if r.accounts == base_accounts and r.per_account == base_per}
    for r in rows:
        b = base.get(r.backend)
        if b is None or b is r:
            ratio = "base"
        elif r.per_account != base_per:
            ratio = f"{r.sweep_s / b.sweep_s:.2f}× (history {r.per_account // base_per}×)"
        else:
            ratio = f"{r.sweep_s / b.sweep_s:.2f}× ({r.accounts // base_accounts}× accounts)"
        table.add_row(
            r.backend,
            f"{r.accounts:,} × {r.per_account}",
            f"{r.records:,}",
            f"{r.import_rate:,.0f}",
            f"{r.sweep_s:.2f}",
            f"{r.rss_mb:.0f}",
            f"{r.worker_rss_mb:.0f}" if r.worker_rss_mb else "—",
            f"{r.cards:,}",
            f"{r.floor_s:.2f}",
            f"{r.sweep_s / r.floor_s:.2f}",
            ratio,
        )
    console.print(table)


if __name__ == "__main__":
    main()
