"""Cards: lanes, ranking, the sweep JSON shape, escalation and as-of sweeps (on both backends
where the database matters)."""

from __future__ import annotations

from datetime import timedelta

from tests.portfolio import NOW, Portfolio, iso, load, ny, signals, sweep

D = timedelta(days=1)
H = timedelta(hours=1)

CARD_KEYS = {
    "account",
    "account_name",
    "csm",
    "lane",
    "action_score",
    "severity",
    "mrr",
    "segment",
    "touch_policy",
    "reasons",
    "hook",
    "summary",
    "next_step",
    "waiting_on_you",
    "pulse",
    "last_touch_days",
    "open_requests",
    "high_impact_requests",
    "upcoming_meeting",
    "escalate",
}


def test_card_json_shape_and_lane_precedence(db_url, tmp_path) -> None:
    p = Portfolio()
    p.quiet_account(
        mrr=12000,
        segment="mid_market",
        touch_policy="strategic",
        csm_pulse={"score": 8, "set_at": iso(NOW - 5 * D)},
        ai_pulse={"score": 3, "at": iso(NOW - 1 * D)},
    )
    p.add("contacts", id="c-li", account="acc-1", name="Li Wei")
    p.activity(
        "acc-1",
        NOW - 5 * D,
        kind="email",
        direction="inbound",
        thread="th",
        subject="Renewal terms",
        contact="c-li",
        id="a-881",
    )
    p.add(
        "requests",
        id="r-9",
        accounts=["acc-1"],
        title="Okta SSO",
        impact="high",
        status="shipped",
        shipped_at=iso(NOW - 4 * D),
    )
    p.add(
        "requests",
        id="r-10",
        accounts=["acc-1"],
        title="Audit log",
        impact="high",
        status="open",
        updated_at=iso(NOW - 2 * D),
    )
    p.add(
        "requests",
        id="r-11",
        accounts=["acc-1"],
        title="Dark mode",
        impact="low",
        status="planned",
        updated_at=iso(NOW - 2 * D),
    )
    p.add("health_scores", account="acc-1", at=iso(NOW - 30 * D), score=82)
    p.add("health_scores", account="acc-1", at=iso(NOW - 1 * D), score=55)
    load(db_url, p, tmp_path)
    result = sweep(db_url).to_json()

    assert result["as_of"] == "2026-11-16T20:00:00Z"
    (card,) = result["cards"]
    assert set(card) == CARD_KEYS
    assert card["lane"] == "owe_them_something"  # owe wins over news and stay
    assert card["severity"] == "critical"
    assert card["hook"] == "We shipped Okta SSO — let them know"
    assert {r["signal"] for r in card["reasons"]} >= {
        "unreplied_customer_email",
        "health_drop",
        "request_shipped",
        "pulse_divergence",
    }
    assert card["reasons"][0]["severity"] == "critical"
    assert card["pulse"] == {
        "health": 55,
        "health_tier": "at_risk",
        "health_delta": -27,
        "csm": 8,
        "ai": 3,
        "divergent": True,
    }
    assert card["escalate"] is True  # a tier drop escalates at once
    assert card["open_requests"] == 2 and card["high_impact_requests"] == 1
    assert card["last_touch_days"] == 2
    assert card["upcoming_meeting"] is False  # the next sync is 14 days out
    assert any("Renewal terms" in item for item in card["waiting_on_you"])
    assert card["mrr"] == 12000 and card["segment"] == "mid_market"
    assert 0 <= card["action_score"] <= 100
    assert result["suppressed"] == []


def test_cards_rank_by_lane_then_score(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    for acc, mrr in (("small", 500), ("big", 50_000), ("mid", 5_000)):
        p.quiet_account(acc, name=acc.title(), mrr=mrr)
        p.add(
            "tasks",
            id=f"t-{acc}",
            account=acc,
            title="Send deck",
            priority="high",
            due_at=iso(NOW - 2 * D),
        )
    p.quiet_account("news", mrr=90_000)
    p.add(
        "requests",
        id="r-1",
        accounts=["news"],
        title="SSO",
        status="shipped",
        shipped_at=iso(NOW - 1 * D),
    )
    load(sqlite_url, p, tmp_path)
    cards = sweep(sqlite_url).cards
    assert [c.account for c in cards] == ["big", "mid", "small", "news"]
    assert cards[0].action_score > cards[1].action_score > cards[2].action_score


def test_account_without_csm_has_null_csm(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    p.account("orphan", csm=None)
    load(sqlite_url, p, tmp_path)
    cards = sweep(sqlite_url).to_json()["cards"]
    assert cards[0]["csm"] is None


def test_critical_escalates_after_16_business_hours(db_url, tmp_path) -> None:
    p = Portfolio()
    p.quiet_account()
    p.add(
        "tasks",
        id="t-1",
        account="acc-1",
        title="Fix SSO",
        priority="urgent",
        due_at=iso(ny(2026, 11, 16, 9)),
    )
    load(db_url, p, tmp_path)
    first = ny(2026, 11, 16, 10)  # Monday 10:00: the task has been critical since this sweep
    assert sweep(db_url, first, dry_run=False).cards[0].escalate is False
    # Tuesday 17:00 is 7 + 8 = 15 business hours later; Wednesday 10:00 is 16.
    assert sweep(db_url, ny(2026, 11, 17, 17)).cards[0].escalate is False
    assert sweep(db_url, ny(2026, 11, 18, 10)).cards[0].escalate is True


def test_dry_run_counts_escalation_from_now(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    p.quiet_account()
    p.add(
        "tasks",
        id="t-1",
        account="acc-1",
        title="Fix SSO",
        priority="urgent",
        due_at=iso(NOW - 20 * D),
    )
    load(sqlite_url, p, tmp_path)
    assert sweep(sqlite_url, dry_run=True).cards[0].escalate is False


def test_sweep_as_of_the_past_ignores_later_data(db_url, tmp_path) -> None:
    p = Portfolio()
    p.quiet_account()
    p.activity("acc-1", NOW - 5 * D, kind="email", direction="inbound", thread="th")
    p.activity("acc-1", NOW - 1 * D, kind="email", direction="outbound", thread="th")
    load(db_url, p, tmp_path)
    assert "unreplied_customer_email" not in signals(sweep(db_url, NOW))
    earlier = sweep(db_url, NOW - 2 * D)  # before the reply was sent
    assert "unreplied_customer_email" in signals(earlier)


def test_user_scope_and_fallback_csm(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    p.data["users"].append({"id": "u-ben", "name": "Ben", "team": "t-1"})
    p.account("mine")
    p.account("bens", csm="u-ben")
    p.account("nobodys", csm=None)
    load(sqlite_url, p, tmp_path)
    assert {c.account for c in sweep(sqlite_url, user="u-ana").cards} == {"mine", "nobodys"}
    assert {c.account for c in sweep(sqlite_url, user="u-ben").cards} == {"bens"}
