"""``followup-bot demo``: the bundled sample portfolio, swept at its reference time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from bot.blocks.dumps import write_demo_payloads
from bot.console import hidden_note, print_digest
from bot.engine.digest import Digest, owns_card, select_digest
from bot.engine.facts import OrgFacts, load_org, load_users
from bot.engine.results import Card
from bot.engine.rules import LANE_ORDER
from bot.engine.sweep import run_sweep
from bot.engine.textfmt import plural
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
        f"swept as of {now.isoformat()} → {len(result.cards)} accounts need attention:"
    )
    readers = [
        u
        for u in users.values()
        if u.active and (u.role == "csm" or any(owns_card(u, c, org) for c in result.cards))
    ]
    digests = [select_digest(result, u, org) for u in sorted(readers, key=lambda u: u.name)]
    for line in where_the_cards_went(result.cards, digests, org):
        console.print(f"  {line}", markup=False)

    table = Table(title="This morning's digests")
    table.add_column("CSM")
    for lane in LANE_ORDER:
        table.add_column(lane.label, justify="right")
    table.add_column("time zone")
    for d in digests:
        table.add_row(
            d.user.name + ("" if d.user.role == "csm" else " (fallback CSM)"),
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
    url = engine.url.render_as_string(hide_password=True)
    console.print(
        f"\nThe demo database is {url} — try "
        f"[bold]followup-bot --database-url {url} "
        f"digest --user {digests[0].user.id if digests else 'USER'} --as-of {now.isoformat()}[/], "
        f"or [bold]sweep --as-of {now.isoformat()} --dry-run[/] for every card."
    )


def where_the_cards_went(cards: list[Card], digests: list[Digest], org: OrgFacts) -> list[str]:
    """Where each flagged account's card went, so that the numbers add up: in a digest (a
    lane's cap leaves some for the App Home), hidden by a reader's noise level, not sent
    (opted out, the digest off) or with nobody to read it."""
    shown = sum(d.total + sum(d.more.values()) for d in digests if not d.skipped)
    capped = sum(sum(d.more.values()) for d in digests if not d.skipped)
    lines = [
        f"{plural(shown, 'card')} in the digests below"
        + (f" ({capped} of them left for the App Home by the per-lane cap)" if capped else "")
    ]
    hidden: dict[tuple[str, str | None], list[Card]] = {}
    for d in digests:
        if d.hidden:
            own = d.user.name if d.user.digest.get("sensitivity") else None
            hidden.setdefault((d.sensitivity, own), []).extend(d.hidden)
    for (sensitivity, own), hid in sorted(hidden.items(), key=lambda kv: kv[0][1] or ""):
        note = hidden_note(hid, sensitivity)
        lines.append(note.replace(" by the ", f" by {own}'s ") if own else note)
    for d in digests:
        if d.skipped:
            owned = [c for c in cards if owns_card(d.user, c, org)]
            if owned:
                why = "opted out" if d.skipped == "opt_out" else "the org's digest is off"
                lines.append(f"{plural(len(owned), 'card')} not sent to {d.user.name}: {why}")
    read = {c.account for d in digests for c in cards if owns_card(d.user, c, org)}
    unread = [c for c in cards if c.account not in read]
    if unread:
        lines.append(
            f"{plural(len(unread), 'card')} with nobody to send to "
            "(no active CSM, and no fallback CSM)"
        )
    return lines
