"""Benchmark: the escalation scan of a round over 100k open alerts on PostgreSQL, against a plain
indexed count of the open critical alerts measured in the same run (issue 19: ≤ 2×).

    .venv/bin/python bench/bench_escalations.py [--alerts 100000] [--runs 9]

The database (a throwaway cluster from tests/pgcluster.py, migrated for real) holds 200 CSMs in
five time zones under four managers, 20k accounts and ``--alerts`` open alerts: 10 % critical,
most of those escalated long ago (as in a steady state), 1 % critical for less than the SLA and
``--due`` critical past it, not escalated yet, the rest high/medium/low. Figures are the
minimum of ``--runs``:

* baseline — ``SELECT count(*) FROM alerts WHERE state = 'open' AND severity = 'critical'``
  (on the index ``ix_alerts_state_severity_escalated``);
* scan — :func:`bot.service.escalation_scan.due_escalations`: one query that returns only the
  due alerts (each alert's business-time cutoff chosen in SQL by its account's CSM, computed
  once per zone and threshold), with each one's CSM;
* the same scan without the partial index ``ix_alerts_escalation_due`` (migration 0015), to
  show what the index buys.

Two scenarios: a steady state (``--due`` alerts due) and a backlog (500 more critical alerts
not escalated, e.g. after downtime or a big import, all of them due at once).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import Table as SATable  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bot.db.bulk import bulk_insert  # noqa: E402
from bot.db.models import Account, Alert, Org, Team, User  # noqa: E402
from bot.db.session import make_engine, upgrade  # noqa: E402
from bot.service.escalation_scan import due_escalations  # noqa: E402
from bot.service.people import load_people  # noqa: E402
from tests.pgcluster import throwaway_cluster  # noqa: E402

NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)  # a Wednesday, 15:00 in New York
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin",
         "Asia/Tokyo"]  # fmt: skip
INDEX = "ix_alerts_escalation_due"


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def alert_rows(count: int, accounts: int, due: int) -> list[dict[str, Any]]:
    """``count`` open alerts: 10 % critical and escalated long ago; 1 % critical for less than
    the SLA (not due); ``due`` critical for 5 days and not escalated (due now); the rest high,
    medium or low."""
    rows = []
    long_ago, escalated_long_ago = NOW - timedelta(days=20), NOW - timedelta(days=17)
    for n in range(count):
        kind = n % 100
        if kind == 11 and n < due * 100:  # due now
            severity, first, escalated = "critical", NOW - timedelta(days=5), None
        elif kind < 10:  # critical, escalated long ago
            severity, first, escalated = "critical", long_ago, escalated_long_ago
        elif kind == 10:  # critical for less than the SLA: not due yet
            severity, first, escalated = "critical", NOW - timedelta(hours=3 + n % 20), None
        else:
            severity, first, escalated = ("high", "medium", "low")[kind % 3], None, None
        rows.append(
            {"key": f"a-{n % accounts}|overdue_task|task:{n}", "account_id": f"a-{n % accounts}",
             "signal": "overdue_task", "evidence": f"task:{n}", "lane": "owe_them_something",
             "severity": severity, "detail": "Overdue task", "state": "open",
             "first_fired_at": NOW - timedelta(days=20), "first_critical_at": first,
             "escalated_at": escalated}
        )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    with throwaway_cluster() as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(insert(Org).values(id=1, name="Org", timezone="America/New_York"))
            managers = [{"id": f"m-{n}", "name": f"Manager {n}", "role": "manager"}
                        for n in range(4)]  # fmt: skip
            conn.execute(insert(User), managers)
            teams = [{"id": f"t-{n}", "name": f"Team {n}", "manager_id": f"m-{n}"}
                     for n in range(4)]  # fmt: skip
            conn.execute(insert(Team), teams)
            conn.execute(
                insert(User),
                [{"id": f"u-{n}", "name": f"CSM {n}", "role": "csm", "team_id": f"t-{n % 4}",
                  "timezone": ZONES[n % len(ZONES)]} for n in range(200)],
            )  # fmt: skip
            conn.execute(
                insert(Account),
                [{"id": f"a-{n}", "name": f"Account {n}", "csm_id": f"u-{n % 200}"}
                 for n in range(args.accounts)],
            )  # fmt: skip
            bulk_insert(
                conn,
                cast(SATable, Alert.__table__),
                alert_rows(args.alerts, args.accounts, args.due),
            )
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

        def baseline() -> int:
            with engine.connect() as conn:
                return int(
                    conn.execute(
                        select(func.count())
                        .select_from(Alert)
                        .where(Alert.state == "open", Alert.severity == "critical")
                    ).scalar_one()
                )

        with engine.connect() as conn:
            people = load_people(conn)  # once per round, shared by its jobs

        def scan() -> int:
            with engine.connect() as conn:
                return len(due_escalations(conn, people, NOW))

        def scan_with_people() -> int:
            with engine.connect() as conn:
                return len(due_escalations(conn, load_people(conn), NOW))

        def measure(label: str) -> None:
            critical, due = baseline(), scan()
            base_ms = best(baseline, args.runs)
            for name, fn in (("scan", scan), ("scan + reading the people", scan_with_people)):
                ms = best(fn, args.runs)
                rows.append((f"{label}: {name}", f"{due:,} due", ms, ms / base_ms))
            rows.insert(len(rows) - 2, (f"{label}: baseline count", f"{critical:,}", base_ms, 1.0))

        rows: list[tuple[str, str, float, float]] = []
        measure(f"steady ({args.due} due)")
        with engine.begin() as conn:  # a backlog: 500 alerts due at once
            backlog = select(Alert.id).where(Alert.escalated_at.is_not(None)).limit(500)
            conn.execute(
                update(Alert)
                .where(Alert.id.in_(backlog.scalar_subquery()))
                .values(escalated_at=None)
            )
        measure("backlog (520 due)")
        with engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {INDEX}"))
            conn.execute(text("ANALYZE alerts"))
        measure(f"backlog, without {INDEX}")
        engine.dispose()

    table = Table(
        title=f"Escalation scan: {args.alerts:,} open alerts, {args.accounts:,} accounts, "
        "PostgreSQL (ms: min of runs)"
    )
    for column in ("measure", "rows", "ms", "× baseline (target ≤ 2)"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for label, count, ms, ratio in rows:
        table.add_row(label, count, f"{ms:.2f}", f"{ratio:.2f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
