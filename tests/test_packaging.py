"""The installed package works outside the checkout: migrations and sample data ship in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_package_runs_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    installed = target / "bot"
    assert (installed / "migrations" / "env.py").is_file()
    assert any((installed / "migrations" / "versions").glob("*_initial_schema.py"))
    assert (installed / "data" / "sample_portfolio.json").is_file()

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import bot, sys; assert bot.__file__.startswith(sys.argv[1]), bot.__file__;"
            "from bot.cli import main; sys.argv = ['followup-bot', 'demo', '--out', 'out']; main()",
            str(target),
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Owe Them Something" in done.stdout
    assert list((empty / "out").glob("dm-*.json"))
