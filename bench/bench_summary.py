"""Benchmark of the account summary (issue 20's performance section).

    .venv/bin/python bench/bench_summary.py                 # the table (a minute or two)
    .venv/bin/python bench/bench_summary.py --runs 5 --sizes 1000

1. The rules summary of one account with 50,000 activities on PostgreSQL (TEST_DATABASE_URL,
   else a throwaway cluster from tests/pgcluster.py): p50 and p95 of ``summarize`` over
   ``--runs`` runs (gathering, the dry-run sweep of the account for its immediate actions, the
   ten sections), after one warm-up run.
2. The AI path's prompt at 1k, 10k and 100k activities: its size in tokens counted as
   ``bot.ai.prompt.estimate_tokens`` documents (one token per 4 UTF-8 bytes, rounded up), for
   the instructions, the tool schema and the account prompt together, against
   ``PROMPT_TOKEN_BUDGET``.

The account is the sample portfolio's Harborview Health System, with synthetic activities
(emails, calls and notes with bodies of 100-400 characters, every tenth linked to a KPI).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import Engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.ai.prompt import PROMPT_TOKEN_BUDGET, estimate_tokens  # noqa: E402
from bot.ai.writer import ai_request, asked_sections  # noqa: E402
from bot.db.models import Activity  # noqa: E402
from bot.db.session import ensure_schema, make_engine  # noqa: E402
from bot.engine.summary import Period, gather  # noqa: E402
from bot.engine.summary.budget import allot_all  # noqa: E402
from bot.engine.summary.sections import SECTION_ORDER  # noqa: E402
from bot.importer import import_file  # noqa: E402
from bot.summarize import summarize  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402

SAMPLE = ROOT / "bot" / "data" / "sample_portfolio.json"
ACCOUNT = "acc-harborview"
NOW = datetime(2026, 11, 16, 13, 30, tzinfo=UTC)
SENTENCE = (
    "thanks for the update on the dashboard rollout we would like more seats for the finance "
    "team the export is slow again could you check the renewal terms great session today "
    "please share the training recording concerned about the delay on the connector"
)
WORDS = SENTENCE.split()


def add_activities(engine: Engine, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    kinds = (
        ("email", "inbound"),
        ("email", "outbound"),
        ("call", "outbound"),
        ("note", "internal"),
    )
    rows = []
    for i in range(n):
        kind, direction = kinds[i % 4]
        rows.append(
            {
                "id": f"bench-{i}",
                "account_id": ACCOUNT,
                "at": NOW - timedelta(minutes=7 * (i + 1)),
                "kind": kind,
                "direction": direction,
                "subject": f"Topic {i % 97}" if kind == "email" else None,
                "body": " ".join(rnd.choices(WORDS, k=rnd.randint(15, 60))),
                "contact_id": "c-harborview-1" if direction == "inbound" else None,
                "user_id": "u-ana",
                "outcome": "connected" if kind == "call" else None,
                "kpi_id": "kpi-harborview-11" if i % 10 == 0 else None,
            }
        )
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            conn.execute(insert(Activity), rows[start : start + 10_000])


@contextmanager
def postgres_database() -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    with nullcontext(given) if given else throwaway_cluster() as server:
        name = f"bench_summary_{uuid.uuid4().hex[:8]}"
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


def loaded(url: str, activities: int) -> Engine:
    engine = make_engine(url)
    ensure_schema(engine)
    import_file(engine, SAMPLE, now=NOW)
    add_activities(engine, activities)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    return engine


def rules_timing(activities: int, runs: int, console: Console) -> tuple[float, float]:
    with postgres_database() as url:
        engine = loaded(url, activities)
        summarize(engine, ACCOUNT, NOW)  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            summarize(engine, ACCOUNT, NOW)
            times.append((time.perf_counter() - started) * 1000)
        engine.dispose()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    console.log(f"rules summary, {activities:,} activities: p50 {statistics.median(times):.0f} ms")
    return statistics.median(times), p95


def prompt_tokens(activities: int) -> tuple[int, int]:
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as tmp:
        engine = loaded(f"sqlite:///{tmp}/bench.db", activities)
        data = gather(engine, ACCOUNT, NOW, Period())
        allotted = allot_all(data, list(SECTION_ORDER))
        request, prompt = ai_request(data, allotted, asked_sections(frozenset()))
        engine.dispose()
    used = sum(len(a.rows) for a in allotted.values())
    tokens = estimate_tokens(prompt, json.dumps(request["system"]), json.dumps(request["tools"]))
    return tokens, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rules-activities", type=int, default=50_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    console = Console(stderr=True)
    p50, p95 = rules_timing(args.rules_activities, args.runs, console)
    table = Table(title="Account summary")
    table.add_column("measure")
    table.add_column("activities", justify="right")
    table.add_column("result", justify="right")
    table.add_column("target", justify="right")
    table.add_row(
        "rules summary p50 (PostgreSQL)", f"{args.rules_activities:,}", f"{p50:.0f} ms", "≤ 300 ms"
    )
    table.add_row(
        "rules summary p95 (PostgreSQL)", f"{args.rules_activities:,}", f"{p95:.0f} ms", ""
    )
    for size in args.sizes:
        tokens, used = prompt_tokens(size)
        table.add_row(
            f"AI prompt tokens ({used} activity lines)",
            f"{size:,}",
            f"{tokens:,}",
            f"≤ {PROMPT_TOKEN_BUDGET:,}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
