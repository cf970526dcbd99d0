"""The ``followup-bot`` command line (cli.md)."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from bot.console import make_console, print_digest, print_lanes, print_suppressed
from bot.db.session import DatabaseError, ensure_schema, make_engine
from bot.engine.business_time import zone
from bot.engine.digest import select_digest
from bot.engine.facts import load_org, load_users
from bot.engine.incremental import as_sweep_result, run_incremental_sweep, stored_queue
from bot.engine.lookup import find_account
from bot.engine.policy import AutomationLevel, Policy, org_level, parse_blocker, parse_level
from bot.engine.sweep import run_sweep
from bot.engine.triage import exclude_account, include_account
from bot.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from slack_bolt import App


class _HelpCommand(typer.core.TyperCommand):
    """A command whose ``--help`` shows no type placeholder (``<bool>``) after a flag: a flag
    takes no value (Typer shows every parameter's type, flags included); and whose description
    is reflowed to the terminal's width (a docstring's line breaks are not kept)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _reflow(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        return _no_flag_placeholders(params)


class _HelpGroup(typer.core.TyperGroup):
    """The command groups' counterpart of :class:`_HelpCommand`."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        return _no_flag_placeholders(params)


def _reflow(text: str) -> str:
    """Each paragraph of ``text`` on one line (the help's renderer wraps it)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _no_flag_placeholders(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # shown in place of the type: nothing
    return params


app = typer.Typer(
    name="followup-bot",
    cls=_HelpGroup,
    help="Daily follow-up lanes for customer-success managers: import your portfolio, sweep it, "
    "and deliver each CSM's cards in Slack.\n\n"
    "Start with `followup-bot demo`; the user guide is in the repository's docs/ folder.",
    epilog="Example: followup-bot --database-url sqlite:///followup.db import portfolio.json",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(
    help="Database maintenance.",
    epilog="Example: followup-bot db upgrade",
    no_args_is_help=True,
    cls=_HelpGroup,
)
app.add_typer(db_app, name="db")

out = make_console()
err = make_console(stderr=True)


class Format(StrEnum):
    text = "text"
    json = "json"


class DigestFormat(StrEnum):
    text = "text"
    json = "json"
    blocks = "blocks"


class CliError(Exception):
    """A user-facing failure: printed as one clear message, exit status 1."""


@dataclass
class State:
    database_url: str | None = None

    def settings(self) -> Settings:
        return load_settings(database_url=self.database_url)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


@app.callback()
def _global(
    ctx: typer.Context,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            metavar="URL",
            help="SQLAlchemy URL of the database; wins over DATABASE_URL. "
            f"Default: {DEFAULT_DATABASE_URL}.",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(database_url=database_url)


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except (CliError, SettingsError, DatabaseError) as exc:
        fail(str(exc))


def _engine(ctx: typer.Context, url: str | None = None) -> Engine:
    state: State = ctx.obj
    settings = state.settings()
    engine = make_engine(url or settings.database_url)
    ensure_schema(engine)
    return engine


def parse_instant(text: str, tz_name: str, what: str = "--as-of") -> datetime:
    """ISO 8601 with an offset (absolute), without one (org time zone) or a plain date."""
    try:
        if len(text) == 10:
            return datetime.combine(
                date.fromisoformat(text), time(0), tzinfo=zone(tz_name)
            ).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"{what}: '{text}' is not an ISO 8601 time (e.g. 2026-11-16T09:00:00Z or 2026-11-16)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz_name))
    return moment.astimezone(UTC)


def _as_of(engine: Engine, as_of: str | None) -> datetime:
    if as_of is None:
        return datetime.now(UTC).replace(microsecond=0)
    with engine.connect() as conn:
        tz = load_org(conn).timezone
    return parse_instant(as_of, tz)


def _dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------ db


@db_app.command(
    "upgrade",
    cls=_HelpCommand,
    epilog="Example: followup-bot --database-url postgresql+psycopg://bot@db/followup db upgrade",
)
def db_upgrade(ctx: typer.Context) -> None:
    """Apply the database migrations (Alembic) up to the latest version.

    Every command does this on first use; run it on its own before starting a new release.
    """
    with _errors():
        engine = _engine(ctx)
        out.print(f"Database is up to date: {engine.url.render_as_string(hide_password=True)}")


# -------------------------------------------------------------------------- import


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[int, int | None, str], None] | None]:
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=None)

        def update(done: int, total: int | None, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield update


@app.command(
    "import",
    cls=_HelpCommand,
    epilog="Examples: followup-bot import portfolio.json  ·  "
    "followup-bot import accounts.csv --dry-run",
)
def import_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A portfolio JSON file (followup-portfolio/1) or an accounts CSV.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check the file and show what would change; write nothing."),
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="CSV only: import the valid rows and write the rejected ones, with the reason, "
            "to a file next to it.",
        ),
    ] = False,
) -> None:
    """Import a portfolio JSON file or an accounts CSV, all or nothing.

    Importing merges: a record updates the fields it gives and creates what is new, so a daily
    export can be imported again and again. On any error nothing is written and every problem
    is listed with where it is.
    """
    from bot.importer import ImportFailed, import_file
    from bot.importer.accounts_csv import RowsRejected

    with _errors():
        if not file.is_file():
            raise CliError(f"{file}: no such file")
        engine = _engine(ctx)
        try:
            with _progress_bar(err.is_terminal) as progress:
                report = import_file(
                    engine,
                    file,
                    now=datetime.now(UTC).replace(microsecond=0),
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                    progress=progress,
                )
        except ImportFailed as exc:
            outcome = "nothing was imported"
            if isinstance(exc, RowsRejected):  # a dry run: what the valid rows would be
                _print_mapping_and_preview(exc.report, valid_only=True)
                outcome = "nothing would be imported (--skip-invalid imports the valid rows)"
            err.print(f"[bold red]error:[/] {exc.source}: {len(exc.errors)} problem(s); {outcome}")
            for issue in exc.errors:  # every one (data-format.md)
                err.print(f"  {issue}", markup=False)
            raise typer.Exit(1) from None
    _print_import_report(report)


def _print_mapping_and_preview(report: Any, *, valid_only: bool = False) -> None:
    if report.mapping:
        table = Table(title="Column mapping", show_header=True)
        table.add_column("CSV column")
        table.add_column("imported as")
        for column, target in report.mapping.items():
            table.add_row(column, target)
        out.print(table)
    if report.preview:
        rows = f"{len(report.preview)} valid rows" if valid_only else f"{len(report.preview)} rows"
        table = Table(title=f"First {rows} as they would be imported")
        keys = list(report.preview[0])
        for key in keys:
            table.add_column(key)
        for row in report.preview:
            table.add_row(*("" if row.get(k) is None else str(row.get(k)) for k in keys))
        out.print(table)


def _print_import_report(report: Any) -> None:
    _print_mapping_and_preview(report)
    verb = "would be" if report.dry_run else "were"
    kinds = sorted(set(report.created) | set(report.updated) | set(report.unchanged))
    table = Table(
        title=f"{report.source}: {'dry run, nothing written' if report.dry_run else 'imported'}"
    )
    table.add_column("records")
    table.add_column("created", justify="right")
    table.add_column("updated", justify="right")
    table.add_column("unchanged", justify="right")
    for kind in kinds:
        table.add_row(
            kind,
            str(report.created.get(kind, 0)),
            str(report.updated.get(kind, 0)),
            str(report.unchanged.get(kind, 0)),
        )
    out.print(table)
    created, updated = sum(report.created.values()), sum(report.updated.values())
    out.print(
        f"{created} created and {updated} updated records {verb} imported"
        + (f" in {report.seconds:.1f}s" if report.seconds and not report.dry_run else "")
        + "."
    )
    if report.rejected:
        where = f"; see {report.rejects_file}" if report.rejects_file else " (dry run: not written)"
        out.print(f"[yellow]{report.rejected} row(s) rejected[/]{where}")
    for warning in report.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


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


def _require_user(engine: Engine, user_id: str) -> None:
    with engine.connect() as conn:
        users = load_users(conn, "UTC")
    if user_id not in users:
        known = ", ".join(sorted(users)[:10]) or "none imported yet"
        raise CliError(f"--user: unknown user '{user_id}' (known: {known})")


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


def resolve_account(engine: Engine, query: str) -> tuple[str, str]:
    with engine.connect() as conn:
        found = find_account(conn, query)
    if found.match is not None:
        return found.match.id, found.match.name
    if found.candidates:
        listed = "; ".join(f"{c.name} ({c.id})" for c in found.candidates)
        raise CliError(f"account '{query}' matches several accounts: {listed} — give its id")
    hint = ""
    if found.suggestions:
        hint = " — did you mean: " + "; ".join(f"{s.name} ({s.id})" for s in found.suggestions)
    raise CliError(f"unknown account '{query}': no account has that id or name{hint}")


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


# ----------------------------------------------------------------- policy, actions


LevelOption = Annotated[
    str | None,
    typer.Option(
        "--automation-level",
        help="recommend, assisted or autonomous. Default: the org's (assisted if none).",
        show_default=False,
    ),
]


def _level_option(value: str | None) -> AutomationLevel | None:
    if value is None:
        return None
    try:
        return parse_level(value)
    except ValueError as exc:
        raise CliError(f"--automation-level: {exc}") from None


@app.command(cls=_HelpCommand, epilog="Example: followup-bot policy --automation-level autonomous")
def policy(
    ctx: typer.Context,
    automation_level: LevelOption = None,
    blocker: Annotated[
        str, typer.Option("--blocker", help="For accounts with this blocker: none, minor, major.")
    ] = "none",
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Show the effective action policy: each action's status per segment."""
    with _errors():
        level = _level_option(automation_level)
        try:
            blocker_value = parse_blocker(blocker)
        except ValueError as exc:
            raise CliError(f"--blocker: {exc}") from None
        if level is None:
            engine = _engine(ctx)
            with engine.connect() as conn:
                level = org_level(load_org(conn).automation_level)
    effective = Policy(level, blocker_value)
    if fmt is Format.json:
        _dump_json(effective.to_json())
        return
    from bot.console_actions import print_policy

    print_policy(out, effective)


@app.command(cls=_HelpCommand, epilog='Example: followup-bot actions "Acme Corp" --format json')
def actions(
    ctx: typer.Context,
    account: Annotated[str, typer.Argument(help="Account id or name.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="As of this time (ISO 8601). Default: now.")
    ] = None,
    automation_level: LevelOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.text,
) -> None:
    """Assess one account and show the actions the bot recommends for it.

    Each action shows its status (auto, needs approval, recommended), owner, priority and the
    signals behind it. Nothing is changed.
    """
    from bot.engine.actions import plan_actions

    with _errors():
        level = _level_option(automation_level)
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        account_id, _name = resolve_account(engine, account)
        plan = plan_actions(engine, account_id, now, level)
    if fmt is Format.json:
        _dump_json(plan.to_json())
        return
    from bot.console_actions import print_action_plan

    print_action_plan(out, plan)


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


# ---------------------------------------------------------------------------- demo


def sample_portfolio_path() -> Path:
    return Path(str(resources.files("bot.data") / "sample_portfolio.json"))


@app.command(cls=_HelpCommand, epilog="Example: followup-bot demo --out payloads/")
def demo(
    ctx: typer.Context,
    out_dir: Annotated[
        Path,
        typer.Option("--out", metavar="DIR", help="The folder to write the Slack payloads to."),
    ] = Path("demo-out"),
) -> None:
    """Show the bot on its bundled sample portfolio, in a database of its own.

    The demo loads the sample portfolio into a fresh database, sweeps it at the sample's
    reference time, prints each CSM's daily digest and writes every Slack payload the bot
    would send into DIR, one JSON file each. It never reads DATABASE_URL.
    """
    from bot.demo import run_demo

    state: State = ctx.obj
    with _errors():
        if state.database_url:
            try:
                engine = make_engine(state.database_url)
            except DatabaseError as exc:  # named as the other commands name it
                raise CliError(f"invalid setting --database-url: {exc}") from None
        else:
            url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='followup-demo-')) / 'demo.db'}"
            engine = make_engine(url)
        ensure_schema(engine)
        run_demo(engine, sample_portfolio_path(), out_dir, out)


# ----------------------------------------------------------------- Slack: serve, deliver


@app.command(cls=_HelpCommand, epilog="Example: followup-bot serve --http --port 3000")
def serve(
    ctx: typer.Context,
    http: Annotated[
        bool,
        typer.Option(
            "--http", help="Serve HTTP on /slack/events, even when SLACK_APP_TOKEN is set."
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", metavar="N", help="The HTTP port; 0 picks a free one.")
    ] = 3000,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="The HTTP address to listen on.")
    ] = "0.0.0.0",
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Do not run the scheduler in this process.")
    ] = False,
    work_processes: Annotated[
        int | None,
        typer.Option(
            "--work-processes",
            min=1,
            metavar="N",
            help="How many work processes do what follows each answer. "
            "Default: one per CPU, at most 4.",
        ),
    ] = None,
) -> None:
    """Run the Slack app until Ctrl-C or SIGTERM.

    It uses Socket Mode when SLACK_APP_TOKEN is set and --http is not given. Otherwise it serves
    HTTP on /slack/events behind a production WSGI server (waitress), with GET /healthz for a
    load balancer. This process answers Slack; the work processes started with it do the work
    that follows each answer.
    """
    from slack_sdk.errors import SlackClientError

    from bot.app import build_app
    from bot.logs import setup_logging_from
    from bot.slack.client import bot_token, signing_secret
    from bot.work_process import WorkPool, WorkSpec, default_work_processes

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        bot_token(settings)
        socket_mode = settings.slack_app_token is not None and not http
        if not socket_mode:
            signing_secret(settings)
        setup_logging_from(settings)
        engine = _engine(ctx)
        url = engine.url.render_as_string(hide_password=False)
        work = WorkPool(WorkSpec(settings, url), work_processes or default_work_processes())
        try:
            bolt = build_app(settings, engine, socket_mode=socket_mode, forward=work.forward)
        except (SlackClientError, OSError) as exc:
            raise CliError(f"cannot reach Slack at {settings.slack_api_url}: {exc}") from None
    work.start()
    try:
        _serve(
            bolt,
            settings,
            socket_mode=socket_mode,
            host=host,
            port=port,
            scheduler=engine if not no_scheduler else None,
        )
    finally:
        work.stop()


def _serve(
    bolt: App,
    settings: Settings,
    *,
    socket_mode: bool,
    host: str,
    port: int,
    scheduler: Engine | None,
) -> None:
    """Answer Slack until Ctrl-C or SIGTERM; with ``scheduler`` (its database), run
    ``followup-bot scheduler`` beside it meanwhile."""
    from bot.app import settle_heap

    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: the work process too
    settle_heap()
    child = None
    if scheduler is not None:
        # Its own process (`followup-bot scheduler`), stopped with this one: a round's sweep
        # never holds up the answers to Slack. The database URL goes by the environment.
        url = scheduler.url.render_as_string(hide_password=False)
        env = {**os.environ, "DATABASE_URL": url}
        child = subprocess.Popen([sys.executable, "-m", "bot", "scheduler"], env=env)
    try:
        _answer(bolt, settings, socket_mode=socket_mode, host=host, port=port)
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _answer(bolt: App, settings: Settings, *, socket_mode: bool, host: str, port: int) -> None:
    from slack_sdk.errors import SlackClientError

    from bot.app import make_http_server, run_socket_mode

    if socket_mode:
        assert settings.slack_app_token is not None
        out.print("Connecting to Slack over Socket Mode (Ctrl-C to stop)…")
        try:
            run_socket_mode(bolt, settings.slack_app_token.get_secret_value())
        except SlackClientError as exc:
            from bot.slack.client import error_code

            fail(
                "SLACK_APP_TOKEN: Slack did not open a Socket Mode connection "
                f"({error_code(exc)}); check the app-level token and that Socket Mode is on"
            )
        except KeyboardInterrupt:
            out.print("Stopped.")
        return
    try:
        server = make_http_server(bolt, host=host, port=port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
    sys.stdout.write(
        f"Listening on http://{server.effective_host}:{server.effective_port}/slack/events "
        "(Ctrl-C to stop)\n"
    )
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        out.print("Stopped.")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command(cls=_HelpCommand, epilog="Example: followup-bot deliver --user u-ana")
def deliver(
    ctx: typer.Context,
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="USER_ID", help="Send only this user's DM."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="TIME", help="Sweep as of this time (ISO 8601). Default: now."
        ),
    ] = None,
) -> None:
    """Sweep, then send today's daily DMs in Slack now.

    Every CSM with cards (or the one --user) gets their DM, whatever their send_at. A DM is sent
    once per user and local day: a second run the same day updates the message in place.
    """
    from slack_sdk.errors import SlackClientError

    from bot.ai.client import AiConfig
    from bot.logs import setup_logging_from
    from bot.service.daily_dm import deliver_digests
    from bot.slack.client import make_client
    from bot.slack.delivery import Status

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        client = make_client(settings)
        setup_logging_from(settings, default_level="WARNING")
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        if user is not None:
            _require_user(engine, user)
        try:
            report = deliver_digests(
                engine, client, as_of=now, user_id=user, ai=AiConfig.from_settings(settings)
            )
        except (SlackClientError, OSError) as exc:
            raise CliError(f"cannot reach Slack at {settings.slack_api_url}: {exc}") from None
    out.print(
        f"Daily DMs as of {now.isoformat()}: {report.summary()} "
        f"({report.cards} cards, {report.alerts_new} new alerts)",
        soft_wrap=True,
    )
    for outcome in report.outcomes:
        out.print(f"  {outcome.status.value:<8} {outcome.describe()}", markup=False, soft_wrap=True)
    if not report.outcomes:
        out.print("  nobody to send to: no active CSM owns an account in scope")
    if report.by_status(Status.FAILED):
        raise typer.Exit(1)


# ------------------------------------------------------------------------ scheduler


@app.command(cls=_HelpCommand, epilog="Example (crontab): * * * * * followup-bot tick")
def tick(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="TIME", help="Run the round as of this time (ISO 8601)."),
    ] = None,
) -> None:
    """Run one scheduler round now and exit: sweep, send what is due, run the due actions.

    The round sweeps (recording), sends the daily DMs due in each reader's time zone, runs the
    due actions (gated ones wait for approval) and sends every due message of the outbox. For
    cron-style deployments, run it every minute instead of `followup-bot scheduler`: each
    message is sent once however often it runs, or however many run at once.
    """
    from slack_sdk.errors import SlackClientError

    from bot.ai.client import AiConfig
    from bot.logs import setup_logging_from
    from bot.service.rounds import run_round
    from bot.service.webhook import webhook_from
    from bot.slack.client import make_client

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        client = make_client(settings)
        setup_logging_from(settings, default_level="WARNING")
        engine = _engine(ctx)
        now = _as_of(engine, as_of)
        try:
            report = run_round(
                engine,
                client,
                now,
                webhook=webhook_from(settings),
                ai=AiConfig.from_settings(settings),
            )
        except (SlackClientError, OSError) as exc:
            raise CliError(f"cannot reach Slack at {settings.slack_api_url}: {exc}") from None
    out.print(f"Round as of {now.isoformat()}:", soft_wrap=True)
    for line in report.lines():
        out.print(f"  {line}", markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


@app.command(cls=_HelpCommand, epilog="Example: followup-bot scheduler")
def scheduler(ctx: typer.Context) -> None:
    """Run the scheduler alone (no Slack listener): a round every minute until stopped.

    For deployments that run `followup-bot serve --no-scheduler` replicas. On PostgreSQL any
    number may run; each message is still sent once. On SQLite run one.
    """
    from bot.ai.client import AiConfig
    from bot.logs import setup_logging_from
    from bot.scheduler import build_scheduler
    from bot.service.webhook import webhook_from
    from bot.slack.client import bot_token, make_client

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        bot_token(settings)
        client = make_client(settings)
        setup_logging_from(settings)
        engine = _engine(ctx)
        webhook = webhook_from(settings)
    signal.signal(signal.SIGTERM, _interrupt)
    out.print("Scheduler running: a round every minute (Ctrl-C to stop)…")
    try:
        ai = AiConfig.from_settings(settings)
        build_scheduler(engine, client, background=False, webhook=webhook, ai=ai).start()
    except KeyboardInterrupt:
        out.print("Stopped.")


# --------------------------------------------------------------------------- outbox


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


def main() -> None:
    try:
        app()
    except SettingsError as exc:  # raised before a command's own handler (e.g. while parsing)
        fail(str(exc))
