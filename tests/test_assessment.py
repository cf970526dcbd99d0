"""The account assessment: risk themes with their evidence (onboarding friction told apart from
churn risk), the legacy additive score beside them, and their rules — through the real importer
and the engine's `plan_actions` (what `followup-bot actions` prints)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.db.session import make_engine
from bot.engine.actions import ActionPlan, plan_actions
from tests.cli import run_cli
from tests.portfolio import NOW, Portfolio, iso, load

HEALTHY = {"usage_trend": 0.05, "adoption": 0.8, "open_issues": 0, "csat": 4.5, "blocker": "none"}


def plan(url: str, account: str = "acc-1") -> ActionPlan:
    engine = make_engine(url)
    try:
        return plan_actions(engine, account, NOW)
    finally:
        engine.dispose()


def themes(p: ActionPlan) -> dict[str, dict[str, Any]]:
    return {t["theme"]: t for t in p.assessment.to_json()["themes"]}


def actions(p: ActionPlan) -> dict[str, dict[str, Any]]:
    return {a["action"]: a for a in p.to_json()["actions"]}


def one_account(url: str, tmp_path: Path, **fields: Any) -> ActionPlan:
    """A quiet account (no sweep signal) with ``fields`` over healthy values."""
    p = Portfolio()
    p.quiet_account("acc-1", **{**HEALTHY, **fields})
    load(url, p, tmp_path)
    return plan(url)


def test_onboarding_friction_is_told_apart_from_churn_risk(engine: Engine, tmp_path: Path) -> None:
    same = {"usage_trend": -0.35, "adoption": 0.35, "open_issues": 1, "csat": 3.2}
    p = Portfolio()
    p.quiet_account("acc-new", status="onboarding", blocker="none", **same)
    p.quiet_account("acc-old", status="active", blocker="none", **same)
    url = engine.url.render_as_string(hide_password=False)
    load(url, p, tmp_path)
    new, old = plan(url, "acc-new"), plan(url, "acc-old")

    assert set(themes(new)) == {"onboarding_friction"}
    friction = themes(new)["onboarding_friction"]
    assert friction["severity"] == "high"
    assert friction["evidence"] == [
        "usage −35% over 30 days (steep)",
        "adoption 35% (very low)",
        "CSAT 3.2",
    ]
    assert set(themes(old)) == {"churn_risk", "low_adoption"}
    assert themes(old)["churn_risk"]["evidence"] == ["usage −35% over 30 days (steep)", "CSAT 3.2"]

    # The additive score cannot tell them apart.
    assert new.assessment.legacy.to_json() == old.assessment.legacy.to_json()
    assert new.assessment.legacy.total == 60 and new.assessment.legacy.tier == "critical"

    # Recovery for the new customer, a save for the old one.
    assert set(actions(new)) == {
        "add_to_onboarding_recovery",
        "schedule_checkpoint_7d",
        "update_csm_health_score",  # no health score at all: it misses the friction
    }
    assert actions(new)["update_csm_health_score"]["rationale"] == (
        "health_gap: no health score misses onboarding_friction"
    )
    assert "onboarding_friction" in actions(new)["add_to_onboarding_recovery"]["rationale"]
    old_actions = actions(old)
    assert "add_to_onboarding_recovery" not in old_actions
    assert "churn_risk: usage −35%" in old_actions["send_checkin_email"]["rationale"]
    assert old_actions["add_to_low_adoption_nurture"]["rationale"] == (
        "low_adoption: adoption 35% (very low)"
    )


@pytest.mark.parametrize(
    ("fields", "severity"),
    [
        ({"usage_trend": -0.15}, None),  # one indicator is not a churn risk
        ({"csat": 3.2}, None),
        ({"blocker": "major"}, None),
        ({"usage_trend": -0.15, "csat": 3.2}, "high"),
        ({"usage_trend": -0.35}, "high"),  # a steep decline alone is
        ({"usage_trend": -0.15, "csat": 3.2, "blocker": "major"}, "critical"),
        ({"blocker": "major", "health": 50}, "high"),  # health 50 is at risk
        ({"health": 75}, None),  # needs attention is not low health
        ({"blocker": "major", "health": (92, 75)}, "high"),  # a drop of 17 points
        ({"blocker": "major", "health": (85, 78)}, "high"),  # a tier drop, 7 points
        ({"blocker": "major", "health": (95, 82)}, None),  # 13 points, same tier: no drop
    ],
)
def test_churn_risk_needs_two_indicators_or_a_steep_decline(
    sqlite_url: str, tmp_path: Path, fields: dict[str, Any], severity: str | None
) -> None:
    account = dict(fields)
    health = account.pop("health", None)
    p = Portfolio()
    p.quiet_account("acc-1", **{**HEALTHY, **account})
    if health is not None:  # (before, now); a steady score when one number is given
        before, latest = health if isinstance(health, tuple) else (health, health)
        p.add("health_scores", account="acc-1", at=iso(NOW - timedelta(days=3)), score=before)
        p.add("health_scores", account="acc-1", at=iso(NOW - timedelta(days=1)), score=latest)
    load(sqlite_url, p, tmp_path)
    churn = themes(plan(sqlite_url)).get("churn_risk")
    assert (churn["severity"] if churn else None) == severity


def test_a_health_score_that_misses_a_risk_is_to_be_updated(
    sqlite_url: str, tmp_path: Path
) -> None:
    p = Portfolio()
    p.quiet_account("acc-1", **{**HEALTHY, "usage_trend": -0.12, "csat": 3.3})
    p.add("health_scores", account="acc-1", at=iso(NOW - timedelta(days=9)), score=90)
    p.add("health_scores", account="acc-1", at=iso(NOW - timedelta(days=2)), score=84)
    load(sqlite_url, p, tmp_path)
    got = plan(sqlite_url)
    assert themes(got)["churn_risk"]["evidence"] == ["usage −12% over 30 days", "CSAT 3.3"]
    update = actions(got)["update_csm_health_score"]
    assert update["rationale"] == "health_gap: health 84 (healthy) misses churn_risk"


@pytest.mark.parametrize(
    ("issues", "severity", "escalate"),
    [(2, None, False), (3, "medium", False), (5, "high", True)],
)
def test_support_burden(
    sqlite_url: str, tmp_path: Path, issues: int, severity: str | None, escalate: bool
) -> None:
    got = one_account(sqlite_url, tmp_path, open_issues=issues)
    burden = themes(got).get("support_burden")
    assert (burden["severity"] if burden else None) == severity
    assert ("create_support_task" in actions(got)) is (severity is not None)
    assert ("escalate_to_specialist" in actions(got)) is escalate
    if burden:
        assert actions(got)["create_support_task"]["rationale"].startswith(
            f"support_burden: {issues} open issues"
        )


def test_renewal_risk_and_the_discount_it_may_call_for(sqlite_url: str, tmp_path: Path) -> None:
    soon = (NOW + timedelta(days=20)).date().isoformat()
    later = (NOW + timedelta(days=120)).date().isoformat()
    p = Portfolio()
    p.quiet_account("acc-risky", **{**HEALTHY, "usage_trend": -0.35, "renewal_date": soon})
    p.quiet_account("acc-fine", **{**HEALTHY, "renewal_date": soon})
    p.quiet_account("acc-far", **{**HEALTHY, "usage_trend": -0.35, "renewal_date": later})
    load(sqlite_url, p, tmp_path)

    risky = plan(sqlite_url, "acc-risky")
    renewal = themes(risky)["renewal_risk"]
    assert renewal["severity"] == "critical"
    assert renewal["evidence"] == [f"renews in 20 days ({soon})", "churn risk"]
    assert risky.assessment.renewal_days == 20
    discount = actions(risky)["create_discount_request"]
    assert discount["status"] == "needs_approval" and discount["kind"] == "discount"
    assert "churn_risk" in discount["rationale"] and "renewal_risk" in discount["rationale"]

    fine = plan(sqlite_url, "acc-fine")  # a renewal is no risk by itself
    assert themes(fine) == {} and actions(fine) == {}
    far = plan(sqlite_url, "acc-far")
    assert "renewal_risk" not in themes(far) and "create_discount_request" not in actions(far)


@pytest.mark.parametrize(
    ("fields", "values", "points", "total", "tier"),
    [
        (HEALTHY, ["+5%", "80%", "0", "4.5", "none"], [0, 0, 0, 0, 0], 0, "healthy"),
        (
            {
                "usage_trend": -0.12,
                "adoption": 0.5,
                "open_issues": 3,
                "csat": 3.4,
                "blocker": "minor",
            },
            ["−12%", "50%", "3", "3.4", "minor"],
            [15, 10, 10, 10, 5],
            50,
            "at_risk",
        ),
        (
            {
                "usage_trend": -0.3,
                "adoption": 0.39,
                "open_issues": 5,
                "csat": 2.9,
                "blocker": "major",
            },
            ["−30%", "39%", "5", "2.9", "major"],
            [30, 20, 20, 20, 20],
            110,
            "critical",
        ),
        (  # on the lines: usage at −10% counts, adoption at 60% and CSAT at 3.5 do not
            {
                "usage_trend": -0.1,
                "adoption": 0.6,
                "open_issues": 3,
                "csat": 3.5,
                "blocker": "none",
            },
            ["−10%", "60%", "3", "3.5", "none"],
            [15, 0, 10, 0, 0],
            25,
            "needs_attention",
        ),
        (
            {"usage_trend": None, "adoption": None, "open_issues": None, "csat": None},
            ["—", "—", "—", "—", "—"],
            [0, 0, 0, 0, 0],
            0,
            "healthy",
        ),
    ],
)
def test_legacy_score_points_total_and_tier(
    sqlite_url: str,
    tmp_path: Path,
    fields: dict[str, Any],
    values: list[str],
    points: list[float],
    total: float,
    tier: str,
) -> None:
    p = Portfolio()
    record = p.quiet_account("acc-1", **fields)
    if "blocker" not in fields:
        record.pop("blocker", None)
    load(sqlite_url, p, tmp_path)
    legacy = plan(sqlite_url).assessment.legacy.to_json()
    assert [f["field"] for f in legacy["fields"]] == [
        "usage_trend",
        "adoption",
        "open_issues",
        "csat",
        "blocker",
    ]
    assert [f["value"] for f in legacy["fields"]] == values
    assert [f["points"] for f in legacy["fields"]] == points
    assert (legacy["total"], legacy["tier"]) == (total, tier)


def test_weights_and_lines_are_rules_the_org_and_team_override(
    sqlite_url: str, tmp_path: Path
) -> None:
    p = Portfolio()
    p.data["org"]["rules"] = {
        "legacy_points": {"blocker_major": 50},
        "legacy_tiers": {"critical": 45},
        "assessment": {"low_csat": 4.0},
    }
    p.data["teams"][0]["rules"] = {"legacy_points": {"low_csat": 7}}
    p.quiet_account("acc-1", **{**HEALTHY, "csat": 3.8, "blocker": "major"})
    load(sqlite_url, p, tmp_path)
    legacy = plan(sqlite_url).assessment.legacy
    assert [x.points for x in legacy.lines] == [0, 0, 0, 7, 50]  # CSAT 3.8 is low below 4.0
    assert (legacy.total, legacy.tier) == (57, "critical")


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ({"assessment": {"low_csatt": 3}}, "org.rules.assessment.low_csatt: unknown rule"),
        ({"legacy_pointz": {}}, "org.rules.legacy_pointz: unknown rule"),
        (
            {"legacy_tiers": {"at_risk": 10}},
            "org.rules.legacy_tiers: legacy_tiers must satisfy 0 < needs_attention < at_risk "
            "< critical",
        ),
        (
            {"assessment": {"very_low_adoption": 0.7}},
            "org.rules.assessment: very_low_adoption must not be above low_adoption",
        ),
    ],
)
def test_bad_assessment_rules_are_import_errors(
    tmp_path: Path, rules: dict[str, Any], error: str
) -> None:
    p = Portfolio()
    p.data["org"]["rules"] = rules
    done = run_cli(
        "--database-url",
        f"sqlite:///{tmp_path / 'x.db'}",
        "import",
        str(p.write(tmp_path / "p.json")),
    )
    assert done.returncode == 1
    assert error in done.stderr


@pytest.mark.parametrize("status", ["churned", "inactive"])
def test_churned_and_inactive_accounts_get_no_theme_and_no_action(
    sqlite_url: str, tmp_path: Path, status: str
) -> None:
    got = one_account(sqlite_url, tmp_path, status=status, usage_trend=-0.5, blocker="major")
    assert themes(got) == {} and actions(got) == {}
    assert got.note == f"{status} accounts are never flagged: no actions"
    assert got.assessment.legacy.total == 50  # the baseline is still shown
