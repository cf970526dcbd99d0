"""``followup-bot outbox`` and ``outbox retry``: the messages that were not sent."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli.common import (
    CliError,
    Format,
    _dump_json,
    _engine,
    _errors,
    _HelpCommand,
    _HelpGroup,
    _reflow,
    app,
    err,
    out,
)


class OutboxStatus(StrEnum):
    not_sent = "not-sent"
    failed = "failed"
    parked = "parked"
    unknown = "unknown"
    pending = "pending"
    claimed = "claimed"
    sent = "sent"
    all = "all"


OUTBOX_STATUSES: dict[OutboxStatus, tuple[tuple[str, ...] | None, str]] = {
    OutboxStatus.not_sent: (("failed", "parked", "unknown"), "not sent (failed, parked, unknown)"),
    OutboxStatus.failed: (("failed",), "failed"),
    OutboxStatus.parked: (("parked",), "parked"),
    OutboxStatus.unknown: (("unknown",), "unknown"),
    OutboxStatus.pending: (("pending",), "pending"),
    OutboxStatus.claimed: (("claimed",), "being sent"),
    OutboxStatus.sent: (("sent",), "sent"),
    OutboxStatus.all: (None, "in any state"),
}

outbox_app = typer.Typer(
    help=_reflow(
        """List the outgoing messages that were not sent, and send them again.

        Every DM, channel post and webhook call goes through the outbox. A message is `failed`
        when Slack refused it for good (the bot is not in the channel, no such channel, a user
        with no Slack account), `parked` after 5 failed attempts (Slack or the webhook receiver
        down), and `unknown` when its post may or may not have gone through (Slack could not
        tell). Without a command: the list, those not sent by default. Nothing is sent here.
        """
    ),
    epilog="Examples: followup-bot outbox  ·  followup-bot outbox --status all --format json  ·  "
    "followup-bot outbox retry 12 15",
    cls=_HelpGroup,
    invoke_without_command=True,
    no_args_is_help=False,
    subcommand_metavar="[retry ID...]",
)
app.add_typer(outbox_app, name="outbox")


@outbox_app.callback()
def outbox(
    ctx: typer.Context,
    status: Annotated[
        OutboxStatus,
        typer.Option(
            "--status",
            help="Which messages: not-sent (failed, parked and unknown), failed, parked, "
            "unknown, pending, claimed (being sent), sent or all.",
        ),
    ] = OutboxStatus.not_sent,
    fmt: Annotated[
        Format, typer.Option("--format", help="Print a table (text) or json.")
    ] = Format.text,
    limit: Annotated[
        int,
        typer.Option("--limit", min=1, max=10_000, metavar="N", help="Show the newest N."),
    ] = 100,
) -> None:
    """List the outbox's messages: those not sent by default."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.console_outbox import print_outbox
    from bot.service.outbox_admin import list_rows

    statuses, what = OUTBOX_STATUSES[status]
    with _errors():
        engine = _engine(ctx)
        with engine.connect() as conn:
            listing = list_rows(conn, statuses, limit=limit)
    if fmt is Format.json:
        _dump_json(
            {
                "status": status.value,
                "total": listing.total,
                "messages": [row.to_json() for row in listing.rows],
            }
        )
        return
    hint = any(row.status in ("failed", "parked", "unknown") for row in listing.rows)
    print_outbox(out, listing, what, hint)


@outbox_app.command(
    "retry",
    cls=_HelpCommand,
    epilog="Examples: followup-bot outbox retry 12 15  ·  followup-bot outbox retry --all-parked",
)
def outbox_retry(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="ID",
            help="The messages' ids, as `followup-bot outbox` lists them.",
            show_default=False,
        ),
    ] = None,
    all_parked: Annotated[
        bool, typer.Option("--all-parked", help="Every parked message (with the IDs given).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Retry unknown messages too. Such a message may have been posted already "
            "(Slack could not tell): it may then be posted twice.",
        ),
    ] = False,
) -> None:
    """Put messages that were not sent back in the queue; the next round sends them.

    A failed or parked message starts again from its first attempt: fix what stopped it first
    (invite the bot to the channel, bring the webhook receiver back…). An unknown message may
    have been posted already, since Slack could not tell: check its channel, and retry it only
    with --force. All or nothing: an id that is not in the outbox, or a message that was sent
    or is being sent, is reported and nothing changes. Nothing is sent here: the scheduler's
    next round, or `followup-bot tick`, sends them.
    """
    from bot.console_outbox import print_retry
    from bot.service.outbox_admin import parked_ids, retry

    with _errors():
        if not ids and not all_parked:
            raise CliError(
                "outbox retry: give the messages' ids (see `followup-bot outbox`), or --all-parked"
            )
        engine = _engine(ctx)
        wanted = list(ids or [])
        if all_parked:
            with engine.connect() as conn:
                wanted += parked_ids(conn)
            if not wanted:
                out.print("No parked messages: nothing to retry.")
                return
        now = datetime.now(UTC).replace(microsecond=0)
        report = retry(engine, wanted, now=now, actor="cli", force=force)
    if not report.ok:
        for why in report.refused:
            err.print(f"[bold red]error:[/] {escape(why)}", highlight=False, soft_wrap=True)
        err.print("Nothing was changed.")
        raise typer.Exit(1)
    print_retry(out, report)
