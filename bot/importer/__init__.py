"""Portfolio import: the JSON format of data-format.md and the accounts CSV.

Public API (used by the CLI and the demo):

* ``import_file(engine, path, *, now, dry_run=False, skip_invalid=False, progress=None)``
  → ``ImportReport``; raises ``ImportFailed`` (with every error and its path) and writes
  nothing when the input is invalid.
"""

from bot.importer.report import ImportFailed, ImportIssue, ImportReport, Progress

__all__ = ["ImportFailed", "ImportIssue", "ImportReport", "Progress", "import_file"]


def import_file(*args, **kwargs):  # type: ignore[no-untyped-def]  # replaced by the importer
    raise NotImplementedError
