"""The ``followup-bot`` command line (cli.md).

The Typer ``app`` and what its commands share are in :mod:`bot.cli.common`; each command is in
the module of its topic and registers itself on ``app`` when that module is imported.
"""

from __future__ import annotations

from bot.cli.common import app, fail, parse_instant, resolve_account
from bot.settings import SettingsError

# isort: off
# In the order `followup-bot --help` lists the commands: they are listed as registered.
from bot.cli import data, sweeping, actions, summaries, demo, running, outbox  # noqa: F401

# isort: on
from bot.cli.demo import sample_portfolio_path

__all__ = ["app", "main", "parse_instant", "resolve_account", "sample_portfolio_path"]


def main() -> None:
    try:
        app()
    except SettingsError as exc:  # raised before a command's own handler (e.g. while parsing)
        fail(str(exc))
