"""A portfolio with the account-summary hierarchy (success plan → objectives → KPIs,
challenges, playbook → tasks, cases, opportunities, projects) for the summary tests."""

from __future__ import annotations

from datetime import timedelta

from tests.portfolio import NOW, Portfolio, iso


def summary_portfolio() -> Portfolio:
    """``acc-1`` (Northwind) with a full hierarchy and a few activities; ``acc-2`` (Other Co)
    with data of its own that must never show up in Northwind's summary."""
    p = Portfolio()
    p.account(
        "acc-1",
        name="Northwind",
        mrr=10000,
        renewal_date=(NOW + timedelta(days=60)).date().isoformat(),
        traits={"product_family": "Analytics Suite"},
        adoption=0.85,
    )
    p.add("contacts", id="c-1", account="acc-1", name="Nina Champion", role="champion")
    p.add("contacts", id="c-2", account="acc-1", name="Dora Decider", role="decision_maker")
    p.add("success_plans", id="sp-1", account="acc-1", title="2026 plan", status="active")
    p.add("objectives", id="obj-1", success_plan="sp-1", title="Faster reporting", status="open")
    kpi = {"objective": "obj-1", "baseline": 0, "target": 100, "unit": "%"}
    p.add("kpis", id="kpi-done", name="Reports automated", status="completed", current=100, **kpi)
    p.add("kpis", id="kpi-on", name="Teams onboarded", status="on_track", current=60, **kpi)
    p.add("kpis", id="kpi-slow", name="Dashboards live", status="on_track", current=10, **kpi)
    p.add("kpis", id="kpi-off", name="Seats active", status="off_track", current=90, **kpi)
    p.add("kpis", id="kpi-blk", name="SSO rollout", status="blocked", current=80, **kpi)
    p.add("kpis", id="kpi-ns", name="Exec dashboard", status="not_started", current=70, **kpi)
    p.add("business_challenges", id="bc-1", account="acc-1", title="Month-end takes a week")
    p.add("playbooks", id="pb-1", account="acc-1", name="Renewal readiness", status="active")
    p.add(
        "playbook_tasks",
        id="pt-1",
        playbook="pb-1",
        title="Send renewal proposal",
        status="open",
        due_at=iso(NOW - timedelta(days=2)),
    )
    p.add("cases", id="case-1", account="acc-1", title="Export fails", status="escalated")
    p.add("cases", id="case-2", account="acc-1", title="Slow login", status="open")
    p.add(
        "opportunities",
        id="opp-1",
        account="acc-1",
        title="Renewal 2027",
        kind="renewal",
        status="open",
        amount=120000,
        stage="Proposal",
    )
    p.add(
        "opportunities",
        id="opp-2",
        account="acc-1",
        title="More seats",
        kind="expansion",
        status="open",
        amount=20000,
    )
    p.add("projects", id="proj-1", account="acc-1", name="Data migration", status="red")
    p.add("projects", id="proj-2", account="acc-1", name="Training", status="green")
    p.activity(
        "acc-1",
        NOW - timedelta(days=3),
        id="act-exp",
        kind="email",
        direction="inbound",
        contact="c-1",
        subject="Another team",
        body="Thanks! Our finance department wants to roll it out to another team too.",
    )
    p.activity(
        "acc-1",
        NOW - timedelta(days=5),
        id="act-kpi",
        kind="note",
        direction="internal",
        user="u-ana",
        kpi="kpi-on",
        objective="obj-1",
        body="KPI check-in: 60% onboarded.",
    )
    p.activity(
        "acc-1",
        NOW - timedelta(days=200),
        id="act-old",
        kind="email",
        direction="inbound",
        contact="c-2",
        subject="Old thread",
        body="We are interested in the forecasting add-on for next year.",
    )
    # A second account whose names and records must never appear in acc-1's summary.
    p.account("acc-2", name="Other Co")
    p.add("contacts", id="c-9", account="acc-2", name="Zed Outsider", role="champion")
    p.add("success_plans", id="sp-9", account="acc-2", title="Other plan")
    p.add("objectives", id="obj-9", success_plan="sp-9", title="Other objective")
    p.add("kpis", id="kpi-9", objective="obj-9", name="Other KPI", status="completed")
    p.activity(
        "acc-2",
        NOW - timedelta(days=1),
        id="act-9",
        kind="email",
        direction="inbound",
        contact="c-9",
        body="Zed here: we want more seats.",
    )
    return p
