"""Benchmark: who is due for their daily DM now — 500 users in 20 time zones (issue 19's guide:
≤ 10 ms).

    .venv/bin/python bench/bench_schedule.py [--users 500] [--zones 20] [--runs 7]

Two figures, each the minimum of ``--runs`` (the machine is noisy; the minimum is the cost):
the rule alone (:func:`bot.engine.schedule.due_digests` over the users, with yesterday's DMs
served), and the whole look-up the scheduler makes each round
(:func:`bot.service.schedule.due_now`: the org, the users, the readers and the DMs served
lately, read from a SQLite database holding those users, an account each and a day of
deliveries).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.db.models import Account, Delivery, Org, User  # noqa: E402
from bot.db.session import make_engine, upgrade  # noqa: E402
from bot.engine.business_time import BusinessHours  # noqa: E402
from bot.engine.facts import OrgFacts, UserFacts  # noqa: E402
from bot.engine.rules import RulesBook  # noqa: E402
from bot.engine.schedule import due_digests  # noqa: E402
from bot.service.schedule import due_now  # noqa: E402

ZONES = [
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver",
    "America/Chicago", "America/New_York", "America/Sao_Paulo", "Atlantic/Azores",
    "Europe/London", "Europe/Berlin", "Europe/Athens", "Europe/Moscow", "Asia/Dubai",
    "Asia/Karachi", "Asia/Kolkata", "Asia/Bangkok", "Asia/Singapore", "Asia/Tokyo",
    "Australia/Sydney", "Pacific/Auckland",
]  # fmt: skip
NOW = datetime(2026, 11, 17, 13, 45, tzinfo=UTC)  # a Tuesday


def best(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--zones", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    zones = ZONES[: max(1, min(args.zones, len(ZONES)))]
    users = [
        UserFacts(f"u-{n}", f"User {n}", None, f"U{n}", "csm", None, None, zones[n % len(zones)],
                  True, {"send_at": f"{7 + n % 3:02d}:{(n * 7) % 60:02d}"})
        for n in range(args.users)
    ]  # fmt: skip
    org = OrgFacts(
        "Org", "UTC", BusinessHours(), RulesBook(None, {}), None, {}, "assisted", None, None
    )
    served = {(u.id, (NOW - timedelta(days=1)).date()) for u in users}
    due = due_digests(users, org, NOW, served)
    rule_ms = best(lambda: due_digests(users, org, NOW, served), args.runs)

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/schedule.db")
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(insert(Org).values(id=1, name="Org", timezone="UTC"))
            conn.execute(
                insert(User),
                [{"id": u.id, "name": u.name, "slack_user_id": u.slack_user_id,
                  "timezone": u.timezone, "digest": u.digest, "role": "csm"} for u in users],
            )  # fmt: skip
            conn.execute(
                insert(Account), [{"id": f"a-{u.id}", "name": u.id, "csm_id": u.id} for u in users]
            )
            conn.execute(
                insert(Delivery),
                [{"user_id": uid, "local_date": day, "status": "sent", "attempts": 1,
                  "created_at": NOW - timedelta(days=1)} for uid, day in served],
            )  # fmt: skip
        assert len(due_now(engine, NOW)) == len(due)
        whole_ms = best(lambda: due_now(engine, NOW), args.runs)
        engine.dispose()

    table = Table(title=f"Who is due now: {args.users} users in {len(zones)} time zones")
    for column in ("measure", "due", "ms (min of runs)", "target", "ratio"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    table.add_row("rule (due_digests)", str(len(due)), f"{rule_ms:.2f}", "", "")
    table.add_row(
        "round's look-up (due_now, SQLite)",
        str(len(due)),
        f"{whole_ms:.2f}",
        "≤ 10 ms",
        f"{whole_ms / 10:.2f}",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
