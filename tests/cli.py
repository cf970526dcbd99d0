"""Running the installed ``followup-bot`` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "followup-bot"
SAMPLE = Path(__file__).resolve().parent.parent / "bot" / "data" / "sample_portfolio.json"


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``followup-bot ARGS`` with stdout and stderr captured (pipes, not a terminal), without
    the caller's DATABASE_URL or COLUMNS; ``env`` adds variables."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COLUMNS")}
    full_env.update(env or {})
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout
    )
