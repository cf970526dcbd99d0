"""Digest selection: sensitivity, user overrides, opt-out, digest off, max_per_lane."""

from __future__ import annotations

from datetime import timedelta

from bot.db.session import make_engine
from bot.engine.digest import select_digest
from bot.engine.facts import load_org, load_users
from tests.portfolio import NOW, Portfolio, iso, load, sweep

D = timedelta(days=1)


def digest_for(url: str, user: str = "u-ana") -> dict:
    engine = make_engine(url)
    with engine.connect() as conn:
        org = load_org(conn)
        reader = load_users(conn, org.timezone)[user]
    engine.dispose()
    return select_digest(sweep(url, user=user), reader, org).to_json()


def portfolio_with_severities(p: Portfolio) -> None:
    """acc-low: only a low reason; acc-med: medium; acc-high: high; acc-crit: critical."""
    for acc, priority in (
        ("acc-low", "low"),
        ("acc-med", "normal"),
        ("acc-high", "high"),
        ("acc-crit", "urgent"),
    ):
        p.quiet_account(acc, name=acc)
        p.add(
            "tasks",
            id=f"t-{acc}",
            account=acc,
            title="Do it",
            priority=priority,
            due_at=iso(NOW - 1 * D),
        )


def owe(d: dict) -> list[str]:
    return [c["account"] for c in d["lanes"]["owe_them_something"]]


def test_sensitivity_levels_and_user_override(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    portfolio_with_severities(p)
    p.data["users"].append(
        {"id": "u-imp", "name": "Imp", "team": "t-1", "digest": {"sensitivity": "important"}}
    )
    p.data["users"].append(
        {"id": "u-all", "name": "All", "team": "t-1", "digest": {"sensitivity": "comprehensive"}}
    )
    for acc in ("acc-low", "acc-med", "acc-high", "acc-crit"):
        p.quiet_account(f"{acc}-imp", csm="u-imp")
        p.add(
            "tasks",
            id=f"t2-{acc}",
            account=f"{acc}-imp",
            title="Do it",
            priority={
                "acc-low": "low",
                "acc-med": "normal",
                "acc-high": "high",
                "acc-crit": "urgent",
            }[acc],
            due_at=iso(NOW - 1 * D),
        )
    load(sqlite_url, p, tmp_path)
    standard = digest_for(sqlite_url)  # the org default
    assert standard["sensitivity"] == "standard"
    assert set(owe(standard)) == {"acc-med", "acc-high", "acc-crit"}
    important = digest_for(sqlite_url, "u-imp")
    assert important["sensitivity"] == "important"
    assert set(owe(important)) == {"acc-high-imp", "acc-crit-imp"}
    assert "skipped" not in standard


def test_org_default_comprehensive_shows_everything(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    p.data["org"]["digest"] = {"sensitivity": "comprehensive"}
    portfolio_with_severities(p)
    load(sqlite_url, p, tmp_path)
    assert owe(digest_for(sqlite_url)) == ["acc-crit", "acc-high", "acc-med", "acc-low"]


def test_max_per_lane_caps_and_counts_the_rest(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    p.data["org"]["digest"] = {"max_per_lane": 2}
    portfolio_with_severities(p)
    load(sqlite_url, p, tmp_path)
    d = digest_for(sqlite_url)
    assert owe(d) == ["acc-crit", "acc-high"]
    assert d["more"] == {"owe_them_something": 1, "bring_them_news": 0, "stay_close": 0}


def test_opt_out_and_digest_off(sqlite_url, tmp_path) -> None:
    p = Portfolio()
    p.data["users"][1]["digest"] = {"opt_out": True}
    portfolio_with_severities(p)
    load(sqlite_url, p, tmp_path)
    d = digest_for(sqlite_url)
    assert d["skipped"] == "opt_out"
    assert all(cards == [] for cards in d["lanes"].values())

    p2 = Portfolio()
    p2.data.pop("users"), p2.data.pop("teams")
    p2.data["org"]["digest"] = {"enabled": False}
    load(sqlite_url, p2, tmp_path)
    assert digest_for(sqlite_url)["skipped"] == "digest_off"
