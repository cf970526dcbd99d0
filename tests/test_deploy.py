"""The deployment files say what the program accepts: every command the Dockerfile, the compose
file, the systemd units and the crontab run is a command of the installed console script with
options it takes; the image runs as a user without privileges."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent


def compose_commands() -> list[list[str]]:
    text = (ROOT / "compose.yaml").read_text()
    return [json.loads(found) for found in re.findall(r"command: (\[.*\])", text)]


def unit_commands() -> list[list[str]]:
    found = []
    for unit in sorted((ROOT / "deploy" / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith(("ExecStart=", "ExecStartPre=")):
                words = shlex.split(line.split("=", 1)[1])
                assert words[0].endswith("/followup-bot"), line
                found.append(words[1:])
    return found


def cron_commands() -> list[list[str]]:
    text = (ROOT / "deploy" / "crontab").read_text()
    return [m.split() for m in re.findall(r"followup-bot ([a-z ]+?)(?: >>|$)", text, re.M)]


def dockerfile_command() -> list[str]:
    text = (ROOT / "Dockerfile").read_text()
    found = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert found is not None
    return list(json.loads(found.group(1)))


COMMANDS = [*compose_commands(), *unit_commands(), *cron_commands(), dockerfile_command()]


def test_the_deployment_files_run_the_expected_commands() -> None:
    names = sorted({" ".join(c[:2]) if c[0] == "db" else c[0] for c in COMMANDS})
    assert names == ["db upgrade", "scheduler", "serve", "tick"]
    serves = [c for c in COMMANDS if c[0] == "serve"]
    assert all("--http" in c for c in serves)
    # Wherever a scheduler runs on its own, the app replicas run none.
    assert all("--no-scheduler" in c for c in compose_commands() if c[0] == "serve")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_each_command_and_its_options_exist(command: list[str]) -> None:
    done = run_cli(*command, "--help")
    assert done.returncode == 0, done.stderr


def test_the_image_runs_the_console_script_as_a_user_without_privileges() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["followup-bot"]' in text
    assert "python:3.11" in text  # pyproject: requires-python >= 3.11
    assert "/healthz" in text
