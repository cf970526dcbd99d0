"""The command line end to end: the installed console script in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.cli import SAMPLE, run_cli
from tests.portfolio import NOW, Portfolio, iso

REFERENCE = "2026-11-16T13:30:00Z"
run = run_cli


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> str:
    """A database with the sample portfolio (imported once for the module)."""
    path = tmp_path_factory.mktemp("cli") / "cli.db"
    url = f"sqlite:///{path}"
    done = run("--database-url", url, "import", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    return url


def test_help_lists_the_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    for command in ("import", "sweep", "digest", "exclude", "demo", "db"):
        assert command in done.stdout


def test_import_reports_counts_and_is_idempotent(loaded) -> None:
    again = run("--database-url", loaded, "import", str(SAMPLE))
    assert again.returncode == 0, again.stderr
    assert "0 created and 0 updated" in again.stdout


def test_sweep_json_matches_the_contract(loaded) -> None:
    done = run(
        "--database-url", loaded, "sweep", "--as-of", REFERENCE, "--format", "json", "--dry-run"
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["as_of"] == REFERENCE
    lanes = [c["lane"] for c in data["cards"]]
    assert lanes == sorted(lanes, key=["owe_them_something", "bring_them_news", "stay_close"].index)
    assert {"owe_them_something", "bring_them_news", "stay_close"} == set(lanes)
    assert data["suppressed"]


def test_sweep_text_is_readable(loaded) -> None:
    done = run("--database-url", loaded, "sweep", "--as-of", REFERENCE, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "Owe Them Something" in done.stdout and "Next step" in done.stdout


def test_digest_json_and_unknown_user(loaded) -> None:
    done = run(
        "--database-url",
        loaded,
        "digest",
        "--user",
        "u-ana",
        "--as-of",
        REFERENCE,
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["user"] == "u-ana" and set(data["lanes"]) == {
        "owe_them_something",
        "bring_them_news",
        "stay_close",
    }
    bad = run("--database-url", loaded, "digest", "--user", "u-nobody")
    assert bad.returncode == 1 and "unknown user 'u-nobody'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_exclude_unknown_and_known_account(loaded) -> None:
    bad = run("--database-url", loaded, "exclude", "Zzyzx Holdings")
    assert bad.returncode == 1 and "unknown account 'Zzyzx Holdings'" in bad.stderr
    assert "did you mean" not in bad.stderr  # nothing alike: no names thrown in
    ok = run("--database-url", loaded, "exclude", "acc-quarry", "--reason", "paused")
    assert ok.returncode == 0, ok.stderr
    sweep = run(
        "--database-url", loaded, "sweep", "--as-of", REFERENCE, "--format", "json", "--dry-run"
    )
    assert "acc-quarry" not in {c["account"] for c in json.loads(sweep.stdout)["cards"]}
    back = run("--database-url", loaded, "exclude", "acc-quarry", "--remove")
    assert back.returncode == 0, back.stderr


def test_exclude_takes_an_id_or_a_whole_name_and_never_guesses(loaded) -> None:
    def excluded(account_id: str) -> bool:
        """``--remove`` answers whether the account was excluded (and lets it back in)."""
        return run("--database-url", loaded, "exclude", account_id, "--remove").returncode == 0

    part = run("--database-url", loaded, "exclude", "Co")  # in many names: no guess
    assert part.returncode == 1 and "unknown account 'Co'" in part.stderr
    assert "did you mean" in part.stderr and "Copperleaf Foods (acc-copperleaf)" in part.stderr
    assert "Cobaltline Systems (acc-cobaltline)" in part.stderr
    assert not excluded("acc-copperleaf")

    longer = run("--database-url", loaded, "exclude", "Redwood Biotech Inc")  # no such account
    assert longer.returncode == 1 and "unknown account 'Redwood Biotech Inc'" in longer.stderr
    assert "did you mean: Redwood Biotech (acc-redwood)" in longer.stderr
    assert not excluded("acc-redwood")

    whole = run("--database-url", loaded, "exclude", "redwood BIOTECH")  # the name, any case
    assert whole.returncode == 0, whole.stderr
    assert "Redwood Biotech (acc-redwood) is excluded" in whole.stdout
    assert excluded("acc-redwood")


def test_a_name_several_accounts_share_is_an_error_that_lists_them(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'twins.db'}"
    p = Portfolio()
    p.account("acc-east", name="Acme Corp")
    p.account("acc-west", name="ACME Corp")
    assert run("--database-url", url, "import", str(p.write(tmp_path / "p.json"))).returncode == 0
    both = run("--database-url", url, "exclude", "acme corp")
    assert both.returncode == 1 and "'acme corp' matches several accounts" in both.stderr
    assert "Acme Corp (acc-east)" in both.stderr and "ACME Corp (acc-west)" in both.stderr
    one = run("--database-url", url, "exclude", "acc-west")
    assert one.returncode == 0 and "ACME Corp (acc-west) is excluded" in one.stdout


def test_bad_input_is_named_and_writes_nothing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    p = Portfolio()
    p.account("acc-1", mrr=-5)
    p.add("activities", id="a-1", account="acc-x", at=iso(NOW), kind="email", direction="inbound")
    done = run("--database-url", url, "import", str(p.write(tmp_path / "bad.json")))
    assert done.returncode == 1
    assert "accounts[0].mrr" in done.stderr and "activities[0].account" in done.stderr
    sweep = run("--database-url", url, "sweep", "--format", "json", "--as-of", iso(NOW))
    assert json.loads(sweep.stdout)["cards"] == []


def test_bad_settings_and_unreachable_database(tmp_path) -> None:
    bad = run("sweep", env={"DATABASE_URL": "mysql://x"}, cwd=tmp_path)
    assert bad.returncode == 1 and "DATABASE_URL" in bad.stderr
    assert "Traceback" not in bad.stderr
    down = run("--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/x", "sweep")
    assert down.returncode == 1 and "cannot use the database" in down.stderr
    assert "Traceback" not in down.stderr
    as_of = run("--database-url", f"sqlite:///{tmp_path / 'y.db'}", "sweep", "--as-of", "soon")
    assert as_of.returncode == 1 and "--as-of" in as_of.stderr
    (tmp_path / "taken").write_text("a file, not a folder")
    nowhere = run("--database-url", f"sqlite:///{tmp_path / 'taken' / 'z.db'}", "sweep")
    assert nowhere.returncode == 1 and "cannot make the folder" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr


def test_database_url_option_wins_over_the_environment(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'given.db'}"
    good = run("--database-url", url, "sweep", "--dry-run", env={"DATABASE_URL": "bogus"})
    assert good.returncode == 0, good.stderr
    assert (tmp_path / "given.db").exists()  # the command line's database was used

    bad = run("--database-url", "bogus", "sweep", env={"DATABASE_URL": url})
    assert bad.returncode == 1 and "invalid setting --database-url: expected" in bad.stderr
    assert "DATABASE_URL" not in bad.stderr and "Traceback" not in bad.stderr

    env_only = run("sweep", env={"DATABASE_URL": "bogus"}, cwd=tmp_path)
    assert env_only.returncode == 1 and "invalid setting DATABASE_URL: expected" in env_only.stderr

    demo = run("--database-url", "bogus", "demo", cwd=tmp_path)  # (the demo's own engine)
    assert demo.returncode == 1 and "invalid setting --database-url: not a database URL" in (
        demo.stderr
    )


def test_demo_runs_from_an_empty_folder(tmp_path) -> None:
    done = run("demo", "--out", "payloads", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Owe Them Something" in done.stdout
    assert (tmp_path / "payloads").is_dir()
    assert not (tmp_path / "followup.db").exists()  # the demo keeps its own database


@pytest.mark.skipif(shutil.which("runuser") is None, reason="needs root tools")
def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "sweep" in done.stdout
