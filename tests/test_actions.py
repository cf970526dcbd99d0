"""`followup-bot actions ACCOUNT`: recommended actions with kind, owner, priority, status and
rationale — the cli.md JSON, the text, the statuses of the policy on real accounts, and that it
changes nothing."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db.models import Alert, SweepRun
from bot.db.session import make_engine
from bot.engine.actions import SIGNAL_ACTIONS, plan_actions
from bot.engine.policy import AutomationLevel
from bot.engine.rules import SIGNAL_IDS
from tests.cli import run_cli
from tests.policy_spec import BLOCKERS, KINDS, LEVELS, SEGMENTS, expected
from tests.portfolio import NOW, Portfolio, iso

AS_OF = iso(NOW)
TROUBLED = {  # every theme but onboarding friction, and no touch ever (sweep signals)
    "usage_trend": -0.35,
    "adoption": 0.3,
    "open_issues": 6,
    "csat": 2.8,
    "renewal_date": (NOW + timedelta(days=20)).date().isoformat(),
}
ACTION_KEYS = {"action", "kind", "sensitivity", "status", "owner", "priority", "rationale"}


def portfolio() -> Portfolio:
    p = Portfolio()
    p.add("users", id="u-bob", name="Bob CSM", role="csm", team="t-1")
    p.add("users", id="u-gone", name="Gone CSM", role="csm", team="t-1", active=False)
    for segment, blocker in itertools.product(SEGMENTS, BLOCKERS):
        p.account(f"acc-{segment}-{blocker}", segment=segment, blocker=blocker, **TROUBLED)
    p.account("acc-bob", name="Bob's Account", csm="u-bob", **TROUBLED)
    p.account("acc-nocsm", name="Orphan Inc", csm=None, **TROUBLED)
    p.account("acc-gone", name="Left Behind", csm="u-gone", **TROUBLED)
    p.account("acc-twin1", name="Twin Co")
    p.account("acc-twin2", name="TWIN CO")
    p.quiet_account("acc-calm", name="Calm Corp", usage_trend=0.1, adoption=0.9, csat=4.6)
    return p


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("actions")
    url = f"sqlite:///{tmp / 'actions.db'}"
    done = run_cli("--database-url", url, "import", str(portfolio().write(tmp / "p.json")))
    assert done.returncode == 0, done.stderr
    return url


def cli_json(url: str, *args: str) -> dict[str, Any]:
    done = run_cli("--database-url", url, "actions", *args, "--as-of", AS_OF, "--format", "json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def test_actions_json_is_the_cli_contract(loaded: str) -> None:
    data = cli_json(loaded, "acc-bob")
    assert data["account"] == "acc-bob"
    assert data["automation_level"] == "assisted"  # the org's default
    assert data["actions"]
    for action in data["actions"]:
        assert set(action) == ACTION_KEYS
        assert action["kind"] in KINDS
        assert action["priority"] in {"urgent", "high", "normal", "low"}
        assert action["status"] in {"auto", "needs_approval", "recommended"}
        assert action["sensitivity"] in {"low", "medium", "high"}
        assert action["owner"] == "u-bob"  # the account's CSM
        assert action["rationale"]
    by_id = {a["action"]: a for a in data["actions"]}
    assert by_id["send_checkin_email"]["priority"] == "urgent"  # churn risk at the renewal
    assert by_id["send_checkin_email"]["kind"] == "email"
    assert "churn_risk: usage −35% over 30 days (steep)" in by_id["send_checkin_email"]["rationale"]
    assert "never_touched: " in by_id["send_checkin_email"]["rationale"]  # a sweep signal
    assert "renewal_risk: renews in 20 days" in by_id["create_discount_request"]["rationale"]
    assert "no_next_action: " in by_id["schedule_checkpoint_7d"]["rationale"]
    ranks = ["urgent", "high", "normal", "low"]
    assert [ranks.index(a["priority"]) for a in data["actions"]] == sorted(
        ranks.index(a["priority"]) for a in data["actions"]
    )
    # beside the contract: the assessment and the signals behind the rationale
    assert {t["theme"] for t in data["assessment"]["themes"]} == {
        "churn_risk",
        "renewal_risk",
        "support_burden",
        "low_adoption",
    }
    assert data["assessment"]["legacy_score"]["total"] == 90
    assert {s["signal"] for s in data["signals"]} >= {"never_touched"}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(("segment", "blocker"), list(itertools.product(SEGMENTS, BLOCKERS)))
def test_each_actions_status_follows_the_policy(
    loaded: str, segment: str, blocker: str, level: str
) -> None:
    engine = make_engine(loaded)
    try:
        got = plan_actions(engine, f"acc-{segment}-{blocker}", NOW, AutomationLevel(level))
    finally:
        engine.dispose()
    recommended = got.to_json()["actions"]
    assert len(recommended) >= 8
    for action in recommended:
        assert action["status"] == expected(action["action"], segment, level, blocker), action


def test_an_account_without_a_csm_is_owned_by_the_fallback_csm(loaded: str) -> None:
    for account, why in (
        ("acc-nocsm", "no CSM assigned"),
        ("Left Behind", "CSM u-gone is inactive"),
    ):
        data = cli_json(loaded, account)
        assert {a["owner"] for a in data["actions"]} == {"u-ana"}  # the org's fallback_csm
        reassign = next(a for a in data["actions"] if a["action"] == "reassign_ownership")
        assert reassign["kind"] == "ownership" and reassign["rationale"] == f"owner: {why}"
        assert reassign["status"] == "needs_approval"
    others = cli_json(loaded, "acc-bob")["actions"]
    assert "reassign_ownership" not in {a["action"] for a in others}


def test_level_option_and_the_orgs_level(loaded: str, tmp_path: Path) -> None:
    everything = cli_json(loaded, "acc-bob", "--automation-level", "recommend")
    assert everything["automation_level"] == "recommend"
    assert {a["status"] for a in everything["actions"]} == {"recommended"}

    p = Portfolio()
    p.data["org"]["automation_level"] = "autonomous"
    p.account("acc-1", segment="smb", **TROUBLED)
    url = f"sqlite:///{tmp_path / 'auto.db'}"
    assert (
        run_cli("--database-url", url, "import", str(p.write(tmp_path / "p.json"))).returncode == 0
    )
    data = cli_json(url, "acc-1")
    assert data["automation_level"] == "autonomous"
    statuses = {a["action"]: a["status"] for a in data["actions"]}
    assert statuses["create_support_task"] == "auto"  # smb, medium, autonomous
    assert statuses["send_checkin_email"] == "needs_approval"  # high: always approved


def test_actions_text_shows_assessment_legacy_score_and_actions(loaded: str) -> None:
    done = run_cli("--database-url", loaded, "actions", "Bob's Account", "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "Bob's Account (acc-bob)" in text
    assert "Mid-market · Active · Renewal in 20d" in text
    assert "automation level assisted" in text
    assert "Churn risk (high): usage −35% over 30 days (steep), CSAT 2.8 (very low)" in text
    assert "Legacy health score (additive baseline) · Total: 90 pts · Critical" in text
    assert "Recommended actions · Bob's Account" in text
    for header in ("Kind", "Action", "Owner", "Priority", "Status", "Rationale"):
        assert header in text
    line = next(x for x in text.splitlines() if "create_discount_request" in x)
    assert "discount" in line and "u-bob" in line and "needs_approval" in line

    calm = run_cli("--database-url", loaded, "actions", "calm corp", "--as-of", AS_OF)
    assert calm.returncode == 0, calm.stderr
    assert "No risk theme." in calm.stdout
    assert "Recommended actions: none (no risk theme and no open signal)." in calm.stdout


def test_as_of_moves_the_renewal_and_the_signals(loaded: str) -> None:
    now = cli_json(loaded, "acc-bob")
    done = run_cli(
        "--database-url",
        loaded,
        "actions",
        "acc-bob",
        "--as-of",
        iso(NOW - timedelta(days=80)),
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    earlier = json.loads(done.stdout)
    assert now["assessment"]["renewal_days"] == 20
    assert earlier["assessment"]["renewal_days"] == 100  # outside the 90-day window
    assert "renewal_risk" not in {t["theme"] for t in earlier["assessment"]["themes"]}
    assert "create_discount_request" not in {a["action"] for a in earlier["actions"]}


def test_actions_changes_nothing(loaded: str) -> None:
    engine = make_engine(loaded)

    def counts() -> tuple[int, int]:
        with engine.connect() as conn:
            alerts = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
            runs = conn.execute(select(func.count()).select_from(SweepRun)).scalar_one()
        return alerts, runs

    try:
        before = counts()
        for account in ("acc-bob", "acc-nocsm", "acc-smb-major"):
            cli_json(loaded, account)
        assert counts() == before
    finally:
        engine.dispose()


def test_evidence_is_stable_and_names_what_led_to_each_action(
    sqlite_url: str, tmp_path: Path
) -> None:
    p = Portfolio()
    p.account("acc-1", **TROUBLED)
    path = p.write(tmp_path / "p.json")
    assert run_cli("--database-url", sqlite_url, "import", str(path)).returncode == 0
    engine = make_engine(sqlite_url)
    try:

        def evidence() -> dict[str, str]:
            got = plan_actions(engine, "acc-1", NOW)
            return {r.action.id: r.evidence for r in got.recommendations}

        first = evidence()
        assert evidence() == first
        assert "theme:churn_risk(usage_steep_decline,very_low_csat)" in first["send_checkin_email"]
        assert "signal:never_touched@" in first["send_checkin_email"]
        p.data["accounts"][0]["blocker"] = "major"  # a new fact: new evidence
        assert run_cli("--database-url", sqlite_url, "import", str(p.write(path))).returncode == 0
        second = evidence()
        assert second["send_checkin_email"] != first["send_checkin_email"]
        assert "blocker:major" in second["escalate_to_specialist"]
    finally:
        engine.dispose()


def test_an_excluded_account_gets_no_actions(sqlite_url: str, tmp_path: Path) -> None:
    p = Portfolio()
    p.account("acc-1", name="Winding Down", **TROUBLED)
    p.data["exclusions"] = [{"account": "acc-1", "reason": "wind-down"}]
    assert (
        run_cli(
            "--database-url", sqlite_url, "import", str(p.write(tmp_path / "p.json"))
        ).returncode
        == 0
    )
    data = cli_json(sqlite_url, "acc-1")
    assert data["actions"] == []
    assert data["note"] == "excluded from every queue (followup-bot exclude): no actions"
    assert data["assessment"]["themes"]  # still assessed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Nobody Ltd",), "unknown account 'Nobody Ltd': no account has that id or name"),
        (("twin co",), "account 'twin co' matches several accounts"),
        (
            ("acc-bob", "--automation-level", "yolo"),
            "--automation-level: unknown automation level 'yolo' "
            "(choose recommend, assisted, autonomous)",
        ),
        (("acc-bob", "--as-of", "yesterday"), "--as-of: 'yesterday' is not an ISO 8601 time"),
    ],
)
def test_bad_input_is_refused_by_name(loaded: str, args: tuple[str, ...], message: str) -> None:
    done = run_cli("--database-url", loaded, "actions", *args)
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stdout == ""


def test_every_signal_leads_to_an_action() -> None:
    assert set(SIGNAL_ACTIONS) == set(SIGNAL_IDS)
