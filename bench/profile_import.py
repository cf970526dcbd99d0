"""Profile the portfolio import: time per phase (from the importer's own progress labels) and
records/s, on a fresh SQLite file and/or a fresh PostgreSQL database, optionally under cProfile.

    .venv/bin/python bench/profile_import.py                        # 10000×50, both backends
    .venv/bin/python bench/profile_import.py --backends sqlite --cprofile 30
    .venv/bin/python bench/profile_import.py --reimport             # then import it all again
    .venv/bin/python bench/profile_import.py --time-ordered         # activities sorted by time
    .venv/bin/python bench/profile_import.py --steps                # time per step and thread
    .venv/bin/python bench/profile_import.py --accounts 50000 --warm 2 --shards 2
                                                    # two shards into 10,000 accounts held

Datasets come from bench/generate.py (cached in bench/.cache/), as for bench/bench_sweep.py.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.bench_sweep import REFERENCE, database  # noqa: E402
from bench.generate import cached_dataset  # noqa: E402
from bot.db import bulk  # noqa: E402
from bot.db.session import ensure_schema, make_engine  # noqa: E402
from bot.engine import rollups  # noqa: E402
from bot.importer import import_file, portfolio, writer  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402


class PhaseClock:
    """A ``progress`` callback that adds up the wall time and this process's CPU time spent in
    each labelled phase (CPU time is steadier on a shared machine; on PostgreSQL it leaves out
    the server's work)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._label: str | None = None
        self._since = 0.0
        self._cpu_since = 0.0

    def __call__(self, done: int, total: int | None, label: str) -> None:
        if label != self._label:
            self.stop()
            self._label = label
            self._since, self._cpu_since = time.perf_counter(), time.process_time()

    def stop(self) -> None:
        if self._label is not None:
            spent = time.perf_counter() - self._since
            cpu = time.process_time() - self._cpu_since
            self.seconds[self._label] = self.seconds.get(self._label, 0.0) + spent
            self.cpu[self._label] = self.cpu.get(self._label, 0.0) + cpu
            self._label = None


fresh_database = database  # bench_sweep's: a temporary SQLite file or PostgreSQL database

# the import's steps on its main thread, timed by --steps: (module, attribute, label)
STEPS = [
    (portfolio, name, name)
    for name in (
        "load_json",
        "convert_records",
        "plan_kind",
        "file_ids",
        "natural_key_duplicates",
        "references_outside",
        "check_references",
        "store_folds",
        "_refresh",
    )
] + [(writer.PlanWriter, name, f"PlanWriter.{name}") for name in ("write", "drain")]
STEPS += [
    (rollups.FreshFolds, name, f"FreshFolds.{name}")
    for name in ("add_activities", "add_health", "folds")
]


class StepClock:
    """``--steps``: the wall time and the main thread's CPU time of each step in ``STEPS``,
    the CPU time of the background writer's thread, and (on Linux) of the PostgreSQL server's
    processes. A step's wall time above its CPU time is waiting: for the interpreter lock, for
    room in the writer's queue, or for the writer to finish. The functions are wrapped only
    inside ``with``."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> StepClock:
        for owner, name, label in [*STEPS, (bulk.BackgroundInserts, "_run", "writer thread")]:
            original = getattr(owner, name)
            self._saved.append((owner, name, original))
            setattr(owner, name, self._timed(original, label))
        self._server = _postgres_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)
        server = _postgres_cpu() - self._server
        if server:
            self.cpu["PostgreSQL server"] = server

    def _timed(self, fn: Any, label: str) -> Any:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - wall
                self.cpu[label] += time.thread_time() - cpu

        return timed

    def report(self) -> str:
        lines = [f"    {'step':28} {'wall s':>7} {'cpu s':>7}"]
        for label in sorted(self.cpu, key=lambda k: -max(self.wall.get(k, 0), self.cpu[k])):
            wall = f"{self.wall[label]:7.2f}" if label in self.wall else "      —"
            lines.append(f"    {label:28} {wall} {self.cpu[label]:7.2f}")
        return "\n".join(lines)


def _postgres_cpu() -> float:
    """User and system CPU seconds of the processes called ``postgres`` (Linux's /proc)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        if name.startswith("postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK") if total else 0.0


def time_ordered(shards: list[Path]) -> list[Path]:
    """Copies of ``shards`` (beside them, made once) whose activities come in time order, as
    an export from another system might give them, instead of account by account: the order
    the indexes by account like least."""
    directory = shards[0].parent.with_name(shards[0].parent.name + "-by-time")
    directory.mkdir(exist_ok=True)
    ordered = []
    for shard in shards:
        copy = directory / shard.name
        if not copy.exists():
            data = orjson.loads(shard.read_bytes())
            data.get("activities", []).sort(key=lambda activity: activity["at"])
            partial = copy.with_suffix(".partial")
            partial.write_bytes(orjson.dumps(data))
            partial.rename(copy)
        ordered.append(copy)
    return ordered


def run(
    url: str,
    shards: list[Path],
    passes: int,
    top: int,
    label: str,
    steps: bool = False,
    warm: list[Path] | None = None,
) -> None:
    engine = make_engine(url)
    ensure_schema(engine)
    for shard in warm or []:  # untimed
        import_file(engine, shard, now=REFERENCE)
    for n in range(passes):
        clock = PhaseClock()
        profiler = cProfile.Profile() if top else None
        records = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        with StepClock() if steps else nullcontext() as step_clock:
            for shard in shards:
                if profiler is not None:
                    profiler.enable()
                report = import_file(engine, shard, now=REFERENCE, progress=clock)
                if profiler is not None:
                    profiler.disable()
                clock.stop()
                records += report.records
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        what = "import" if n == 0 else "re-import"
        phases = ", ".join(
            f"{k} {v:.2f}s ({clock.cpu[k]:.2f} cpu)" for k, v in clock.seconds.items()
        )
        print(
            f"{label} {what}: {records:,} records in {wall:.2f}s = {records / wall:,.0f} rec/s "
            f"({cpu:.2f}s cpu in this process)"
        )
        print(f"    {phases}", flush=True)
        if step_clock is not None:
            print(step_clock.report(), flush=True)
        if profiler is not None:
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
            stats.print_stats(top)
            print(out.getvalue())
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--per-account", type=int, default=50)
    parser.add_argument("--reimport", action="store_true", help="import the dataset twice")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="top N by tottime")
    parser.add_argument(
        "--time-ordered", action="store_true", help="the activities of each shard in time order"
    )
    parser.add_argument(
        "--steps", action="store_true", help="wall and CPU time per step and per thread"
    )
    parser.add_argument(
        "--warm",
        type=int,
        default=0,
        metavar="K",
        help="import the org and the first K shards untimed: the timed ones then go into "
        "tables that hold more rows than they bring (as at 50,000 accounts and more)",
    )
    parser.add_argument("--shards", type=int, metavar="N", help="time at most N shards")
    args = parser.parse_args()
    shards = cached_dataset(ROOT / "bench" / ".cache", args.accounts, args.per_account)
    if args.time_ordered:
        shards = time_ordered(shards)
    warm: list[Path] = []
    if args.warm:
        warm, shards = shards[: args.warm + 1], shards[args.warm + 1 :]
    if args.shards is not None:
        shards = shards[: args.shards]
    passes = 2 if args.reimport else 1
    label = f"{args.accounts}x{args.per_account}" + (" by time" if args.time_ordered else "")
    for backend in args.backends.split(","):
        if backend == "postgres":
            with throwaway_cluster() as server, fresh_database(backend, server) as url:
                run(url, shards, passes, args.cprofile, f"postgres {label}", args.steps, warm)
        else:
            with fresh_database(backend, None) as url:
                run(url, shards, passes, args.cprofile, f"sqlite {label}", args.steps, warm)


if __name__ == "__main__":
    main()
