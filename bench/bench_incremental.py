"""Benchmark: the incremental sweep against the full one (issue 17, item 4), on SQLite and
PostgreSQL.

    .venv/bin/python bench/bench_incremental.py                       # 100,000 accounts
    .venv/bin/python bench/bench_incremental.py --accounts 20000 --backends sqlite

For each backend: import the generator's portfolio (bench/generate.py, cached), time the floor
(bench_sweep's two aggregate queries), run full recording sweeps at the reference time (each in
a fresh process, bench/sweep_once.py: wall time and peak RSS; the first one records every alert,
the others replace them: the min is reported), import a file that changes 1% of the accounts (a
new email, call, meeting, task or health score each, 10 minutes after the reference time), then
run ``sweep --incremental`` one hour after the reference time, as the scheduler runs it (in a
process that has frozen its start-up heap, started its sweep worker and run a round before:
bench/sweep_once.py; ``--runs`` times, on copies of the database but the last: the min is
reported), and the same from a fresh process on a copy (as from cron). PostgreSQL runs with
room in shared buffers for the whole database, prewarmed before the floor and every sweep timed
(:func:`prewarm`). To confirm it left the
queue a full sweep would, a full sweep at that same time follows on the same database: it must
change no stored card and no alert (it re-derives everything; anything the incremental sweep
missed or got wrong would show). The marking an import does is timed on its own too: for the
changed accounts, and for every account (the most any import marks), in a transaction rolled
back.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import Engine, func, make_url, select, text  # noqa: E402

from bench.bench_sweep import REFERENCE, database, nullcluster, time_floor  # noqa: E402
from bench.generate import cached_dataset  # noqa: E402
from bot.db.models import Account, AccountSweepState, Alert, QueueCard  # noqa: E402
from bot.db.session import ensure_schema, make_engine  # noqa: E402
from bot.engine.queue import queue_as_of  # noqa: E402
from bot.engine.sweep_state import mark_changed  # noqa: E402
from bot.importer import import_file  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402

# Room in shared buffers for the whole benchmark database (1.8 GB at 100,000 accounts), as a
# production server has for its working set; PostgreSQL's default (128 MB) holds a fifth of it.
PG_SETTINGS = "-c shared_buffers=2GB"
CHANGE_AT = REFERENCE + timedelta(minutes=10)
INCREMENTAL_AT = REFERENCE + timedelta(hours=1)


@dataclass
class Row:
    backend: str
    accounts: int
    floor_s: float
    full_s: float
    full_rss_mb: float
    worker_rss_mb: float
    change_import_s: float
    changed: int
    mark_changed_s: float
    mark_all_s: float
    incremental_s: float  # in a process that has run a round before (bench/sweep_once.py)
    cold_s: float  # in a fresh process
    incremental_rss_mb: float
    evaluated: int
    same_queue: bool
    due_by_time: int  # accounts whose next check falls within the hour, of them with a card
    due_with_card: int
    cards: int


def sweep_once(url: str, as_of: Any, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sweep_once.py"), url, as_of.isoformat(), *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def change_file(path: Path, account_ids: list[str]) -> Path:
    """New records on each of ``account_ids``, at CHANGE_AT."""
    rng = random.Random(17)
    at = CHANGE_AT.isoformat().replace("+00:00", "Z")
    data: dict[str, Any] = {"format": "followup-portfolio/1"}
    for n, acc in enumerate(account_ids):
        what = n % 5
        if what == 0:
            data.setdefault("activities", []).append(
                {
                    "id": f"inc-act-{n}",
                    "account": acc,
                    "at": at,
                    "kind": "email",
                    "direction": rng.choice(["inbound", "outbound"]),
                    "thread": f"inc-th-{n}",
                    "subject": "About the renewal",
                }
            )
        elif what == 1:
            data.setdefault("activities", []).append(
                {
                    "id": f"inc-act-{n}",
                    "account": acc,
                    "at": at,
                    "kind": "call",
                    "direction": "outbound",
                    "outcome": rng.choice(["connected", "no_answer"]),
                }
            )
        elif what == 2:
            data.setdefault("meetings", []).append(
                {
                    "id": f"inc-m-{n}",
                    "account": acc,
                    "title": "Check-in",
                    "starts_at": (REFERENCE + timedelta(days=3)).isoformat(),
                }
            )
        elif what == 3:
            data.setdefault("tasks", []).append(
                {
                    "id": f"inc-t-{n}",
                    "account": acc,
                    "title": "Send the deck",
                    "due_at": (REFERENCE + timedelta(days=2)).isoformat(),
                }
            )
        else:
            data.setdefault("health_scores", []).append(
                {"account": acc, "at": at, "score": rng.randint(20, 90)}
            )
    path.write_text(json.dumps(data))
    return path


def queue_digest(engine: Engine) -> tuple[int, int, str]:
    """The stored cards, the time the queue is as of, and the alerts, whole, as a digest (and
    how many cards and alerts). A card's own ``as_of`` is left out: it says which sweep
    computed it, and a full sweep recomputes every card."""
    h = hashlib.sha256()
    with engine.connect() as conn:
        cards = conn.execute(
            select(
                QueueCard.account_id,
                QueueCard.owner_id,
                QueueCard.lane,
                QueueCard.severity,
                QueueCard.action_score,
                QueueCard.card,
            ).order_by(QueueCard.account_id)
        ).all()
        for row in cards:
            h.update(json.dumps([str(v) for v in row[:5]] + [row[5]], sort_keys=True).encode())
        h.update(str(queue_as_of(conn)).encode())
        alerts = conn.execute(select(Alert).order_by(Alert.id)).all()
        for row in alerts:
            h.update(repr(tuple(row)).encode())
    return len(cards), len(alerts), h.hexdigest()


def measure(backend: str, url: str, accounts: int, runs: int, console: Console) -> Row:
    shards = cached_dataset(ROOT / "bench" / ".cache", accounts, 50)
    engine = make_engine(url)
    ensure_schema(engine)
    started = time.perf_counter()
    for shard in shards:
        import_file(engine, shard, now=REFERENCE)
    console.log(
        f"{backend}: imported {accounts:,} accounts in {time.perf_counter() - started:.0f}s"
    )
    analyze(engine, backend)
    prewarm(url)  # (the full sweeps are timed with everything cached, as the incremental ones)
    floor_s = time_floor(engine)
    fulls = [sweep_once(url, REFERENCE) for _ in range(runs)]
    console.log(f"{backend}: full sweeps {[round(f['sweep_s'], 2) for f in fulls]}")

    with engine.connect() as conn:
        ids = sorted(conn.execute(select(Account.id)).scalars())
    changed = ids[::100]
    with tempfile.TemporaryDirectory() as tmp:
        path = change_file(Path(tmp) / "changes.json", changed)
        started = time.perf_counter()
        import_file(engine, path, now=CHANGE_AT)
        change_import_s = time.perf_counter() - started
    mark_changed_s = time_marking(engine, changed)
    mark_all_s = time_marking(engine, ids)

    due_by_time, due_with_card, cards = due_within(engine)
    engine.dispose()
    with clone(url) as copy:  # the same sweep from a fresh process (as from cron), on a copy
        cold = sweep_once(copy, INCREMENTAL_AT, "incremental-cold")
    warm = []
    for _ in range(runs - 1):  # the same sweep on copies first (the min of all is reported)
        with clone(url) as copy:
            warm.append(sweep_once(copy, INCREMENTAL_AT, "incremental"))
    prewarm(url)
    warm.append(sweep_once(url, INCREMENTAL_AT, "incremental"))
    inc = min(warm, key=lambda r: r["sweep_s"])
    console.log(
        f"{backend}: incremental {[round(r['sweep_s'], 3) for r in warm]}s, "
        f"re-evaluated {inc['cards']:,}; in a fresh process {cold['sweep_s']:.2f}s"
    )
    before = queue_digest(engine)
    check = sweep_once(url, INCREMENTAL_AT)  # the full sweep at the same time: changes nothing
    after = queue_digest(engine)
    console.log(f"{backend}: full sweep at +1h {check['sweep_s']:.2f}s; queue {before[:2]}")
    engine.dispose()
    best = min([*fulls, check], key=lambda f: f["sweep_s"])
    return Row(
        backend,
        accounts,
        floor_s,
        best["sweep_s"],
        max(f["rss_mb"] for f in [*fulls, check]),
        max(f["worker_rss_mb"] for f in [*fulls, check]),
        change_import_s,
        len(changed),
        mark_changed_s,
        mark_all_s,
        inc["sweep_s"],
        cold["sweep_s"],
        inc["rss_mb"],
        inc["cards"],
        before == after and not inc["full"],
        due_by_time,
        due_with_card,
        cards,
    )


@contextmanager
def clone(url: str) -> Iterator[str]:
    """A copy of the database (a file copy; PostgreSQL: CREATE DATABASE … TEMPLATE)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database
        copy = f"{parsed.database}.clone"
        for suffix in ("", "-wal"):  # (all connections are closed: the log is empty or gone)
            if Path(parsed.database + suffix).exists():
                shutil.copyfile(parsed.database + suffix, copy + suffix)
        os.sync()  # (the copy's write-back would otherwise run during the sweep timed on it)
        try:
            yield parsed.set(database=copy).render_as_string(hide_password=False)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(copy + suffix).unlink(missing_ok=True)
        return
    name = f"{parsed.database}_clone"
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
            conn.execute(text("CHECKPOINT"))
        copy = parsed.set(database=name).render_as_string(hide_password=False)
        prewarm(copy)
        yield copy
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def prewarm(url: str) -> None:
    """PostgreSQL: every table and index of the database read into shared buffers, as a
    server that holds its working set has them (``PG_SETTINGS`` makes room for all of it). A
    copy made by CREATE DATABASE … TEMPLATE starts with none of its pages there, the original
    with whatever the import and the sweeps left: prewarmed, each sweep timed on either finds
    the same cache, as the full sweeps before them. A checkpoint first writes out what the
    imports left dirty, which the checkpointer would otherwise write while a sweep is timed."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            # (what the import left dirty is written out now, not while a sweep is timed)
            conn.execute(text("CHECKPOINT"))
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            conn.execute(
                text(
                    "SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                    "AND c.relkind IN ('r', 'i', 't')"
                )
            )
    finally:
        engine.dispose()


def due_within(engine: Engine) -> tuple[int, int, int]:
    """Accounts due by time alone at INCREMENTAL_AT, those of them with a card, and cards."""
    with engine.connect() as conn:
        due = select(AccountSweepState.account_id).where(
            AccountSweepState.next_check_at <= INCREMENTAL_AT
        )
        n_due = conn.execute(select(func.count()).select_from(due.subquery())).scalar_one()
        with_card = conn.execute(
            select(func.count()).where(QueueCard.account_id.in_(due))
        ).scalar_one()
        cards = conn.execute(select(func.count()).select_from(QueueCard)).scalar_one()
    return int(n_due), int(with_card), int(cards)


def analyze(engine: Engine, backend: str) -> None:
    if backend == "postgres":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))


def time_marking(engine: Engine, ids: list[str]) -> float:
    """How long marking ``ids`` changed takes inside an import's transaction (rolled back)."""
    with engine.connect() as conn:
        trans = conn.begin()
        started = time.perf_counter()
        mark_changed(conn, ids)
        elapsed = time.perf_counter() - started
        trans.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument(
        "--runs",
        type=int,
        default=2,
        help="full sweeps at the reference time, and incremental sweeps (on copies but the last)",
    )
    args = parser.parse_args()
    console = Console(stderr=True)
    rows = []
    for backend in args.backends.split(","):
        cluster = throwaway_cluster(PG_SETTINGS) if backend == "postgres" else nullcluster()
        with cluster as server, database(backend, server) as url:
            rows.append(measure(backend, url, args.accounts, args.runs, console))
    print_table(rows)


def print_table(rows: list[Row]) -> None:
    table = Table(title="Incremental sweep benchmark (2-core machine, shared)")
    columns = (
        "backend",
        "accounts",
        "floor s",
        "full sweep s",
        "full / floor",
        "peak RSS MB (worker)",
        "1% import s",
        "mark 1% s",
        "mark all s",
        "due by time (with card / cards)",
        "re-evaluated",
        "incremental s (fresh process)",
        "incr RSS MB",
        "incr / full (fresh)",
        "same queue",
    )
    for col in columns:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r.backend,
            f"{r.accounts:,}",
            f"{r.floor_s:.2f}",
            f"{r.full_s:.2f}",
            f"{r.full_s / r.floor_s:.2f}×",
            f"{r.full_rss_mb:.0f} ({r.worker_rss_mb:.0f})",
            f"{r.change_import_s:.2f}",
            f"{r.mark_changed_s:.3f}",
            f"{r.mark_all_s:.2f}",
            f"{r.due_by_time:,} ({r.due_with_card:,} / {r.cards:,})",
            f"{r.evaluated:,} ({r.evaluated / r.accounts:.1%})",
            f"{r.incremental_s:.2f} ({r.cold_s:.2f})",
            f"{r.incremental_rss_mb:.0f}",
            f"{r.incremental_s / r.full_s:.1%} ({r.cold_s / r.full_s:.1%})",
            "yes" if r.same_queue else "NO",
        )
    Console(width=220).print(table)


if __name__ == "__main__":
    main()
