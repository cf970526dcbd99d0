"""``followup-bot import`` and ``followup-bot db upgrade``: data into the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.common import CliError, _engine, _errors, _HelpCommand, app, db_app, err, out

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
