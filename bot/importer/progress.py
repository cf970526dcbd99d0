"""Calls the caller's ``progress(done, total, label)`` every few thousand records."""

from __future__ import annotations

from bot.importer.report import Progress

EVERY = 5000


class Ticker:
    def __init__(self, progress: Progress | None, every: int = EVERY) -> None:
        self._progress = progress
        self._every = every
        self._label = ""
        self._total: int | None = None
        self._done = 0
        self._next = every

    def phase(self, label: str, total: int | None) -> None:
        """Start counting ``total`` records of a new phase called ``label``."""
        self._label, self._total, self._done, self._next = label, total, 0, self._every
        if self._progress is not None:
            self._progress(0, total, label)

    def add(self, count: int) -> None:
        self._done += count
        if self._progress is not None and self._done >= self._next:
            self._next = self._done + self._every
            self._progress(self._done, self._total, self._label)

    def finish(self) -> None:
        """Report the phase as complete."""
        if self._progress is not None:
            done = self._total if self._total is not None else self._done
            self._progress(done, self._total, self._label)
