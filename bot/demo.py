"""``followup-bot demo``: the bundled sample portfolio, swept at its reference time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from bot.blocks.dumps import write_demo_payloads
from bot.console import print_digest
from bot.engine.digest import select_digest
from bot.engine.facts import load_org, load_users
from bot.engine.rules import LANE_ORDER
from bot.engine.sweep import run_sweep
from bot.importer import import_file


def run_demo(engine: Engine, sample: Path, out_dir: Path, console: Console) -> None:
    report = import_file(engine, sample, now=datetime.now(UTC).replace(microsecond=0))
    with engine.connect() as conn:
        from sqlalchemy import select

        from bot.db.models import Org

        reference = conn.execute(select(Org.reference_time)).scalar()
        org = load_org(conn)
        users = load_users(conn, org.timezone)
    now = reference or datetime.now(UTC).replace(microsecond=0)
    result = run_sweep(engine, now, dry_run=False)

    console.print(
        f"[bold]{org.name}[/]: {report.created.get('accounts', 0)} accounts imported; "
        f"swept as of {now.isoformat()} → {len(result.cards)} accounts need attention."
    )
    csms = [u for u in users.values() if u.role == "csm" and u.active]
    digests = [select_digest(result, u, org) for u in sorted(csms, key=lambda u: u.name)]

    table = Table(title="This morning's digests")
    table.add_column("CSM")
    for lane in LANE_ORDER:
        table.add_column(lane.label, justify="right")
    table.add_column("time zone")
    for d in digests:
        table.add_row(
            d.user.name,
            *(str(len(d.lanes[lane]) + d.more.get(lane, 0)) for lane in LANE_ORDER),
            d.user.timezone,
        )
    console.print(table)
    for d in digests:
        print_digest(console, d)
    written = write_demo_payloads(engine, result, org, users, digests, out_dir)
    console.print(f"\nWrote {len(written)} Slack payloads to {out_dir}/:")
    for path in written:
        console.print(f"  {path.name}", markup=False)
    console.print(
        f"\nThe demo database is {engine.url.render_as_string(hide_password=True)} — try "
        f"[bold]followup-bot --database-url {engine.url.render_as_string(hide_password=True)} "
        f"digest --user {digests[0].user.id if digests else 'USER'} --as-of {now.isoformat()}[/]"
    )
