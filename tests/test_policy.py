"""The action policy (followup-rules.md, "Action policy"): every matrix cell at every automation
level, with and without a blocker, through the engine and through `followup-bot policy`."""

from __future__ import annotations

import itertools
import json

import pytest

from bot.engine.policy import ACTIONS, AutomationLevel, action_status
from tests.cli import run_cli
from tests.policy_spec import BLOCKERS, KINDS, LEVELS, SEGMENTS, SPEC_MATRIX, expected
from tests.portfolio import Portfolio


def test_the_catalogue_is_the_spec_table() -> None:
    assert list(ACTIONS) == list(SPEC_MATRIX)
    for action_id, spec in ACTIONS.items():
        assert spec.sensitivity.value == SPEC_MATRIX[action_id][0]
        assert spec.kind in KINDS


@pytest.mark.parametrize(
    ("action", "segment", "level", "blocker"),
    list(itertools.product(SPEC_MATRIX, SEGMENTS, LEVELS, BLOCKERS)),
)
def test_every_cell_at_every_level_and_blocker(
    action: str, segment: str, level: str, blocker: str
) -> None:
    status = action_status(ACTIONS[action], segment, AutomationLevel(level), blocker)
    assert status.value == expected(action, segment, level, blocker)


@pytest.mark.parametrize(
    ("action", "segment", "level", "status"),
    [
        # spelled out, not derived: the cells a reader checks first
        ("escalate_to_specialist", "enterprise", "assisted", "needs_approval"),  # medium
        ("escalate_to_specialist", "enterprise", "autonomous", "auto"),
        ("add_to_onboarding_recovery", "smb", "autonomous", "auto"),
        ("add_to_onboarding_recovery", "mid_market", "autonomous", "needs_approval"),
        ("notify_owner_slack", "smb", "assisted", "auto"),  # low: the matrix value
        ("notify_owner_slack", "enterprise", "assisted", "needs_approval"),
        ("create_discount_request", "smb", "autonomous", "needs_approval"),
        ("create_discount_request", "smb", "recommend", "recommended"),
    ],
)
def test_cells_spelled_out(action: str, segment: str, level: str, status: str) -> None:
    for blocker in ("none", "minor"):  # a minor blocker changes nothing
        got = action_status(ACTIONS[action], segment, AutomationLevel(level), blocker)
        assert got.value == status
    major = action_status(ACTIONS[action], segment, AutomationLevel(level), "major")
    assert major.value == ("needs_approval" if status == "auto" else status)


def test_an_account_without_a_segment_takes_the_strictest_column() -> None:
    for spec in ACTIONS.values():
        for level in AutomationLevel:
            assert action_status(spec, None, level, None) == action_status(
                spec, "enterprise", level, None
            )


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('policy') / 'empty.db'}"


@pytest.mark.parametrize(("level", "blocker"), list(itertools.product(LEVELS, BLOCKERS)))
def test_policy_json_gives_every_cell(empty_db: str, level: str, blocker: str) -> None:
    done = run_cli(
        "--database-url",
        empty_db,
        "policy",
        "--automation-level",
        level,
        "--blocker",
        blocker,
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["automation_level"] == level and data["blocker"] == blocker
    assert [a["action"] for a in data["actions"]] == list(SPEC_MATRIX)
    for row in data["actions"]:
        assert set(row) == {"action", "sensitivity", "statuses"}
        assert row["sensitivity"] == SPEC_MATRIX[row["action"]][0]
        assert row["statuses"] == {
            seg: expected(row["action"], seg, level, blocker) for seg in SEGMENTS
        }


def test_policy_defaults_to_the_orgs_level(tmp_path, empty_db: str) -> None:
    fresh = run_cli("--database-url", empty_db, "policy", "--format", "json")
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout)["automation_level"] == "assisted"
    assert json.loads(fresh.stdout)["blocker"] == "none"

    url = f"sqlite:///{tmp_path / 'org.db'}"
    p = Portfolio()
    p.data["org"]["automation_level"] = "autonomous"
    assert (
        run_cli("--database-url", url, "import", str(p.write(tmp_path / "p.json"))).returncode == 0
    )
    org = run_cli("--database-url", url, "policy", "--format", "json")
    assert json.loads(org.stdout)["automation_level"] == "autonomous"
    given = run_cli("--database-url", url, "policy", "--automation-level", "recommend")
    assert given.returncode == 0, given.stderr
    assert "automation level recommend" in given.stdout


def test_policy_text_is_a_table_of_statuses(empty_db: str) -> None:
    done = run_cli(
        "--database-url",
        empty_db,
        "policy",
        "--automation-level",
        "autonomous",
        "--blocker",
        "major",
    )
    assert done.returncode == 0, done.stderr
    assert "automation level autonomous · blocker major" in done.stdout
    assert "SMB" in done.stdout and "Mid-market" in done.stdout and "Enterprise" in done.stdout
    line = next(x for x in done.stdout.splitlines() if "escalate_to_specialist" in x)
    assert line.count("needs_approval") == 3  # auto everywhere, but a major blocker
    line = next(x for x in done.stdout.splitlines() if "notify_owner_slack" in x)
    assert "auto" not in line.replace("needs_approval", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--automation-level", "turbo"),
            "--automation-level: unknown automation level 'turbo' "
            "(choose recommend, assisted, autonomous)",
        ),
        (("--blocker", "huge"), "--blocker: unknown blocker 'huge' (choose none, minor, major)"),
    ],
)
def test_policy_refuses_bad_input_by_name(
    empty_db: str, args: tuple[str, ...], message: str
) -> None:
    done = run_cli("--database-url", empty_db, "policy", *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stdout == ""
