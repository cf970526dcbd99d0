"""What the command line prints when its output is piped or redirected (not a terminal): every
message on one line, tables at their natural width, and the accounts CSV dry run and
--skip-invalid as a user reads them. The installed console script in a subprocess."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli import SAMPLE, run_cli

SEED = {
    "format": "followup-portfolio/1",
    "org": {"name": "Acme CS", "timezone": "UTC"},
    "users": [{"id": "u-ana", "name": "Ana", "email": "ana@acme.test"}],
    "accounts": [
        {
            "id": "acc-globex",
            "name": "Globex Corp",
            "mrr": 500,
            "segment": "smb",
            "csm": "u-ana",
            "traits": {"region": "EU"},
        }
    ],
}
LONG_NAME = "Deltaworks Industrial Automation and Logistics Holdings International"
LONG_ID = "acc-deltaworks-industrial-automation-and-logistics-holdi"  # cut at 56 characters


run = run_cli  # (stdout and stderr are pipes)


@pytest.fixture
def db(tmp_path: Path) -> str:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(SEED))
    url = f"sqlite:///{tmp_path / 'piped.db'}"
    done = run("--database-url", url, "import", str(seed))
    assert done.returncode == 0, done.stderr
    return url


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def stored(url: str, account_id: str) -> tuple[object, ...] | None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        row: tuple[object, ...] | None = conn.execute(
            "SELECT name, mrr, segment, csm_id FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return row


def test_a_piped_message_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sample.db'}"
    assert run("--database-url", url, "import", str(SAMPLE)).returncode == 0
    done = run("--database-url", url, "exclude", "acc-quarry", "--until", "2026-11-10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Quarry Ridge Logistics (acc-quarry) is excluded from every queue until 2026-11-10."
    ]


def test_every_import_error_is_listed_each_on_one_line(tmp_path: Path) -> None:
    portfolio = tmp_path / "bad.json"
    accounts = [{"id": f"acc-{i}", "name": f"A {i}", "segment": "Mid-market"} for i in range(250)]
    portfolio.write_text(json.dumps({"format": "followup-portfolio/1", "accounts": accounts}))
    done = run("--database-url", f"sqlite:///{tmp_path / 'x.db'}", "import", str(portfolio))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f"error: {portfolio}: 250 problem(s); nothing was imported"
    assert lines[1:] == [
        f"  accounts[{i}].segment: expected one of smb, mid_market, enterprise; got 'Mid-market'"
        for i in range(250)
    ]


def test_the_dry_run_preview_shows_what_the_import_writes_uncut(db: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        [
            ["Company", "MRR", "Segment", "Owner", "Region"],
            ["GLOBEX CORP", "", "Mid-market", "", ""],
            [LONG_NAME, "1200", "Enterprise", "ana@acme.test", "EMEA"],
        ],
    )
    done = run("--database-url", db, "import", str(path), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout  # nothing squeezed and cut
    globex = next(line for line in done.stdout.splitlines() if "acc-globex" in line)
    cells = [cell.strip() for cell in globex.strip("│ ").split("│")]
    # the stored name is kept (the name was the key); empty cells keep the stored values
    assert cells == [
        "2",
        "update",
        "acc-globex",
        "Globex Corp",
        "500.0",
        "mid_market",
        "u-ana",
        "{'region': 'EU'}",
    ]
    assert "None" not in done.stdout
    assert LONG_ID in done.stdout and LONG_NAME in done.stdout

    # ... which is what the import then writes
    assert run("--database-url", db, "import", str(path)).returncode == 0
    assert stored(db, "acc-globex") == ("Globex Corp", 500.0, "mid_market", "u-ana")
    assert stored(db, LONG_ID) == (LONG_NAME, 1200.0, "enterprise", "u-ana")


def test_a_dry_run_with_bad_rows_previews_the_valid_ones_then_lists_the_errors(
    db: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        [
            ["Name", "MRR", "Segment"],
            ["Good Co", "100", "smb"],
            ["Bad Money", "-5", "smb"],
            ["Bad Segment", "10", "giant"],
        ],
    )
    done = run("--database-url", db, "import", str(path), "--dry-run")
    assert done.returncode == 1
    assert "Column mapping" in done.stdout
    assert "First 1 valid rows as they would be imported" in done.stdout
    assert "acc-good-co" in done.stdout and "Bad Money" not in done.stdout
    assert done.stderr.splitlines() == [
        f"error: {path}: 2 problem(s); nothing would be imported "
        "(--skip-invalid imports the valid rows)",
        "  line 3, column 'MRR': must be ≥ 0, got -5",
        "  line 4, column 'Segment': expected one of smb, mid_market, enterprise; got 'giant'",
    ]
    assert stored(db, "acc-good-co") is None


def test_skip_invalid_names_the_lines_and_a_clean_run_removes_old_rejects(
    db: str, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "accounts.csv",
        [["Name", "MRR"], ["Good Co", "100"], ["Also Good", "5"], ["Bad Money", "-5"]],
    )
    rejects = tmp_path / "accounts.rejected.csv"
    done = run("--database-url", db, "import", str(path), "--skip-invalid")
    assert done.returncode == 0, done.stderr
    assert f"1 row(s) rejected; see {rejects}" in done.stdout.splitlines()
    with rejects.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["Name", "MRR", "reason"],
            ["Bad Money", "-5", "line 4, column 'MRR': must be ≥ 0, got -5"],
        ]

    write_csv(path, [["Name", "MRR"], ["Bad Money", "5"]])  # fixed
    done = run("--database-url", db, "import", str(path), "--skip-invalid")
    assert done.returncode == 0, done.stderr
    assert not rejects.exists()
    assert (
        f"warning: no row was rejected: removed {rejects}, left by an earlier run"
        in done.stdout.splitlines()
    )
