"""``followup-bot sweep``, ``digest`` and ``exclude``: what the queues hold, and accounts kept
out of them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from sqlalchemy import Engine

from bot.cli.common import (
    CliError,
    DigestFormat,
    Format,
    _as_of,
    _dump_json,
    _engine,
    _errors,
    _HelpCommand,
    _require_user,
    app,
    out,
    resolve_account,
)
from bot.console import print_digest, print_lanes, print_suppressed
from bot.engine.business_time import zone
from bot.engine.digest import select_digest
from bot.engine.facts import load_org, load_users
from bot.engine.incremental import as_sweep_result, run_incremental_sweep, stored_queue
from bot.engine.sweep import run_sweep
from bot.engine.triage import exclude_account, include_account

# --------------------------------------------------------------------------- sweep


@app.command(
    cls=_HelpCommand,
    epilog="Example: followup-bot sweep --as-of 2026-11-16T09:00 --format json --dry-run",
)
def sweep(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="TIME",
            help="Sweep as of this time (ISO 8601; without an offset, in the org's time zone). "
            "Default: now.",
        ),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", help="Print text, or json (the sweep JSON).")
    ] = Format.text,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute and print, but record no alerts.")
    ] = False,
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="USER_ID", help="Sweep only this CSM's accounts."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            metavar="N",
            help="How many processes share a sweep of 20,000 accounts or more. Default: one "
            "per CPU, at most 4; 1 sweeps in this process alone.",
        ),
    ] = None,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Re-evaluate only the accounts whose data changed or whose next threshold has "
            "passed, then print the whole queue (--user: that user's part of it).",
        ),
    ] = False,
) -> None:
    """Run the follow-up sweep: flag accounts into lanes and record their alerts.

    A sweep never sends anything to Slack; `deliver` does.
    """
    with _errors():
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        if user is not None:
            _require_user(engine, user)
        if incremental:
            if dry_run:
                raise CliError("--incremental records what it finds: it has no --dry-run")
            _incremental_sweep(engine, now, fmt, user)
            return
        result = run_sweep(engine, now, dry_run=dry_run, csm_id=user, workers=workers)
    if fmt is Format.json:
        _dump_json(result.to_json())
        return
    out.print(
        f"Sweep as of {now.isoformat()}: {result.accounts} accounts, {len(result.cards)} cards"
        + ("" if dry_run else f", {result.alerts_new} new alerts")
        + (" (dry run)" if dry_run else "")
    )
    with engine.connect() as conn:
        today = now.astimezone(zone(load_org(conn).timezone)).date()
    print_lanes(out, result.lanes(), today=today)
    print_suppressed(out, result.suppressed)


def _incremental_sweep(engine: Engine, now: datetime, fmt: Format, user: str | None) -> None:
    done = run_incremental_sweep(engine, now)
    with engine.connect() as conn:
        result = as_sweep_result(done, stored_queue(conn, user))
    if fmt is Format.json:
        _dump_json(result.to_json())
        return
    how = "as a full sweep" if done.full else "incremental"
    out.print(
        f"Sweep as of {now.isoformat()} ({how}): re-evaluated {done.evaluated} of "
        f"{done.accounts} accounts; {len(result.cards)} cards in the queue"
        + (f" of {user}" if user else "")
        + f", {done.alerts_new} new alerts"
    )
    print_lanes(out, result.lanes())
    print_suppressed(out, result.suppressed)


# -------------------------------------------------------------------------- digest


@app.command(cls=_HelpCommand, epilog="Example: followup-bot digest --user u-ana --format blocks")
def digest(
    ctx: typer.Context,
    user: Annotated[
        str,
        typer.Option("--user", metavar="USER_ID", help="The user whose digest to show."),
    ],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="TIME", help="As of this time (ISO 8601). Default: now."),
    ] = None,
    fmt: Annotated[
        DigestFormat,
        typer.Option(
            "--format", help="Print text, json, or blocks (the exact Slack message payloads)."
        ),
    ] = DigestFormat.text,
) -> None:
    """Show what a user's daily DM holds after their digest settings.

    It changes nothing and sends nothing.
    """
    with _errors():
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        _require_user(engine, user)
        with engine.connect() as conn:
            org = load_org(conn)
            reader = load_users(conn, org.timezone)[user]
        result = run_sweep(engine, now, dry_run=True, csm_id=user)
        selected = select_digest(result, reader, org)
    if fmt is DigestFormat.blocks:
        from bot.blocks.digest import digest_payloads

        _dump_json(digest_payloads(selected))
    elif fmt is DigestFormat.json:
        _dump_json(selected.to_json())
    else:
        print_digest(out, selected)


# ------------------------------------------------------------------------- exclude


@app.command(
    cls=_HelpCommand,
    epilog='Example: followup-bot exclude "Acme Corp" --reason "in wind-down" --until 2027-01-31',
)
def exclude(
    ctx: typer.Context,
    account: Annotated[
        str,
        typer.Argument(
            metavar="ACCOUNT", help="The account's id, or its whole name (in any case)."
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="TEXT", help="Why it is kept out.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Keep it out until this date (YYYY-MM-DD)."),
    ] = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Let the account back into the queues.")
    ] = False,
) -> None:
    """Keep an account out of every queue, or let it back in with --remove."""
    with _errors():
        engine = _engine(ctx)
        account_id, name = resolve_account(engine, account)
        until_date = None
        if until is not None:
            try:
                until_date = date.fromisoformat(until)
            except ValueError:
                raise CliError(f"--until: '{until}' is not a date (YYYY-MM-DD)") from None
        now = datetime.now(UTC).replace(microsecond=0)
        with engine.begin() as conn:
            if remove:
                if not include_account(conn, account_id, actor="cli", now=now):
                    raise CliError(f"{name} ({account_id}) is not excluded")
                out.print(f"{name} ({account_id}) is back in the queues.")
                return
            exclude_account(conn, account_id, reason=reason, until=until_date, actor="cli", now=now)
    until_text = f" until {until_date.isoformat()}" if until_date else ""
    out.print(f"{name} ({account_id}) is excluded from every queue{until_text}.")
