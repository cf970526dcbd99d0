"""Readable terminal output of the outbox (``followup-bot outbox``): a table of its messages,
and what ``outbox retry`` did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.service.outbox_admin import Listing, OutboxRow, RetryReport

STATUS_STYLE = {
    "failed": "bold red",
    "parked": "yellow",
    "unknown": "magenta",
    "pending": "cyan",
    "claimed": "cyan",
    "sent": "green",
}
ERROR_WIDTH = 60


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def recipient(row: OutboxRow) -> str:
    """Whom or where: our user id (a DM), a channel id (a post; a reply names its thread),
    or the webhook's URL."""
    where = row.target or "(none)"
    if row.kind == "dm":
        where = f"DM {where}"
    if row.thread_ts:
        where += f" (thread {row.thread_ts})"
    return where


def _fit(text: str | None, width: int) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def print_outbox(console: Console, listing: Listing, what: str, hint: bool) -> None:
    """``listing`` under the title ``what`` (e.g. "not sent (failed, parked, unknown)");
    ``hint``: say how to send them again."""
    if not listing.rows:
        console.print(f"No outbox messages {what}.")
        return
    shown = len(listing.rows)
    of = f"{shown} of {listing.total}" if shown < listing.total else str(shown)
    table = Table(title=f"Outbox: {of} message(s) {what}, newest first · times in UTC")
    table.add_column("ID", justify="right")
    table.add_column("Kind")
    table.add_column("To")
    table.add_column("Key")
    table.add_column("Status")
    table.add_column("Tries", justify="right")
    table.add_column("Last error")
    table.add_column("Created")
    table.add_column("Updated")
    for row in listing.rows:
        updated = _when(row.updated_at)
        if row.next_attempt_at is not None:
            updated += f"\n(due {_when(row.next_attempt_at)})"
        table.add_row(
            str(row.id),
            row.kind,
            Text(recipient(row)),
            Text(row.key),
            Text(row.status, style=STATUS_STYLE.get(row.status, "")),
            str(row.attempts),
            Text(_fit(row.error, ERROR_WIDTH)),
            _when(row.created_at),
            updated,
        )
    console.print(table)
    if shown < listing.total:
        console.print(f"{listing.total - shown} older one(s) not shown: --limit N shows more.")
    if hint:
        console.print(
            "Send them again with `followup-bot outbox retry ID…` (or --all-parked); the next "
            "round sends them. An unknown one may have been posted already: check its channel, "
            "then retry it with --force."
        )


def _names(rows: Sequence[OutboxRow]) -> str:
    return ", ".join(f"{r.id} ({r.key})" for r in rows)


def print_retry(console: Console, report: RetryReport) -> None:
    if report.retried:
        console.print(
            f"Back in the queue: {_names(report.retried)}. The next round (the scheduler, or "
            "`followup-bot tick`) sends them.",
            markup=False,
        )
    if report.already_pending:
        console.print(f"Pending already: {_names(report.already_pending)}.", markup=False)
