"""``followup-bot summary`` and ``prep``: an account's summary and a meeting's brief."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

import typer

from bot.cli.common import (
    CliError,
    DigestFormat,
    State,
    _as_of,
    _dump_json,
    _engine,
    _errors,
    _HelpCommand,
    app,
    err,
    out,
    parse_instant,
    resolve_account,
)
from bot.engine.facts import load_org

# ------------------------------------------------------------------------- summary


def _period_bound(text: str | None, tz: str, what: str, *, end: bool = False) -> datetime | None:
    """A --since/--until value; a plain date as --until means the end of that day."""
    if text is None:
        return None
    moment = parse_instant(text, tz, what)
    if end and len(text) == 10:
        moment = parse_instant((date.fromisoformat(text) + timedelta(days=1)).isoformat(), tz, what)
    return moment


@app.command()
def summary(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only activity from this date (YYYY-MM-DD or ISO)."),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Only activity up to this date (inclusive).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Summarise as of this time. Default: now.")
    ] = None,
    fmt: Annotated[
        DigestFormat, typer.Option("--format", help="text, json, or blocks (the Slack payload).")
    ] = DigestFormat.text,
    save: Annotated[
        bool, typer.Option("--save", help="Also save it (a new version; earlier ones are kept).")
    ] = False,
) -> None:
    """The account summary: ten sections over the whole history or a chosen time range."""
    from bot.engine.summary import Period
    from bot.engine.summary.saved import save_summary
    from bot.summarize import summarize

    state: State = ctx.obj
    with _errors():
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        account_id, _ = resolve_account(engine, account)
        with engine.connect() as conn:
            tz = load_org(conn).timezone
        period = Period(
            since=_period_bound(since, tz, "--since"),
            until=_period_bound(until, tz, "--until", end=True),
        )
        if period.since and period.until and period.since >= period.until:
            raise CliError("--since must be before --until")
        result = summarize(engine, account_id, now, period, settings=state.settings())
        if save:
            with engine.begin() as conn:
                ref = save_summary(conn, result, saved_by=None, now=now)
            err.print(f"Saved as version {ref.version} of {result.account_name}'s summary.")
    if fmt is DigestFormat.json:
        _dump_json(result.to_json())
    elif fmt is DigestFormat.blocks:
        from bot.blocks.summary import account_summary_message

        _dump_json(account_summary_message(result, tz=tz).to_dict())
    else:
        out.print(result.to_text(), markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------- prep


@app.command(cls=_HelpCommand, epilog='Example: followup-bot prep "Acme Corp" --format json')
def prep(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    meeting: Annotated[
        str | None,
        typer.Option(
            "--meeting",
            metavar="MEETING_ID",
            help="Prepare this meeting. Default: the account's next one.",
        ),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Prepare as of this time. Default: now.")
    ] = None,
    fmt: Annotated[
        DigestFormat, typer.Option("--format", help="text, json, or blocks (the Slack payload).")
    ] = DigestFormat.text,
) -> None:
    """The meeting-prep brief for the account's next (or the given) meeting.

    Attendees and their roles, open obligations, recent activity, health and pulses, and
    talking points. It changes nothing.
    """
    from bot.engine.prep import UnknownMeeting, build_brief

    with _errors():
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        account_id, _ = resolve_account(engine, account)
        with engine.connect() as conn:
            tz = load_org(conn).timezone
        try:
            brief = build_brief(engine, account_id, now, meeting_id=meeting)
        except UnknownMeeting as exc:
            raise CliError(str(exc)) from None
    if fmt is DigestFormat.json:
        _dump_json(brief.to_json())
    elif fmt is DigestFormat.blocks:
        from bot.blocks.prep import prep_message

        _dump_json(prep_message(brief, tz=tz).to_dict())
    else:
        out.print(brief.to_text(), markup=False, highlight=False, soft_wrap=True)
