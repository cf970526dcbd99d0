"""Payload dumps end to end: ``digest --format blocks`` and ``demo --out DIR`` in a subprocess,
then slack-check's ``check-all`` over the files and the app manifests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli import SAMPLE, run_cli
from tests.test_blocks import assert_ids_unique, validate

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "2026-11-16T13:30:00Z"
SLACK_CHECK = Path("/work/shared/tools/slack-check")
CHECK_ALL = SLACK_CHECK / "check-all"
MANIFESTS = (ROOT / "app_manifest.yml", ROOT / "app_manifest.http.yml")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, timeout=300)


def needs_slack_check() -> None:
    if not CHECK_ALL.is_file():
        pytest.skip(f"slack-check is not installed at {SLACK_CHECK}")
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"check-all needs {' and '.join(missing)} (not on PATH)")


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('dumps') / 'sample.db'}"
    done = run("--database-url", url, "import", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    return url


def test_digest_format_blocks_prints_the_chat_post_message_payloads(sample_db: str) -> None:
    done = run(
        "--database-url",
        sample_db,
        "digest",
        "--user",
        "u-ana",
        "--as-of",
        REFERENCE,
        "--format",
        "blocks",
    )
    assert done.returncode == 0, done.stderr
    payloads = json.loads(done.stdout)
    assert isinstance(payloads, list) and payloads
    for payload in payloads:
        assert payload["channel"] == "U0ANA0001"  # the user's Slack id
        assert list(payload) == ["channel", "text", "blocks"]
        assert_ids_unique(validate(payload))
    cards = [b for p in payloads for b in p["blocks"] if b.get("block_id", "").startswith("card:")]
    as_json = run(
        "--database-url",
        sample_db,
        "digest",
        "--user",
        "u-ana",
        "--as-of",
        REFERENCE,
        "--format",
        "json",
    )
    lanes = json.loads(as_json.stdout)["lanes"]
    expected = [c["account"] for lane in lanes.values() for c in lane]
    assert [b["block_id"].removeprefix("card:") for b in cards] == expected


def test_digest_blocks_for_a_user_without_slack_id_and_an_opted_out_user(sample_db: str) -> None:
    erin = run(
        "--database-url",
        sample_db,
        "digest",
        "--user",
        "u-erin",
        "--as-of",
        REFERENCE,
        "--format",
        "blocks",
    )
    assert erin.returncode == 0, erin.stderr
    assert all(p["channel"] == "u-erin" for p in json.loads(erin.stdout))
    omar = run(
        "--database-url",
        sample_db,
        "digest",
        "--user",
        "u-omar",
        "--as-of",
        REFERENCE,
        "--format",
        "blocks",
    )
    assert omar.returncode == 0, omar.stderr
    assert json.loads(omar.stdout) == []  # opted out: nothing is sent


def _kinds(out: Path) -> dict[str, str]:
    kinds = {}
    for path in sorted(out.iterdir()):
        data: Any = json.loads(path.read_text())
        kinds[path.name] = data.get("type", "message") if isinstance(data, dict) else "blocks"
    return kinds


def test_demo_writes_every_payload_kind_and_check_all_passes(tmp_path: Path) -> None:
    needs_slack_check()
    work = tmp_path / "empty"
    work.mkdir()
    done = run("demo", "--out", "payloads", cwd=work)
    assert done.returncode == 0, done.stderr
    out = work / "payloads"
    assert sorted(p.name for p in work.iterdir()) == ["payloads"]  # nothing else written
    assert all(p.suffix == ".json" and p.is_file() for p in out.iterdir())
    kinds = _kinds(out)
    names = set(kinds)
    for user in ("u-ana", "u-ben", "u-chloe", "u-dev", "u-erin"):
        assert f"dm-{user}.json" in names
    assert "dm-u-omar.json" not in names  # a manager who opted out gets no DM
    # Ana's DM after she marked its first card done: that card is one line with Undo.
    before, after = (
        json.loads((out / n).read_text()) for n in ("dm-u-ana.json", "dm-u-ana-after-done.json")
    )
    first = next(
        str(b["block_id"]).split(":", 1)[1]
        for b in before["blocks"]
        if str(b.get("block_id", "")).startswith("card:")
    )
    assert f"card_handled:{first}" in [b.get("block_id") for b in after["blocks"]]
    assert after["blocks"][0] == before["blocks"][0]  # the same day
    assert {"modal-snooze.json", "modal-dismiss.json", "modal-settings.json"} <= names
    assert "home-u-priya.json" in names  # the admin's App Home
    assert sum(1 for n in names if n.startswith("home-")) == 2
    assert any(n.startswith("summary-acc-") for n in names)
    assert any(n.startswith("escalation-") for n in names)
    # The meeting-prep brief (on demand, and as the DM an hour before a meeting).
    assert {n.split("-acc-")[0] for n in names if n.startswith("prep-")} == {
        "prep",
        "prep-reminder",
    }
    assert {kinds[n] for n in names if n.startswith("prep-")} == {"message"}
    # A stored escalation: its buttons, acknowledged, its reminder, the reassign picker, the
    # nudge and the reassignment DMs; the snooze wake-up DM.
    assert {
        "escalation-with-buttons.json",
        "escalation-acknowledged.json",
        "escalation-reminder.json",
        "escalation-nudge-dm.json",
        "escalation-moved-dm.json",
        "modal-escalation-reassign.json",
        "wakeup-dm.json",
    } <= names
    buttons = json.dumps(json.loads((out / "escalation-with-buttons.json").read_text()))
    for action_id in ("escalation_ack", "escalation_reassign", "escalation_nudge"):
        assert action_id in buttons
    acked = json.dumps(json.loads((out / "escalation-acknowledged.json").read_text()))
    assert "escalation_ack" not in acked and "Acknowledged by" in acked
    assert "snoozed follow-up" in (out / "wakeup-dm.json").read_text()
    assert {kinds[n] for n in names if n.startswith("modal-")} == {"modal"}
    assert {kinds[n] for n in names if n.startswith("home-")} == {"home"}
    assert {kinds[n] for n in names if n.startswith(("dm-", "summary-", "escalation-"))} == {
        "message"
    }
    # An executed action's messages: the heads-up, the check-in draft (and marked sent), the
    # specialists channel's post, a reassignment.
    actions = {n.split("-acc-")[0] for n in names if n.startswith("action-")}
    assert actions == {
        "action-notify",
        "action-checkin",
        "action-checkin-sent",
        "action-specialist",
        "action-reassigned",
    }
    assert {kinds[n] for n in names if n.startswith("action-")} == {"message"}
    [specialist] = [n for n in names if n.startswith("action-specialist-")]
    assert json.loads((out / specialist).read_text())["channel"] == "C0SPECIALISTS"
    [draft] = [n for n in names if n.startswith("action-checkin-acc-")]
    buttons = [
        e["action_id"]
        for b in json.loads((out / draft).read_text())["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons == ["checkin_mark_sent"]
    # An approval request: posted, reminded, approved, rejected; and the reject modal.
    approvals = {n.split("-acc-")[0] for n in names if n.startswith("approval-")}
    assert approvals == {
        "approval",
        "approval-reminder",
        "approval-approved",
        "approval-rejected",
    }
    assert {kinds[n] for n in names if n.startswith("approval-")} == {"message"}
    assert kinds["modal-reject-approval.json"] == "modal"
    for path in out.iterdir():
        payload = json.loads(path.read_text())
        assert_ids_unique(validate(payload))

    checked = subprocess.run(
        [str(CHECK_ALL), str(out), str(MANIFESTS[0])],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = checked.stdout + checked.stderr
    assert checked.returncode == 0, report
    assert f"{len(names)} checked, 0 invalid" in checked.stdout
    assert f"OK    {MANIFESTS[0]}" in checked.stdout


def test_both_manifests_are_schema_valid_and_differ_only_in_transport() -> None:
    needs_slack_check()
    cache = Path(os.environ.get("SLACK_CHECK_CACHE", "/tmp/slack-check-cache"))
    python = cache / "venv" / "bin" / "python"
    if not python.exists():  # check-all installs its Python deps on first use
        subprocess.run(
            [str(CHECK_ALL), str(SLACK_CHECK / "examples" / "valid")],
            capture_output=True,
            timeout=900,
        )
    checked = subprocess.run(
        [str(python), str(SLACK_CHECK / "check_manifest.py"), *map(str, MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    socket, http = (p.read_text() for p in MANIFESTS)
    assert "socket_mode_enabled: true" in socket and "request_url" not in socket
    assert "socket_mode_enabled: false" in http
    assert http.count("url: https://followup.example.com/slack/events") == 4
    for text in (socket, http):
        for needle in (
            "command: /account-summary",
            "command: /followup",
            "usage_hint: today | settings | help",
            "home_tab_enabled: true",
            "messages_tab_enabled: true",
            "- app_home_opened",
            "is_enabled: true",
        ):
            assert needle in text, needle
        scopes = {
            line.strip().removeprefix("- ").split("#")[0].strip()
            for line in text.split("bot:\n", 1)[1].split("settings:", 1)[0].splitlines()
            if line.strip().startswith("- ")
        }
        assert scopes == {
            "channels:history",  # an action's channel post whose answer was lost
            "groups:history",
            "chat:write",
            "commands",
            "im:history",
            "im:write",
            "users:read",
            "users:read.email",
        }
