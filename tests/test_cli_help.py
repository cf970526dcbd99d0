"""``--help`` reads cleanly: no type placeholder after a flag, whole sentences in the command
list, and an example for every command."""

from __future__ import annotations

import re

import pytest

from tests.cli import run_cli

COMMANDS = (
    "import",
    "sweep",
    "digest",
    "exclude",
    "demo",
    "serve",
    "deliver",
    "db",
    "db upgrade",
    "outbox",
    "outbox retry",
)
WIDE = {"COLUMNS": "200"}  # one line per entry, so a sentence is never cut by the terminal


def test_top_level_help_lists_each_command_in_one_whole_sentence() -> None:
    done = run_cli("--help", env=WIDE)
    assert done.returncode == 0, done.stderr
    commands = {}
    for line in done.stdout.splitlines():
        found = re.match(r"│ (\w+) +(\S.*?) *│$", line)
        if found:
            commands[found[1]] = found[2]
    assert set(commands) >= {"import", "sweep", "digest", "exclude", "demo", "serve", "deliver"}
    for name, text in commands.items():
        assert text[0].isupper() and text.endswith("."), (name, text)
    assert "<bool>" not in done.stdout
    assert "docs/" in done.stdout and "Example:" in done.stdout


def test_top_level_help_lists_the_commands_in_their_order() -> None:
    # Each module of bot/cli/ registers its commands when imported: bot/cli/__init__.py
    # imports them in this order.
    done = run_cli("--help", env=WIDE)
    listed = [m[1] for m in re.finditer(r"^│ (\w+) +\S", done.stdout, re.M)]
    assert listed[listed.index("import") :] == [
        "import",
        "sweep",
        "digest",
        "exclude",
        "policy",
        "actions",
        "summary",
        "prep",
        "demo",
        "serve",
        "deliver",
        "tick",
        "scheduler",
        "db",
        "outbox",
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_no_flag_placeholder_and_an_example(command: str) -> None:
    done = run_cli(*command.split(), "--help", env=WIDE)
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    help_line = next(line for line in done.stdout.splitlines() if "--help" in line)
    assert re.search(r"--help +Show this message and exit\.", help_line), help_line
    assert re.search(r"Examples?: followup-bot ", done.stdout)


def test_flags_are_shown_bare_and_values_by_name() -> None:
    done = run_cli("sweep", "--help", env=WIDE)
    assert re.search(r"--dry-run +Compute and print", done.stdout)
    assert re.search(r"--as-of +TIME ", done.stdout)
    assert re.search(r"--user +USER_ID ", done.stdout)
