"""What an import reports back, and how it fails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# progress(done, total, label): called now and then while importing (total may be None).
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class ImportIssue:
    path: str  # e.g. "activities[12].account" or "line 7, column 'mrr'"
    message: str  # e.g. "unknown account 'acc-x'"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ImportFailed(Exception):
    """The input is invalid; nothing was written."""

    def __init__(self, source: str, errors: list[ImportIssue]):
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} error(s)")


@dataclass
class ImportReport:
    source: str
    kind: str  # "portfolio" | "accounts_csv"
    dry_run: bool = False
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    records: int = 0  # records read from the input
    seconds: float = 0.0
    # accounts CSV only
    mapping: dict[str, str] = field(default_factory=dict)  # CSV header -> field (or "trait:x")
    preview: list[dict[str, Any]] = field(default_factory=list)  # first 20 rows as imported
    rejected: int = 0
    rejects_file: Path | None = None
    warnings: list[str] = field(default_factory=list)
