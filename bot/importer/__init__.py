"""Portfolio import: the JSON format of data-format.md and the accounts CSV.

Public API (used by the CLI and the demo):

* ``import_file(engine, path, *, now, dry_run=False, skip_invalid=False, progress=None)``
  → ``ImportReport``; raises ``ImportFailed`` (with every error and its path) and writes
  nothing when the input is invalid.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from bot.gc_pause import gc_paused
from bot.importer.report import ImportFailed, ImportIssue, ImportReport, Progress

__all__ = ["ImportFailed", "ImportIssue", "ImportReport", "Progress", "import_file"]


def import_file(
    engine: Engine,
    path: str | Path,
    *,
    now: datetime,
    dry_run: bool = False,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a portfolio JSON file or an accounts CSV (chosen by the file's extension, else by
    its first character).

    ``now`` stamps what the import records about itself (e.g. an exclusion's ``created_at``).
    ``dry_run`` checks everything and counts what would be created and updated, writing
    nothing. ``skip_invalid`` (accounts CSV only) imports the valid rows and writes the rejected
    ones to a file next to the CSV. ``progress(done, total, label)`` is called every few
    thousand records.
    """
    from bot.importer.accounts_csv import import_accounts_csv
    from bot.importer.portfolio import import_portfolio

    file = Path(path)
    with gc_paused():  # millions of rows and records, kept until the end
        if _is_csv(file):
            return import_accounts_csv(
                engine,
                file,
                now=now,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=progress,
            )
        report = import_portfolio(engine, file, now=now, dry_run=dry_run, progress=progress)
    if skip_invalid:
        report.warnings.append("--skip-invalid applies to accounts CSV files only; ignored")
    return report


def _is_csv(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return True
    if suffix == ".json":
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False  # the JSON reader reports it
    return not head.startswith((b"{", b"["))
